"""The commands in the docs work: every `evals ...` line of a fenced ```bash or ```console
block in README.md and docs/*.md parses against the real CLI (its command path exists and
click accepts its options), every `make X` names a Makefile target, every
`python -m MODULE` names an importable module, and a few cheap commands run for real.

A block preceded by `<!-- not-tested -->` is skipped (keep those few). Synopsis lines may
use `[optional]` groups and `a | b` alternatives: brackets are dropped and only the first
alternative is parsed, so a synopsis is checked as the command it shows.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main

# typer vendors click (0.2x on): its commands are that click's, and raise its exceptions.
from typer._click.core import Context
from typer._click.exceptions import UsageError

from evals.cli.main import app

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SKIP_MARK = "<!-- not-tested -->"
FENCE = re.compile(r"^```(\w*)\s*$")

RUN_FOR_REAL = {
    "evals validate datasets/edd_demo": "valid.",
    "evals schema --out schemas/": "schemas",
}
"""Documented commands cheap enough to run here (in a temporary folder), with a word their
output must contain."""


@dataclass(frozen=True)
class DocCommand:
    """One command line found in a fenced block."""

    where: str
    """`page:line` of the line in the docs (the first line of a continued command)."""
    text: str
    """The command, continuation lines joined, prompt and comments removed."""


def doc_commands(pages: list[Path] = PAGES, root: Path = REPO) -> Iterator[DocCommand]:
    """Every command line of every checked fenced block of the pages."""
    for page in pages:
        lines = page.read_text().splitlines()
        i = 0
        while i < len(lines):
            fence = FENCE.match(lines[i])
            if not fence:
                i += 1
                continue
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            skipped = _previous_text(lines, i) == SKIP_MARK
            if fence.group(1) in ("bash", "console", "sh", "shell") and not skipped:
                name = str(page.relative_to(root))
                yield from _block(name, lines, i + 1, end, console=fence.group(1) == "console")
            i = end + 1


def _previous_text(lines: list[str], index: int) -> str:
    """The nearest non-blank line above `index`."""
    for line in reversed(lines[:index]):
        if line.strip():
            return line.strip()
    return ""


def _block(
    name: str, lines: list[str], start: int, end: int, console: bool
) -> Iterator[DocCommand]:
    """The commands of one block: in a console block only `$ ` lines (output is not a
    command); backslash continuations joined; `;` and `&&` split."""
    i = start
    while i < end:
        line, first = lines[i], i
        i += 1
        if console:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        while line.rstrip().endswith("\\") and i < end:
            line = line.rstrip()[:-1].rstrip() + " " + lines[i].strip()
            i += 1
        for part in re.split(r"\s(?:;|&&)\s", line):
            text = part.split(" # ")[0].strip()
            text = re.sub(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+", "", text)  # VAR=value evals ...
            if text and not text.startswith("#"):
                yield DocCommand(f"{name}:{first + 1}", text)


def synopsis_args(text: str) -> list[str]:
    """The arguments of a command line, with `[ ]` dropped and only the first of `a | b`
    alternatives (inside a group or within one word) kept."""
    tokens = shlex.split(text, comments=True)
    args: list[str] = []
    depth, skip_to = 0, -1
    for token in tokens:
        opens, closes = token.count("["), token.count("]")
        bare = token.replace("[", "").replace("]", "")
        if token == "|" and depth > 0:
            skip_to = depth - 1  # drop the other alternatives up to the group's end
        elif skip_to < 0 and bare and bare != "...":
            args.append(bare.split("|")[0])
        depth += opens - closes
        if skip_to >= 0 and depth <= skip_to:
            skip_to = -1
    return args


def resolve(args: list[str]) -> Context:
    """Parse an `evals` command line with click without running it: walk the groups to the
    command, then let the command parse its options and arguments (a group's own options
    included, e.g. `evals label -w WS`)."""
    command = typer.main.get_command(app)
    ctx = command.make_context("evals", list(args))
    while hasattr(command, "resolve_command"):  # a group
        rest = [*ctx._protected_args, *ctx.args]  # the subcommand's name, then its args
        if not rest:
            return ctx
        name, sub, remaining = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None, f"unknown command {rest[0]}"
        command = sub
        ctx = command.make_context(name, remaining, parent=ctx)
    return ctx


def makefile_targets() -> set[str]:
    """The Makefile's targets."""
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.MULTILINE))


COMMANDS = list(doc_commands())
EVALS = [c for c in COMMANDS if re.match(r"^(\S*/)?evals\s", c.text + " ")]


def test_the_docs_hold_commands() -> None:
    """The extraction finds the pages' commands (a broken extractor checks nothing)."""
    texts = {c.text for c in COMMANDS}
    assert {"make demo", "make test"} <= texts
    assert len(EVALS) > 30
    assert set(RUN_FOR_REAL) <= texts


@pytest.mark.parametrize("command", EVALS, ids=[c.where for c in EVALS])
def test_evals_command_parses(command: DocCommand) -> None:
    args = synopsis_args(command.text)[1:]
    try:
        resolve(args)
    except typer.Exit:
        pass  # a group shown without a subcommand prints its help
    except (UsageError, AssertionError) as exc:
        pytest.fail(f"{command.where}: `{command.text}`: {exc}")


