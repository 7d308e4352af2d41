"""Normalised matching: the spellings an answer may use for the same fact."""

from __future__ import annotations

import pytest

from judges.normalise import contains, normalise, number_tokens


@pytest.mark.parametrize(
    ("fact", "answer"),
    [
        ("25%", "holds 25 % of the shares"),
        ("25%", "holds 25.0% of the shares"),
        ("25%", "holds 25 percent of the shares"),
        ("25%", "holds 25 per cent."),
        ("1,200,000 EUR", "capital of 1200000 eur"),
        ("Société Générale", "banked with SOCIETE GENERALE"),
        ("Nordwind Logistik GmbH", "nordwind  logistik\tgmbh."),
        ("2014-03-05", "incorporated on 5 March 2014"),
        ("2014-03-05", "incorporated on March 5th, 2014"),
        ("5 March 2014", "incorporated 2014-03-05"),
        ("HRB 123456", "registered as HRB-123456"),
        ("Anna Schmidt", "owner: ＡＮＮＡ Schmidt"),
        ("Anna Schmidt", "owner: An\u200bna Schmidt"),
        ("O'Brien Ltd", "O’Brien Ltd"),
    ],
)
def test_equivalent_spellings_match(fact: str, answer: str) -> None:
    assert contains(normalise(answer), fact), (normalise(fact), normalise(answer))


@pytest.mark.parametrize(
    ("fact", "answer"),
    [
        ("25%", "holds 125% of the shares"),
        ("25%", "holds 2.5% of the shares"),
        ("Anna Schmidt", "Hanna Schmidt"),
        ("2014-03-05", "incorporated on 5 April 2014"),
        ("75%", "holds 75 shares"),
        ("05/03/2014", "2014-03-05"),  # ambiguous day/month is never guessed
    ],
)
def test_different_facts_do_not_match(fact: str, answer: str) -> None:
    assert not contains(normalise(answer), fact)


def test_number_tokens_include_dates_and_percentages() -> None:
    tokens = number_tokens(normalise("owns 25.0% since 5 March 2014, reg 12345678, 1,500 staff."))
    assert tokens == {"25%", "2014-03-05", "12345678", "1500"}
