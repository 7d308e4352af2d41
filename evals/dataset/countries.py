"""Country names as the OFAC SDN list and the KYB truth sets spell them, with their ISO
3166-1 alpha-2 codes: reference data (not facts of a case), shared by the EDD golden
set's generator (evals/dataset/edd_demo) and the EDD rules of the blueprints."""

from __future__ import annotations

_ISO = """Afghanistan:AF|Albania:AL|Algeria:DZ|Angola:AO|Argentina:AR|Armenia:AM|Aruba:AW|
Australia:AU|Austria:AT|Azerbaijan:AZ|Bahamas, The:BS|Bahrain:BH|Bangladesh:BD|Barbados:BB|
Belarus:BY|Belgium:BE|Belize:BZ|Benin:BJ|Bolivia:BO|Bosnia and Herzegovina:BA|Brazil:BR|
Bulgaria:BG|Burkina Faso:BF|Burma:MM|Burundi:BI|Cambodia:KH|Canada:CA|Cayman Islands:KY|
Central African Republic:CF|Chile:CL|China:CN|Colombia:CO|Comoros:KM|
Congo, Democratic Republic of the:CD|Congo, Republic of the:CG|Costa Rica:CR|
Cote d Ivoire:CI|Croatia:HR|Cuba:CU|Cyprus:CY|Czech Republic:CZ|Denmark:DK|Dominica:DM|
Dominican Republic:DO|Ecuador:EC|Egypt:EG|El Salvador:SV|Equatorial Guinea:GQ|Eritrea:ER|
Ethiopia:ET|Finland:FI|France:FR|Georgia:GE|Germany:DE|Ghana:GH|Gibraltar:GI|Greece:GR|
Guatemala:GT|Guinea-Bissau:GW|Guyana:GY|Haiti:HT|Honduras:HN|Hong Kong:HK|India:IN|
Indonesia:ID|Iran:IR|Iraq:IQ|Ireland:IE|Israel:IL|Italy:IT|Jamaica:JM|Japan:JP|Jersey:JE|
Jordan:JO|Kazakhstan:KZ|Kenya:KE|Korea, North:KP|Korea, South:KR|Kosovo:XK|Kuwait:KW|
Kyrgyzstan:KG|Laos:LA|Latvia:LV|Lebanon:LB|Liberia:LR|Libya:LY|Liechtenstein:LI|
Luxembourg:LU|Malaysia:MY|Mali:ML|Malta:MT|Man, Isle of:IM|Marshall Islands:MH|
Mauritania:MR|Mexico:MX|Mongolia:MN|Montenegro:ME|Morocco:MA|Mozambique:MZ|Namibia:NA|
Netherlands:NL|Netherlands Antilles:AN|New Zealand:NZ|Nicaragua:NI|Niger:NE|Nigeria:NG|
Norway:NO|Oman:OM|Pakistan:PK|Palestinian:PS|Panama:PA|Paraguay:PY|Peru:PE|Philippines:PH|
Poland:PL|Qatar:QA|Romania:RO|Russia:RU|Rwanda:RW|Saint Kitts and Nevis:KN|
Saint Vincent and the Grenadines:VC|Samoa:WS|Saudi Arabia:SA|Senegal:SN|Serbia:RS|
Seychelles:SC|Sierra Leone:SL|Singapore:SG|Slovakia:SK|Slovenia:SI|Somalia:SO|
South Africa:ZA|South Sudan:SS|Spain:ES|Sri Lanka:LK|Sudan:SD|Sweden:SE|Switzerland:CH|
Syria:SY|Taiwan:TW|Tajikistan:TJ|Tanzania:TZ|Thailand:TH|The Gambia:GM|
Trinidad and Tobago:TT|Tunisia:TN|Turkey:TR|Turkmenistan:TM|Uganda:UG|Ukraine:UA|
United Arab Emirates:AE|United Kingdom:GB|United States:US|Uruguay:UY|Uzbekistan:UZ|
Vanuatu:VU|Venezuela:VE|Vietnam:VN|Virgin Islands, British:VG|West Bank:PS|Yemen:YE|
Zambia:ZM|Zimbabwe:ZW"""
COUNTRY_ISO: dict[str, str] = dict(
    item.strip().rsplit(":", 1) for item in _ISO.replace("\n", "").split("|")
)
"""Country name -> ISO code."""
ISO_NAME: dict[str, str] = {}
"""ISO code -> the first name spelled for it."""
for _name, _code in COUNTRY_ISO.items():
    ISO_NAME.setdefault(_code, _name)