@pytest.mark.parametrize(
    "command",
    [c for c in COMMANDS if c.text.startswith("make ")],
    ids=lambda c: c.where,
)
def test_make_target_exists(command: DocCommand) -> None:
    targets = makefile_targets()
    for word in shlex.split(command.text, comments=True)[1:]:
        if not word.startswith("-") and "=" not in word:
            assert word in targets, f"{command.where}: no Makefile target {word!r}"


@pytest.mark.parametrize(
    "command",
    [c for c in COMMANDS if re.search(r"python3? -m \S", c.text)],
    ids=lambda c: c.where,
)
def test_python_module_exists(command: DocCommand) -> None:
    module = re.search(r"python3? -m (\S+)", command.text)
    assert module is not None
    assert importlib.util.find_spec(module.group(1)) is not None, (
        f"{command.where}: no module {module.group(1)}"
    )


@pytest.mark.parametrize("text", sorted(RUN_FOR_REAL))
def test_cheap_commands_run(text: str, tmp_path: Path) -> None:
    """Run in a temporary folder (the repository's datasets linked in), so nothing is
    written to the checkout."""
    (tmp_path / "datasets").symlink_to(REPO / "datasets")
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("EVALS_WORKSPACE", None)
    args = shlex.split(text)[1:]
    done = subprocess.run(
        [sys.executable, "-m", "evals.cli.main", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert RUN_FOR_REAL[text] in (done.stdout + done.stderr).lower()


def test_the_extractor_on_a_sample(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "```bash\nevals run S.yaml \\\n  --full   # all\n# comment\nevals a ; make demo\n```\n"
        f"{SKIP_MARK}\n\n```bash\nevals never checked\n```\n"
        "```console\n$ EVALS_WORKSPACE=w evals status\nrun x: 3 trials\n```\n"
        "```yaml\nevals: no\n```\n"
    )
    found = [c.text for c in doc_commands([page], root=tmp_path)]
    assert found == ["evals run S.yaml --full", "evals a", "make demo", "evals status"]
    assert synopsis_args("evals judge RUN [--suite S.yaml | --judges J.yaml] [--json]") == [
        "evals", "judge", "RUN", "--suite", "S.yaml", "--json"]
    assert synopsis_args("evals gate G --baseline RUN|last-accepted") == [
        "evals", "gate", "G", "--baseline", "RUN"]


def test_a_wrong_option_is_caught() -> None:
    with pytest.raises(UsageError):
        resolve(["run", "suites/edd_demo.yaml", "--no-such-option"])
    with pytest.raises(UsageError):
        resolve(["gate", "gates/edd_demo.yaml", "--run"])  # an option without its value
    with pytest.raises((UsageError, AssertionError)):
        resolve(["no-such-command"])


PENDING_PAGES: set[str] = set()
"""Pages other branches of issue 17 write; linked before they are merged. Once they are
in docs/, this set can be emptied (the test then checks them like any other page)."""


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings (lower case, punctuation dropped,
    spaces to hyphens)."""
    slugs = set()
    for heading in re.findall(r"^#+ (.+)$", _prose(page.read_text()), flags=re.MULTILINE):
        slugs.add(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))
    return slugs


def _prose(text: str) -> str:
    """The text outside fenced blocks (a `# comment` in a block is no heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def test_relative_links_resolve() -> None:
    """Every relative link of the README and docs/ names a file that exists, and a heading
    of it when it has an anchor, so moving a page cannot leave a dangling link."""
    missing = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", _prose(page.read_text())):
            path, _, anchor = target.partition("#")
            if re.match(r"^[a-z]+:", path):
                continue  # a URL
            resolved = (page.parent / path).resolve() if path else page
            if resolved.name in PENDING_PAGES and not resolved.exists():
                continue
            if not resolved.exists() or (
                anchor and resolved.suffix == ".md" and anchor not in anchors(resolved)
            ):
                missing.append(f"{page.relative_to(REPO)}: {target}")
    assert not missing, missing


PENDING_FOLDERS: set[str] = set()
"""Folders docs/architecture.md names that other branches of issue 17 create."""


def test_architecture_names_real_folders() -> None:
    """Every folder the "where a change goes" table of docs/architecture.md names exists,
    and every package of the tree is in its package map."""
    text = (REPO / "docs" / "architecture.md").read_text()
    table = text.split("## Where a change goes", 1)[1].split("\n## ", 1)[0]
    folders = set(re.findall(r"`([\w./-]+/)`", table))
    assert {"judges/", "evals/importers/formats/", "reports/"} <= folders
    gone = [f for f in folders - PENDING_FOLDERS if not (REPO / f).is_dir()]
    assert not gone, f"docs/architecture.md names folders that do not exist: {gone}"
    packages = [
        p.parent.relative_to(REPO)
        for top in ("evals", "judges", "reports", "labeling_app")
        for p in (REPO / top).rglob("__init__.py")
    ]
    unmapped = [
        str(p) for p in packages
        if f"`{'.'.join(p.parts)}`" not in text and f"`{p.name}/`" not in text
    ]
    assert not unmapped, f"packages missing from docs/architecture.md's map: {unmapped}"
