"""One registry for everything a user or another package can add: agents, blueprints,
judges, importers and report sections.

Each *kind* is a namespace of names. A name comes from one of three places, in this
order of precedence:

1. registered in-process by a decorator (``@agent("react")``, ``@judge("key_facts")``,
   ``@register_importer(...)``, ``@blueprint("edd_template")``, ``@report_section(...)``),
   including the built-in modules, imported the first time the kind is looked up;
2. an installed distribution's entry point in the group ``agent_evals.<kind>``
   (``agent_evals.judge``, ...), loaded only when its name is asked for, so a broken
   plugin breaks only the suites that use it;
3. an import path ``package.module:attr``, resolved on the spot (never cached: two
   suites may name two versions of a module on different paths).

Decorators record their arguments (the idea of Inspect AI's registry): what an object
was registered with (its kind, name and metadata such as an importer's description) and
what it was *built* with (an agent's or judge's params) travel with the object as a
:class:`RegistryInfo`, read back with :func:`registry_info`. The judges package puts a
judge's registered name and params on every verdict it makes this way.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args

Kind = Literal["agent", "blueprint", "judge", "importer", "report_section"]
"""The kinds of extension."""

KINDS: tuple[Kind, ...] = get_args(Kind)

ENTRY_POINT_PREFIX = "agent_evals."
"""Entry-point groups are ``agent_evals.<kind>``, e.g. ``agent_evals.judge``."""

BUILTIN_MODULES: dict[Kind, tuple[str, ...]] = {
    "agent": ("evals.agents.react",),
    "blueprint": ("evals.blueprints",),
    "judge": ("judges.checks", "judges.grounding", "judges.llm"),
    "importer": ("evals.importers",),
    "report_section": ("reports.sections",),
}
"""Modules whose import registers a kind's built-in names."""

T = TypeVar("T")
_ATTR = "__agent_evals_registry__"


class RegistryError(LookupError):
    """A name that resolves to nothing: unknown, or an import path / entry point that
    fails to load. `reason` is 'unknown' or 'import'; `known` lists the names there are."""

    def __init__(
        self, kind: Kind, name: str, reason: str, detail: str, known: list[str], cause: str = ""
    ) -> None:
        super().__init__(detail)
        self.kind, self.name, self.reason, self.known = kind, name, reason, known
        self.cause = cause or detail
        """The underlying problem alone (e.g. the ImportError's text)."""


@dataclass(frozen=True)
class RegistryInfo:
    """What an object was registered (and, once built, called) with."""

    kind: Kind
    """Kind of extension."""
    name: str
    """Registered name, or the 'module:attr' path it was loaded from."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """The decorator's other arguments (e.g. an importer's description)."""
    params: dict[str, Any] = field(default_factory=dict)
    """The arguments the object was built with (an agent's or a judge's params)."""
    source: str = "registered"
    """'registered' (a decorator), 'entry point <dist>' or 'import path'."""


_REGISTERED: dict[Kind, dict[str, Any]] = {kind: {} for kind in KINDS}
_INFO: dict[Kind, dict[str, RegistryInfo]] = {kind: {} for kind in KINDS}
_BUILTINS_LOADED: set[Kind] = set()
_ADAPTERS: dict[Kind, Callable[[str, Any], Any]] = {}


def set_adapter(kind: Kind, adapt: Callable[[str, Any], Any]) -> None:
    """How an entry point's object becomes what the kind stores (e.g. a bare parse
    function becomes an ImporterInfo); set by the kind's own package on import."""
    _ADAPTERS[kind] = adapt


def adapt(kind: Kind, name: str, obj: Any) -> Any:
    """`obj` as the kind stores it (its adapter applied, when the kind has one)."""
    load_builtins(kind)
    adapter = _ADAPTERS.get(kind)
    return adapter(name, obj) if adapter else obj


def registry_info(obj: Any) -> RegistryInfo | None:
    """The registry info recorded on an object (a registered or built one), if any."""
    info = getattr(obj, _ATTR, None)
    return info if isinstance(info, RegistryInfo) else None


def tag(obj: T, info: RegistryInfo) -> T:
    """Record `info` on `obj` (silently skipped for objects that take no attributes)."""
    with contextlib.suppress(AttributeError, TypeError):
        setattr(obj, _ATTR, info)
    return obj


def register(kind: Kind, name: str, obj: T, **metadata: Any) -> T:
    """Register `obj` as `name` of `kind` (a later registration of a name replaces it)."""
    info = RegistryInfo(kind, name, dict(metadata))
    _REGISTERED[kind][name] = obj
    _INFO[kind][name] = info
    return tag(obj, info)


