"""Coverage of `evals calibrate`'s cascade over 20 seeds, on synthetic labelled data
(500 items, three judges of rising skill whose confidence is informative), with the
default procedure (deterministic, full sample: it takes no seed, so its spread must be
0) and with ``--method split`` (held-out splits, p-values pooled over 40 splits).

    python -m bench.calibration_spread

Prints, per data set and decision mode, each procedure's coverage with seeds 0-19 and
its spread (max - min). A calibration whose result hangs on the seed invites picking
one; the numbers in docs/metrics.md were measured with this script.
"""

from __future__ import annotations

import numpy as np

from judges.cascade_calibration import (
    CascadeItem,
    DecideMode,
    StageObservation,
)
from judges.cascade_report import calibrate_cascade

DATASETS = {
    "weak judges, 55% helpful": ((0.6, 0.75, 0.9), 0.55),
    "weak judges, 30% helpful": ((0.6, 0.75, 0.9), 0.30),
    "weak judges, 15% helpful": ((0.6, 0.75, 0.9), 0.15),
    "strong judges, 55% helpful": ((0.75, 0.85, 0.95), 0.55),
}


def items(skills: tuple[float, ...], helpful_share: float, n: int = 500) -> list[CascadeItem]:
    """Judges right with probability rising with their confidence (up to 99%)."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        helpful = bool(rng.random() < helpful_share)
        obs = []
        for k, skill in enumerate(skills):
            conf = float(rng.beta(2, 2))
            right = rng.random() < min(0.5 + (skill - 0.5) * (0.3 + 1.4 * conf), 0.99)
            label = ("pass" if helpful else "fail") if right else ("fail" if helpful else "pass")
            cost, latency = 0.0001 * 10**k, 0.1 * 10**k
            obs.append(StageObservation(label, round(conf, 2), cost, latency))  # type: ignore[arg-type]
        out.append(CascadeItem(f"t{i}", helpful, tuple(obs)))
    return out


def main() -> None:
    for name, (skills, share) in DATASETS.items():
        data = items(skills, share)
        modes: tuple[DecideMode, ...] = ("pass_fail", "fail")
        for mode in modes:
            full = np.array(
                [
                    calibrate_cascade(
                        data, ["a", "b", "c"], alpha=0.2, decide=mode, seed=s
                    ).coverage
                    for s in range(20)
                ]
            )
            # The split report lists the coverage with seeds 0-19 (independent splits).
            split = calibrate_cascade(
                data, ["a", "b", "c"], alpha=0.2, decide=mode, method="split", seed=0
            )
            for method, cov in (("full", full), ("split", np.array(split.seed_coverage))):
                print(
                    f"{name:28s} {mode:9s} {method:5s} coverage min {cov.min():6.1%} median "
                    f"{np.median(cov):6.1%} max {cov.max():6.1%}  spread "
                    f"{cov.max() - cov.min():6.1%}"
                )


if __name__ == "__main__":
    main()
