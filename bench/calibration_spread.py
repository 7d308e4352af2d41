"""Coverage of `evals calibrate`'s cascade over 20 seeds of its split, on synthetic
labelled data (500 items, three judges of rising skill whose confidence is informative).

    python -m bench.calibration_spread

Prints, per data set and decision mode, the coverage with seeds 0-19 and its spread
(max - min). A calibration whose result hangs on the seed invites picking one; the
numbers in docs/metrics.md were measured with this script before and after the change
(seeds with independent splits: before, seeds s and s+1 shared nine of their ten
splits, which understated the spread).
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
            # The report lists the coverage with seeds 0-19 (their splits are independent).
            report = calibrate_cascade(data, ["a", "b", "c"], alpha=0.2, decide=mode, seed=0)
            cov = np.array(report.seed_coverage)
            print(
                f"{name:28s} {mode:9s} coverage min {cov.min():6.1%} median "
                f"{np.median(cov):6.1%} max {cov.max():6.1%}  spread {cov.max() - cov.min():6.1%}"
            )


if __name__ == "__main__":
    main()
