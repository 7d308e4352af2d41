"""Blueprints: workflows in code that keep agents on rails (see evals.blueprints.core).

Importing this package registers the built-in blueprints (``edd_rails``,
``edd_template``) as agents.
"""

from evals.blueprints import edd as _edd  # noqa: F401  (registers the EDD blueprints)
from evals.blueprints.core import BlueprintAgent, BlueprintFn, BlueprintRun, blueprint

__all__ = ["BlueprintAgent", "BlueprintFn", "BlueprintRun", "blueprint"]
