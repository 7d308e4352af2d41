"""Install the peers into their own environments (idempotent; `make bench` calls it).

- Inspect AI: a virtualenv at bench/.venv-inspect with pip `inspect-ai` and `openai`;
- promptfoo: npm `promptfoo` under bench/.node (node 20 is on the machine; 0.120 is the
  last line that supports it officially).

Versions are pinned so figures stay comparable between runs. Both folders are in
.gitignore.

    python -m bench.peers.install [--force]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from bench.common import log
from bench.peers import INSPECT, INSPECT_VENV, NODE_PREFIX, PROMPTFOO

INSPECT_PACKAGES = ["inspect-ai==0.3.285", "openai==3.54.0"]
PROMPTFOO_PACKAGE = "promptfoo@0.120.27"


def install_inspect(force: bool = False) -> bool:
    """Create bench/.venv-inspect; True when Inspect AI is usable."""
    if INSPECT.exists() and not force:
        return True
    log(f"  installing {' '.join(INSPECT_PACKAGES)} into {INSPECT_VENV}")
    if force and INSPECT_VENV.exists():
        shutil.rmtree(INSPECT_VENV)
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [
        [base, "-m", "venv", str(INSPECT_VENV)],
        [str(INSPECT_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", *INSPECT_PACKAGES],
    ]  # fmt: skip
    for cmd in steps:
        if subprocess.run(cmd).returncode != 0:
            log(f"  Inspect AI: {' '.join(cmd[:4])} failed; it is left out of the comparison")
            return False
    return INSPECT.exists()


def install_promptfoo(force: bool = False) -> bool:
    """npm install promptfoo under bench/.node; True when it is usable."""
    if PROMPTFOO.exists() and not force:
        return True
    npm = shutil.which("npm")
    if npm is None:
        log("  promptfoo: npm not found; it is left out of the comparison")
        return False
    log(f"  installing {PROMPTFOO_PACKAGE} into {NODE_PREFIX}")
    NODE_PREFIX.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--prefix", str(NODE_PREFIX), "--no-audit", "--no-fund",
           "--loglevel", "error", PROMPTFOO_PACKAGE]  # fmt: skip
    if subprocess.run(cmd).returncode != 0:
        log("  promptfoo: npm install failed; it is left out of the comparison")
        return False
    return PROMPTFOO.exists()


def main(argv: list[str] | None = None) -> dict[str, bool]:
    """Install both; returns which are usable."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="reinstall from scratch")
    args = parser.parse_args(argv)
    return {"inspect": install_inspect(args.force), "promptfoo": install_promptfoo(args.force)}


if __name__ == "__main__":
    main()
