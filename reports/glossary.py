"""The statistics the reports use, explained in a sentence or two each.

Each report lists only the terms it uses (:func:`glossary`), in the order given, so the
glossary under a report is short and matches what is on the page.
"""

from __future__ import annotations

from reports.model import GlossaryTerm

TERMS: dict[str, str] = {
    "Wilson interval": (
        "The range a rate (pass rate, helpful rate) probably lies in, given how many cases "
        "were seen: 95% intervals contain the true rate 95 times out of 100. Few cases give "
        "a wide interval. Gates decide on its lower bound, so a lucky small sample cannot "
        "ship."
    ),
    "Tango score interval": (
        "The range the difference between two paired pass rates (candidate minus baseline, "
        "on the same cases) probably lies in. An interval entirely below zero means the "
        "candidate is worse."
    ),
    "McNemar test": (
        "Compares two systems on the same cases using only the cases where they disagree "
        "(b10: baseline passed, candidate failed; b01: the reverse). A small p (say under "
        "0.05) means the difference is unlikely to be chance; a large p does not prove the "
        "two are equal."
    ),
    "non-inferiority margin": (
        "How much worse the candidate may be and still count as 'at least as good' (e.g. "
        "0.05 = 5 percentage points). Non-inferior when the whole interval of the "
        "difference lies above minus the margin; inferior when it lies below; undecided "
        "when it straddles it, with the number of extra cases that would decide."
    ),
    "geometric-mean ratio (clustered bootstrap)": (
        "Handling time with the agent's answer divided by handling time without it, each "
        "averaged geometrically (times are skewed: a few slow reviews would dominate a "
        "plain mean). 0.7 means 30% less time. Its interval is a bootstrap that resamples "
        "whole reviewers, because one reviewer's times are not independent of each other."
    ),
    "Cohen's kappa": (
        "Agreement between a judge and people (or two people) beyond what chance alone "
        "would give: 1 is perfect, 0 is chance level, below 0.4 is weak."
    ),
    "p50 / p95 latency": ("The time within which half (p50) or 95% (p95) of the trials finished."),
    "undecided / cases needed": (
        "A check whose point estimate meets the threshold but whose interval does not yet. "
        "'+N' or 'about N more cases' is the sample size that would decide it with 80% "
        "power if the observed rate holds."
    ),
}


def glossary(*terms: str) -> list[GlossaryTerm]:
    """The named terms with their explanations (KeyError for an unknown term)."""
    return [GlossaryTerm(term=t, meaning=TERMS[t]) for t in terms]
