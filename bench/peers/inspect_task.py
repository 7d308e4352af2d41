"""Inspect AI doing the same single-turn work as the harness benchmark.

N samples, one `generate()` each, no scorer (the harness's run does not judge either);
run in its own virtualenv (bench/.venv-inspect) against the fake server:

    bench/.venv-inspect/bin/inspect eval bench/peers/inspect_task.py -T trials=2000 \
        --model openai/fake --model-base-url URL --max-connections C --max-samples C
"""

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.solver import generate


@task
def single_turn(trials: int = 2000) -> Task:
    """N single-turn samples."""
    samples = [
        Sample(input=f"Case {i}: what is the answer?", target="Echo", id=i) for i in range(trials)
    ]
    return Task(dataset=MemoryDataset(samples), solver=generate())
