"""The edd_demo generator (evals.dataset.edd_demo): its error on missing source data and
the rules the set's answers rest on, checked on hand-made inputs. That it rebuilds the
committed set byte for byte is tests/datasets/test_edd_demo.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from evals.dataset.edd_demo.country_risk import country_exposure
from evals.dataset.edd_demo.names import name_score, name_tokens
from evals.dataset.edd_demo.records import parse_date
from evals.dataset.edd_demo.sanctions import SdnEntry, same_birth
from evals.dataset.edd_demo.world import fmt_pct

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "datasets" / "edd_demo" / "source"


def test_a_missing_source_file_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source)
    (source / "sanctions" / "alt.csv").unlink()
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals.dataset.edd_demo",
            "--out",
            str(out),
            "--source",
            f"{source}",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 1
    assert proc.stderr == f"error: {source / 'sanctions' / 'alt.csv'}: source file missing\n"
    assert not out.exists()


def test_names_match_whatever_the_order_accents_and_suffixes() -> None:
    assert name_tokens("José Núñez Jr.") == ("jose", "nunez")
    assert name_tokens("Acme Trading Pte. Ltd.", org=True) == ("acme", "trading")
    assert name_score(name_tokens("Wang Jie"), name_tokens("JIE, Wang")) == 1.0
    # 'mariah' ~ 'maria': 2 * 5 / 11 = 0.909 (SequenceMatcher), mean with 1.0 is 0.95.
    assert name_score(name_tokens("Mariah Lopez"), name_tokens("Maria Lopez")) == 0.95
    # 'daria' ~ 'maria' is 0.8: below 0.9 with another first letter, no match at all.
    assert name_score(name_tokens("Daria Lopez"), name_tokens("Maria Lopez")) == 0.0
    # One word against two cannot match; nor two against five.
    assert name_score(("lopez",), ("maria", "lopez")) == 0.0
    assert name_score(("ab", "cd"), ("ab", "cd", "ef", "gh", "ij")) == 0.0


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("3/14/1975", "1975-03-14"),
        ("14/3/1975", "1975-03-14"),  # the first part is > 12: day first
        ("5/6/07", "2007-05-06"),
        ("5/6/48", "1948-05-06"),
        ("14-Mar-75", "1975-03-14"),
        ("Mar 14, 1975", "1975-03-14"),
        ("1975-3-4", "1975-03-04"),
        ("  ", None),
    ],
)
def test_kyb_dates_in_their_formats(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


def test_an_unknown_date_format_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"unparsed date '1975\.03\.14'"):
        parse_date("1975.03.14")


def test_sdn_births_compare_full_dates_and_years() -> None:
    assert same_birth("1975-06-14", "14 Jun 1975")
    assert not same_birth("1975-06-15", "14 Jun 1975")
    assert same_birth("1977-01-01", "1976 to 1977")
    assert not same_birth("1980-01-01", "circa 1960")
    assert same_birth("1980-01-01", "unknown")  # no year: nothing disagrees


def test_percentages_as_written_in_answers() -> None:
    assert fmt_pct(Fraction(3, 5)) == "60%"
    assert fmt_pct(Fraction(7, 40)) == "17.5%"
    assert fmt_pct(Fraction(1, 3)) == "33.3%"
    assert fmt_pct(None) == "not recorded"


def _entries(spec: list[tuple[str, str, int]]) -> dict[str, SdnEntry]:
    """(programme, country, count): that many entries of the programme addressed there."""
    out: dict[str, SdnEntry] = {}
    for program, country, count in spec:
        for _ in range(count):
            n = str(len(out) + 1)
            out[n] = SdnEntry(n, f"E{n}", "entity", [program], None, None, 0)
            out[n].addresses.append((f"somewhere, {country}", country, 0))
    return out


def test_country_exposure_follows_the_documented_thresholds() -> None:
    sdn = _entries(
        [
            # P1 (30 addressed entries): half in Iran -> high; 5 of 30 elsewhere: low.
            ("P1", "Iran", 15),
            ("P1", "France", 5),
            ("P1", "Italy", 5),
            ("P1", "Spain", 5),
            # P2 (40): a quarter in Cuba -> medium.
            ("P2", "Cuba", 10),
            ("P2", "Japan", 30),
            # Small programmes (under 30 entries) do not count for shares.
            ("P3", "Chile", 29),
            # 150 in Brazil, each of its own small programme: medium by count alone.
            *[(f"B{i}", "Brazil", 1) for i in range(150)],
        ]
    )
    risk = country_exposure(sdn)
    assert risk["IR"]["risk"] == "high"
    assert risk["IR"]["basis"] == (
        "an OFAC programme is concentrated here (P1: 15 of its 30 addressed SDN entries are here)"
    )
    assert risk["IR"]["top_programs"] == "P1:15/30"
    assert risk["CU"]["risk"] == "medium"
    assert risk["CU"]["basis"].startswith("a quarter or more of an OFAC programme's entries")
    assert risk["JP"]["risk"] == "high"
    assert risk["FR"]["risk"] == "low"
    assert risk["FR"]["basis"] == (
        "no OFAC programme has a quarter of its entries here and 5 SDN entries list an "
        "address here (fewer than 150)"
    )
    assert risk["CL"]["risk"] == "low" and risk["CL"]["top_programs"] == ""
    assert risk["BR"]["risk"] == "medium"
    assert risk["BR"]["sdn_entries_with_address"] == "150"
    assert risk["DE"]["risk"] == "low" and risk["DE"]["sdn_entries_with_address"] == "0"