def registrar(kind: Kind, name: str, **metadata: Any) -> Callable[[T], T]:
    """Decorator form of :func:`register`; the decorated object is returned unchanged."""

    def deco(obj: T) -> T:
        return register(kind, name, obj, **metadata)

    return deco


def entries(kind: Kind) -> dict[str, Any]:
    """The live name -> object mapping of in-process registrations of a kind (what the
    legacy ``REGISTRY`` / ``IMPORTERS`` names are; writing to it registers)."""
    return _REGISTERED[kind]


def load_builtins(kind: Kind) -> None:
    """Import the modules that register a kind's built-in names (once)."""
    if kind in _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED.add(kind)
    for module in BUILTIN_MODULES[kind]:
        importlib.import_module(module)


def entry_points(kind: Kind) -> dict[str, importlib.metadata.EntryPoint]:
    """Installed entry points of a kind by name (not loaded)."""
    found = importlib.metadata.entry_points(group=ENTRY_POINT_PREFIX + kind)
    return {ep.name: ep for ep in found}


def names(kind: Kind) -> list[str]:
    """Every name a kind knows: built-in, registered and installed (sorted)."""
    load_builtins(kind)
    return sorted(set(_REGISTERED[kind]) | set(entry_points(kind)))


def info_of(kind: Kind, name: str) -> RegistryInfo | None:
    """Registration info of a registered name (after its lookup)."""
    return _INFO[kind].get(name)


def lookup(kind: Kind, name: str) -> Any:
    """The object `name` stands for in `kind`: a registered name, an installed entry
    point, or 'package.module:attr'. Raises RegistryError with a one-line message."""
    load_builtins(kind)
    if name in _REGISTERED[kind]:
        return _REGISTERED[kind][name]
    eps = entry_points(kind)
    if name in eps:
        return _load_entry_point(kind, name, eps[name])
    if ":" in name:
        return import_path(kind, name)
    known = names(kind)
    raise RegistryError(
        kind,
        name,
        "unknown",
        f"unknown {kind.replace('_', ' ')} {name!r}; known: {', '.join(known) or 'none'} "
        "(or give 'package.module:attr')",
        known,
    )


def import_path(kind: Kind, path: str) -> Any:
    """Import 'package.module:attr' (dotted attributes allowed after the colon)."""
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise RegistryError(
            kind, path, "import", f"cannot import {path!r}: {exc}", names(kind), str(exc)
        ) from None
    except Exception as exc:  # the module itself failed while importing: its bug
        why = f"{type(exc).__name__} while importing: {exc}"
        raise RegistryError(
            kind, path, "import", f"cannot import {path!r}: {why}", names(kind), why
        ) from None
    return obj


def _load_entry_point(kind: Kind, name: str, ep: importlib.metadata.EntryPoint) -> Any:
    dist = ep.dist.name if ep.dist is not None else "?"
    try:
        obj = ep.load()
    except Exception as exc:  # any failure of a plugin's import is the plugin's
        raise RegistryError(
            kind,
            name,
            "import",
            f"cannot load {kind.replace('_', ' ')} {name!r} from the entry point "
            f"{ep.value!r} of {dist}: {type(exc).__name__}: {exc}",
            names(kind),
            f"{type(exc).__name__}: {exc} (entry point {ep.value!r} of {dist})",
        ) from None
    # The module the entry point imports may register the name itself (a decorator);
    # that registration (with its metadata) wins over the bare object.
    if name not in _REGISTERED[kind]:
        adapt = _ADAPTERS.get(kind)
        _REGISTERED[kind][name] = adapt(name, obj) if adapt else obj
        _INFO[kind][name] = RegistryInfo(kind, name, source=f"entry point {dist}")
    return _REGISTERED[kind][name]


class KindView(Mapping[str, Any]):
    """A read-only mapping of every name of a kind, loading entry points on access."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    def __getitem__(self, name: str) -> Any:
        try:
            return lookup(self.kind, name)
        except RegistryError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(names(self.kind))

    def __len__(self) -> int:
        return len(names(self.kind))


def built_with(obj: T, kind: Kind, name: str, params: Mapping[str, Any]) -> T:
    """Record on a built object which registered name built it and with what params."""
    base = info_of(kind, name)
    info = RegistryInfo(
        kind,
        name,
        dict(base.metadata) if base else {},
        dict(params),
        base.source if base else "import path",
    )
    return tag(obj, info)
