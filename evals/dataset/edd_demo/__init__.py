"""The generator of the `edd_demo` golden set: an enhanced-due-diligence (EDD / KYB) review.

It writes everything in datasets/edd_demo except build.py (a thin script calling
`main`) and source/'s inputs:

    dataset.yaml            DatasetManifest with the tools the agent may call
    questions.yaml          the five questions of the review
    cases.jsonl             one Case per line (fixtures not inlined)
    fixtures/<case>.jsonl   the recorded world of a case, one ToolFixture per line
    source/                 the source rows used (a copy), the licence and NOTICE.md

Run `python -m evals.dataset.edd_demo [--out DIR] [--source DIR]` (or
`python datasets/edd_demo/build.py`). `--source` is a folder with `kyb/` (Senzing truth
sets) and `sanctions/` (OFAC SDN list); its default is `../shared/data` next to the
repository when present, otherwise the committed copy in datasets/edd_demo/source/, so the
set can be rebuilt byte for byte without the shared data. See docs/edd_demo.md for how the
world is made and how the copy stays stable.

Modules, in the order the build runs:

    sources        the source tables; the rows used are tracked for the copy
    countries      KYB spellings of countries and US states (the table: evals/dataset/countries.py)
    records        KYB dates, person names, addresses
    names          the token name matcher used for screening
    sanctions      SDN entries, their remarks (dates of birth, nationality)
    world          persons, organisations, holdings; entities from the truth key
    reference      the real subjects (reference.csv)
    screening      watchlist and SDN screening with the build's verdict on every hit
    blueprints     the shapes of the derived subjects
    derived        the derived subjects and the pools their persons come from
    country_risk   the SDN-derived country indicator and jurisdiction risk
    ownership      ownership chains, screened parties, transparency
    builder        all of the above in order; the risk tier of a subject
    questions      the tools and the five questions
    observations   the fixtures: what each tool answers
    answers        reference answers, key facts and forbidden claims
    writer         the cases and the files
    cli            the command
"""

from evals.dataset.edd_demo.builder import Builder
from evals.dataset.edd_demo.cli import default_source, main
from evals.dataset.edd_demo.sources import SourceError, Sources, load_sources
from evals.dataset.edd_demo.writer import build, build_cases

__all__ = [
    "Builder",
    "SourceError",
    "Sources",
    "build",
    "build_cases",
    "default_source",
    "load_sources",
    "main",
]
