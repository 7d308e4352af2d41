"""The source tables of the edd_demo set: the Senzing KYB truth sets and the OFAC SDN list,
read from the shared data or from the committed copy in datasets/edd_demo/source/.

Each table keeps its raw lines next to the parsed rows and the set of rows the build uses,
so the copy it writes back holds those rows byte for byte."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.errors import NotFoundError

KYB_TABLES = (
    "kyb/reference.csv",
    "kyb/customers.csv",
    "kyb/watchlist.csv",
    "kyb/actual_truthset_key.csv",
)
SDN_TABLES = ("sanctions/sdn.csv", "sanctions/add.csv", "sanctions/alt.csv")
LICENCE = "kyb/LICENSE-senzing-truth-sets"
EXPOSURE = "sanctions/country_exposure.csv"


class SourceError(NotFoundError):
    """The source folder lacks a file the build reads (the message names it)."""


@dataclass
class Table:
    """One source CSV: raw lines (kept verbatim for the copy) and parsed rows."""

    rel: str
    """Path of the file inside the source folder."""
    header: str | None
    """The header line as read (None for the SDN files, which have none)."""
    lines: list[str]
    """Every non-blank record line, with its line ending."""
    rows: list[Any]
    """Parsed records: a dict per line with a header, else a list of cells."""
    used: set[int] = field(default_factory=set)
    """Indexes of the rows the set uses (the ones the copy keeps)."""

    def write(self, root: Path) -> None:
        """Copy the header and the used rows, in source order, byte for byte."""
        path = root / self.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        out = [self.header] if self.header is not None else []
        out += [self.lines[i] for i in sorted(self.used)]
        body = "".join(line if line.endswith("\n") else line + "\n" for line in out)
        path.write_bytes(body.encode("utf-8"))


def read_table(root: Path, rel: str, header: bool) -> Table:
    """Read a CSV keeping each physical line; every record must be one line."""
    text = (root / rel).read_bytes().decode("utf-8")
    lines = text.splitlines(keepends=True)
    lines = [line for line in lines if line.strip()]
    parsed = [next(csv.reader([line.rstrip("\r\n")])) for line in lines]
    head = None
    if header:
        head, lines = lines[0], lines[1:]
        columns, parsed = parsed[0], parsed[1:]
        rows: list[Any] = [dict(zip(columns, row, strict=True)) for row in parsed]
    else:
        rows = parsed
    return Table(rel, head, lines, rows)


@dataclass
class Sources:
    """All source tables."""

    reference: Table
    """kyb/reference.csv: the six reference organisations, their owners and officers."""
    customers: Table
    """kyb/customers.csv: customer records (persons and organisations)."""
    watchlist: Table
    """kyb/watchlist.csv: the internal watchlist."""
    truth: Table
    """kyb/actual_truthset_key.csv: the resolved entity (cluster) of every record."""
    sdn: Table
    """sanctions/sdn.csv: OFAC SDN entries."""
    add: Table
    """sanctions/add.csv: addresses of SDN entries."""
    alt: Table
    """sanctions/alt.csv: aliases of SDN entries."""
    licence: bytes
    """The truth sets' licence, copied unchanged."""
    exposure: dict[str, dict[str, str]] | None
    """Precomputed country exposure by ISO-2 code (only in the copy; None in the full data,
    where it is computed from the whole SDN list)."""

    def tables(self) -> tuple[Table, ...]:
        """Every table, in the order the copy is written."""
        return (
            self.reference,
            self.customers,
            self.watchlist,
            self.truth,
            self.sdn,
            self.add,
            self.alt,
        )


def missing_files(root: Path) -> list[str]:
    """The files the build reads that the source folder lacks."""
    return [rel for rel in (*KYB_TABLES, *SDN_TABLES, LICENCE) if not (root / rel).is_file()]


def load_sources(root: Path) -> Sources:
    """Read the source folder (the shared data or the committed copy)."""
    missing = missing_files(root)
    if missing:
        raise SourceError(f"{root / missing[0]}: source file missing")
    exposure = None
    exposure_path = root / EXPOSURE
    if exposure_path.exists():
        with exposure_path.open(encoding="utf-8", newline="") as fh:
            exposure = {row["iso2"]: row for row in csv.DictReader(fh)}
    return Sources(
        reference=read_table(root, "kyb/reference.csv", True),
        customers=read_table(root, "kyb/customers.csv", True),
        watchlist=read_table(root, "kyb/watchlist.csv", True),
        truth=read_table(root, "kyb/actual_truthset_key.csv", True),
        sdn=read_table(root, "sanctions/sdn.csv", False),
        add=read_table(root, "sanctions/add.csv", False),
        alt=read_table(root, "sanctions/alt.csv", False),
        licence=(root / LICENCE).read_bytes(),
        exposure=exposure,
    )


def val(value: str | None) -> str | None:
    """A CSV cell or None: blanks and the SDN list's '-0-' mean 'no value'."""
    if value is None:
        return None
    v = value.strip()
    return None if v in ("", "-0-") else v
