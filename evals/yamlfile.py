"""Reading the YAML files the harness is given, safely, with every problem located.

One reader and one line locator for every YAML input (suites, ``dataset.yaml``,
``questions.yaml``, gate files, judges files), so that every problem is reported the
same way: ``file:line: field: message``.

Why not plain ``yaml.safe_load``: safe_load refuses code, not size. A "billion laughs"
file (an anchor aliased ten times, that list aliased ten times, ...) is a few hundred
bytes that expand to billions of nodes when the data is walked (``${VAR}`` expansion,
pydantic), which took minutes and gigabytes. Here a file is refused before it is
walked when it is larger than ``MAX_YAML_BYTES``, uses more than ``MAX_ALIASES``
aliases, or would expand to more than ``MAX_NODES`` nodes (counted on the composed
graph, each shared node once per reference, in linear time).

The locator (:meth:`YamlDoc.line`) maps a path of keys and indices (a pydantic error's
``loc``) to the 1-based line of the deepest node it reaches, so a missing field is
reported at its parent mapping, never at line 1 by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from evals.errors import InputError, Problem

__all__ = [
    "MAX_ALIASES",
    "MAX_NODES",
    "MAX_YAML_BYTES",
    "Problem",
    "YamlDoc",
    "YamlFileError",
    "clean_loc",
    "field_path",
    "parse_yaml",
    "read_yaml",
]

MAX_YAML_BYTES = 4 * 1024 * 1024
"""Largest YAML input read (a suite or a questions file is a few kB)."""
MAX_ALIASES = 200
"""Most aliases (``*name``) a YAML input may use."""
MAX_NODES = 200_000
"""Most nodes a YAML input may expand to, aliases expanded."""


class YamlFileError(InputError, ValueError):
    """A YAML input that cannot be read at all (missing, too big, bad YAML, a bomb)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problems=[problem])


class _Loader(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing (refused past the budget)."""

    aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"more than {MAX_ALIASES} aliases: refused (an alias bomb?)",
                    self.peek_event().start_mark,
                )
        return super().compose_node(parent, index)


def _expanded_size(root: yaml.Node) -> tuple[int | None, int | None]:
    """(nodes the document expands to, aliases expanded, capped at MAX_NODES + 1; the
    line of the smallest part over the cap), computed without expanding (each node's
    size once; iterative, so no recursion limit on deep files). The size is None for a
    recursive alias (``&a [*a]``: infinite), with the line where it recurs."""
    size: dict[int, int] = {}
    active: set[int] = set()  # nodes whose subtree is being sized: their ancestors' path
    over: int | None = None
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in _children(node)), MAX_NODES + 1)
            if size[key] > MAX_NODES and over is None:
                over = node.start_mark.line + 1
            continue
        if key in size:
            continue
        if key in active:  # reached again from inside its own subtree
            return None, node.start_mark.line + 1
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)
    return size[id(root)], over


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


@dataclass
class YamlDoc:
    """A parsed YAML input: the data and the node graph its lines come from."""

    file: str
    """File name as reported in problems."""
    data: Any
    """The parsed content (None for an empty file)."""
    node: yaml.Node | None
    """The composed document, for line numbers."""

    def line(self, loc: Iterable[Any]) -> int | None:
        """1-based line of the node at `loc` (keys and indices), or of the deepest node
        on the way when the rest is missing (a missing field: its parent mapping)."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                found = next(
                    ((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)),
                    None,
                )
                if found is None:
                    break
                # A scalar's key and value share a line; a block's key line is the one a
                # reader looks for (the value starts on the next line).
                line, node = found[0].start_mark.line + 1, found[1]
                if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
                    line = node.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def problem(self, loc: Sequence[Any], message: str, prefix: Sequence[Any] = ()) -> Problem:
        """A problem at `prefix + loc`, named by its dotted path."""
        full = [*prefix, *loc]
        return Problem(self.file, self.line(full), field_path(full) or None, message)

    def validation_problems(
        self, exc: ValidationError, prefix: Sequence[Any] = ()
    ) -> list[Problem]:
        """Every error of a pydantic validation, each at its own line."""
        return [self.problem(clean_loc(err["loc"]), err["msg"], prefix) for err in exc.errors()]


def clean_loc(loc: Iterable[Any]) -> list[Any]:
    """A pydantic loc without the validator names pydantic inserts (``function-...``)."""
    return [p for p in loc if not (isinstance(p, str) and p.startswith("function"))]


def field_path(loc: Iterable[Any]) -> str:
    """``a.0.b`` from a loc."""
    return ".".join(str(p) for p in loc)


def parse_yaml(text: str, file: str) -> YamlDoc:
    """Parse YAML text under the alias and expansion budgets; raises YamlFileError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        expanded, line = _expanded_size(node) if node is not None else (0, None)
        if expanded is None or expanded > MAX_NODES:
            why = (
                "holds a recursive alias (an anchor used inside itself)"
                if expanded is None
                else f"expands to more than {MAX_NODES:,} nodes (aliases expanded)"
            )
            raise YamlFileError(Problem(file, line, None, f"{why}: refused"))
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        detail = getattr(exc, "problem", None) or str(exc)
        raise YamlFileError(
            Problem(file, mark.line + 1 if mark else None, None, f"bad YAML: {detail}")
        ) from None
    except RecursionError:
        raise YamlFileError(Problem(file, None, None, "nested too deeply: refused")) from None
    finally:
        loader.dispose()
    return YamlDoc(file, data, node)


def read_yaml(path: Path, file: str | None = None, max_bytes: int = MAX_YAML_BYTES) -> YamlDoc:
    """Read and parse a YAML file (size bounded); raises YamlFileError naming the file."""
    name = str(path) if file is None else file
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise YamlFileError(Problem(name, None, None, "file is missing")) from None
    except OSError as exc:
        raise YamlFileError(Problem(name, None, None, f"cannot read ({exc.strerror})")) from None
    if len(raw) > max_bytes:
        raise YamlFileError(Problem(name, None, None, f"larger than {max_bytes:,} bytes: refused"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlFileError(Problem(name, line, None, f"not UTF-8 (byte {exc.start})")) from None
    return parse_yaml(text, name)
