#!/usr/bin/env python3
"""Build the `edd_demo` golden set (the generator is the package evals.dataset.edd_demo).

Usage::

    python datasets/edd_demo/build.py [--out DIR] [--source DIR]

the same as `python -m evals.dataset.edd_demo`; see docs/edd_demo.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This checkout's generator, whatever copy of `evals` the environment has installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from evals.dataset.edd_demo import main

if __name__ == "__main__":
    raise SystemExit(main())
