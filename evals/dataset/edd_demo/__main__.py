"""`python -m evals.dataset.edd_demo [--out DIR] [--source DIR]`: build the edd_demo set."""

from evals.dataset.edd_demo.cli import main

raise SystemExit(main())
