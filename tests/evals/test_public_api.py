"""The public surface: every name a package's ``__init__`` exports resolves, lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = [
    "evals",
    "evals.dataset",
    "evals.store",
    "evals.run",
    "evals.analysis",
    "evals.importers.formats",
    "labeling_app.queues",
    "labeling_app.metrics",
    "labeling_app.auth",
]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    missing = [n for n in module.__all__ if getattr(module, n, None) is None]
    assert not missing, f"{package} exports names it cannot resolve: {missing}"
    assert set(dir(module)) - {"__version__"} == set(module.__all__) - {"__version__"}
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_importing_a_package_runs_none_of_its_stages() -> None:
    # A worker imports only what it uses: `import evals` must not pull in the runner,
    # DuckDB or litellm.
    code = (
        "import sys, evals, evals.run, evals.store; "
        "print(sorted(m for m in ('evals.run.runner', 'duckdb', 'litellm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_is_the_installed_distribution() -> None:
    import evals

    assert evals.__version__.count(".") >= 2
