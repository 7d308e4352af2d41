"""The embedded local model (SmolLM2-135M, llama.cpp) as an LLM judge: a real call under
the judge's JSON schema gives a well-formed verdict. Its quality is not asserted: a
135M model is plumbing, and calibration says how little it may decide alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.dataset.golden import load_golden_set
from evals.models import Gateway, LocalModelError, find_weights
from evals.schema import ModelSpec
from judges import JudgeContext, JudgeEnv, JudgeSpec, build_judge
from tests.helpers import judges as kit

DATASET = Path(__file__).resolve().parents[2] / "datasets" / "edd_demo"


@pytest.mark.slow
async def test_local_model_gives_a_well_formed_verdict(tmp_path: Path) -> None:
    try:
        find_weights("smollm2")
    except LocalModelError as exc:
        pytest.skip(str(exc))
    golden = load_golden_set(DATASET)
    case = golden.case("e2011-registration")
    calls = [
        (f.tool, f.arguments, f.observation, True)
        for f in case.fixtures
        if f.tool == "registry_lookup"
    ][:1]
    gateway = Gateway(
        [ModelSpec(alias="local/smollm2", model="local/smollm2", params={"temperature": 0})],
        cache_dir=tmp_path / "cache",
    )
    judge = build_judge(
        JudgeSpec(
            judge="rubric",
            model="local/smollm2",
            params={"max_reason_chars": 80, "max_tokens": 64, "max_observations_chars": 800},
        ),
        JudgeEnv(gateway=gateway),
    )
    try:
        v = await judge(
            JudgeContext(kit.trial(case, case.reference, calls), case, golden.question_for(case))
        )
    finally:
        await gateway.aclose()
    assert v.error is None, v.error
    assert v.label in ("pass", "fail", "abstain")
    assert v.confidence is not None and 0.0 <= v.confidence <= 1.0
    assert len(v.reason) <= 80
    assert v.usage.input_tokens + v.usage.cached_input_tokens > 200
    assert v.usage.output_tokens > 0 and v.usage.cost_usd == 0.0
