"""`python -m evals.dataset.edd_demo` (or datasets/edd_demo/build.py): build the set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evals.dataset.edd_demo.sources import SourceError
from evals.dataset.edd_demo.writer import build

REPO = Path(__file__).resolve().parents[3]
SET_DIR = REPO / "datasets" / "edd_demo"


def default_source() -> Path:
    """../shared/data next to the repository when it holds the data, else the committed
    copy in datasets/edd_demo/source/."""
    shared = REPO.parent / "shared" / "data"
    if (shared / "kyb" / "reference.csv").exists() and (shared / "sanctions" / "sdn.csv").exists():
        return shared
    return SET_DIR / "source"


def main(argv: list[str] | None = None) -> int:
    """Build the edd_demo golden set; 0 on success, 1 when the source data is missing."""
    parser = argparse.ArgumentParser(
        prog="python -m evals.dataset.edd_demo",
        description="Build the `edd_demo` golden set: an enhanced-due-diligence (EDD / KYB) "
        "review.",
    )
    parser.add_argument(
        "--out", type=Path, default=SET_DIR, help="output folder (default: datasets/edd_demo)"
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="folder with kyb/ and sanctions/ (default: ../shared/data from "
        "the repository root, else the committed source/ copy)",
    )
    args = parser.parse_args(argv)
    source: Path = args.source or default_source()
    try:
        build(source, args.out)
    except SourceError as exc:  # a missing file: one line, nothing written
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
