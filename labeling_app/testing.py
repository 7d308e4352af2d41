"""A tiny golden set and hand-written trials, for the app's tests and examples.

Tests build workspaces by writing Trial records directly (no LLM needed): a small EDD
golden set on disk (two questions, tools answered from fixtures) and, per case, trials
whose answers do or do not state the case's key facts. ``hostile=True`` puts XSS
payloads into an answer, a thought, a tool call and a judge's reason, to check that the
app renders untrusted text inert.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml

from evals.dataset.golden import GoldenSet, case_hash, load_golden_set
from evals.schema import (
    AgentSpec,
    Case,
    FinalAnswerStep,
    Message,
    ModelCallStep,
    ModelSpec,
    RunManifest,
    ThoughtStep,
    ToolCallStep,
    Trace,
    Trial,
    Usage,
    Verdict,
    trial_key,
)
from evals.store.workspace import Workspace

XSS_SCRIPT = "<script>window.__xss_script=1;alert('xss-script')</script>"
XSS_IMG = "<img src=x onerror=\"window.__xss_img=1;alert('xss-img')\">"
XSS_LINK = "[click for details](javascript:window.__xss_link=1;alert('xss-link'))"
XSS_PAYLOAD = f"Ownership: {XSS_SCRIPT} then {XSS_IMG} and {XSS_LINK}"
"""Untrusted text that must show up as text, never as markup."""

_COMPANIES = [
    ("Acme Trading Ltd", "GB", "01234567", "Jane Smith", 75),
    ("Borealis Logistics GmbH", "DE", "HRB 98765", "Karl Weber", 60),
    ("Cobalt Foods SARL", "FR", "552 100 554", "Marie Dubois", 51),
]


def write_golden_set(root: Path) -> Path:
    """Write the mini golden set (2 questions x 3 subjects) to ``root``; returns it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "fixtures").mkdir(exist_ok=True)
    (root / "dataset.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "mini_edd",
                "description": "Test set for the labeling app.",
                "license": "CC0 (made up)",
                "tools": [
                    {"name": "registry_lookup", "description": "Company registry record."},
                    {"name": "get_ownership", "description": "Shareholders of a company."},
                ],
            }
        )
    )
    (root / "questions.yaml").write_text(
        yaml.safe_dump(
            [
                {
                    "id": "registration",
                    "title": "Is the company registered and active?",
                    "rubric": "States the registration number and whether the company is active.",
                },
                {
                    "id": "ubo",
                    "title": "Who is the ultimate beneficial owner?",
                    "rubric": "Names every owner above 25% with their share.",
                },
            ]
        )
    )
    lines = []
    for i, (company, country, number, owner, share) in enumerate(_COMPANIES):
        subject = {"name": company, "country": country}
        lines.append(
            {
                "id": f"reg-{i}",
                "question_id": "registration",
                "input": {"question": f"Is {company} registered and active?", "subject": subject},
                "reference": f"{company} is registered under {number} and active.",
                "key_facts": [number, "active"],
                "forbidden": ["dissolved"],
            }
        )
        lines.append(
            {
                "id": f"ubo-{i}",
                "question_id": "ubo",
                "input": {"question": f"Who owns {company}?", "subject": subject},
                "reference": f"{owner} owns {share}%.",
                "key_facts": [owner, f"{share}%"],
                "forbidden": ["no owner"],
            }
        )
        fixtures = {
            f"reg-{i}": {
                "tool": "registry_lookup",
                "arguments": {"name": company},
                "observation": {"number": number, "status": "active"},
            },
            f"ubo-{i}": {
                "tool": "get_ownership",
                "arguments": {"name": company},
                "observation": {"owners": [{"name": owner, "share": share}]},
            },
        }
        for case_id, fixture in fixtures.items():
            (root / "fixtures" / f"{case_id}.jsonl").write_bytes(orjson.dumps(fixture) + b"\n")
    (root / "cases.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in lines))
    return root


def _trace(
    answer: str, tool: str, args: dict[str, object], observation: object, thought: str
) -> Trace:
    return Trace(
        messages=[
            Message(role="system", content="You are an EDD research assistant (v1)."),
            Message(role="user", content="Research the question."),
            Message(role="assistant", content=answer),
        ],
        steps=[
            ModelCallStep(model="demo-model", output=thought, usage=Usage(calls=1)),
            ThoughtStep(text=thought),
            ToolCallStep(tool=tool, arguments=args, observation=observation),
            FinalAnswerStep(text=answer),
        ],
        final_answer=answer,
        usage=Usage(input_tokens=120, output_tokens=40, calls=1),
        latency_s=1.5,
    )


def trial_of(
    case: Case, golden: GoldenSet, agent: AgentSpec, model: ModelSpec, run_id: str, trace: Trace
) -> Trial:
    """A hand-written trial of `case` (prompt v1, repetition 0) with the given trace."""
    ch = case_hash(case)
    return Trial(
        key=trial_key(ch, agent, model, "p1", 0),
        run_id=run_id,
        dataset=golden.name,
        dataset_hash=golden.content_hash,
        case_id=case.id,
        case_hash=ch,
        question_id=case.question_id,
        agent=agent,
        model=model,
        prompt="v1",
        prompt_hash="p1",
        trace=trace,
    )


def write_trials(
    ws: Workspace,
    dataset: Path,
    *,
    run_id: str = "run-1",
    models: tuple[str, ...] = ("model-a", "model-b"),
    hostile: bool = False,
    verdicts: bool = True,
    compact: bool = False,
) -> list[Trial]:
    """One trial per case and model (good answers from the first model, weak ones from
    the others), the run manifest, and cascade verdicts (weak answers fail)."""
    golden = load_golden_set(dataset)
    agent = AgentSpec(name="react")
    ws.append(
        "run",
        RunManifest(
            run_id=run_id,
            suite="test",
            suite_hash="s",
            dataset=golden.name,
            dataset_hash=golden.content_hash,
            agent=agent,
            prompts=["v1"],
            models=[ModelSpec(alias=m, model=f"openai/{m}") for m in models],
            config={"dataset_path": str(dataset)},
        ),
    )
    trials = []
    for mi, alias in enumerate(models):
        model = ModelSpec(alias=alias, model=f"openai/{alias}")
        for case in golden.cases:
            good = mi == 0
            answer = case.reference if good else f"Could not confirm: {case.forbidden[0]}."
            thought = "Look the company up first."
            if hostile:
                answer, thought = XSS_PAYLOAD, f"Thinking {XSS_IMG}"
            fx = case.fixtures[0]
            obs = fx.observation if not hostile else {"note": XSS_SCRIPT, "link": XSS_LINK}
            trace = _trace(answer, fx.tool, dict(fx.arguments), obs, thought)
            trial = trial_of(case, golden, agent, model, run_id, trace)
            ws.append("trial", trial)
            trials.append(trial)
            if verdicts:
                reason = (
                    XSS_PAYLOAD
                    if hostile
                    else ("key facts present" if good else "states a forbidden claim")
                )
                ws.append(
                    "verdict",
                    Verdict(
                        key=f"{trial.key}-cascade",
                        trial_key=trial.key,
                        run_id=run_id,
                        judge="cascade",
                        judge_version="1",
                        label="pass" if good or hostile else "fail",
                        reason=reason,
                    ),
                )
    ws.close(compact=compact)
    return trials


def run_reviewers(
    root: Path, queue_id: str, reviewers: list[str], seed: int = 0, queue_db: str | None = None
) -> list[str]:
    """Reviewers working one queue at once, one thread each, until nothing is left for
    them (some skip now and then). Returns the ids of the labels the queue accepted.
    Used by the concurrency tests, in several processes at once (``queue_db``: the
    queue state in that PostgreSQL database, else the workspace's folder)."""
    import random
    import threading
    import time

    from labeling_app.queues.pg import service_for
    from labeling_app.queues.service import Decision

    svc = service_for(Workspace(root), queue_db)
    accepted: list[str] = []
    lock = threading.Lock()

    def work(reviewer: str) -> None:
        rng = random.Random(f"{seed}-{reviewer}")
        while (item := svc.claim_next(queue_id, reviewer)) is not None:
            svc.record_event(queue_id, item.item_id, reviewer, "shown")
            time.sleep(rng.uniform(0, 0.02))
            if rng.random() < 0.1:
                decision = Decision(action="skip", comment="simulated skip")
            elif item.arm == "unassisted":
                decision = Decision(corrected_answer="my answer")
            else:
                decision = Decision(helpful=rng.random() < 0.7, correctness="correct")
            label = svc.decide(queue_id, item.item_id, reviewer, decision)
            with lock:
                accepted.append(label.id)

    threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    svc.ws.close(compact=True)
    return accepted


def append_trials(root: Path, dataset: Path, runs: int, run_prefix: str = "bg") -> int:
    """Write whole runs of trials (as a CLI run would), one after another; returns how
    many trials were written. Used as the concurrent writer in the concurrency test."""
    total = 0
    for i in range(runs):
        models = tuple(f"{run_prefix}{i}-{m}" for m in "abc")
        total += len(
            write_trials(
                Workspace(root), dataset, run_id=f"{run_prefix}-{i}", models=models, compact=True
            )
        )
    return total
