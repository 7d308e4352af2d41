"""The event loop of the hot asyncio paths (evals.run.event_loop): uvloop by default,
asyncio's own on request, and a run recorded alike on both."""

from __future__ import annotations

import asyncio

import pytest

from evals.run.event_loop import LOOP_ENV, loop_factory, run_async, running_loop_name


async def _name_after_a_timeout() -> str:
    try:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)
    except TimeoutError:
        pass
    await asyncio.to_thread(lambda: None)  # the lanes' object-store calls use threads
    return running_loop_name()


def test_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    monkeypatch.delenv(LOOP_ENV, raising=False)
    assert loop_factory() is not None
    assert run_async(_name_after_a_timeout()) == "uvloop.Loop"


def test_asyncio_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOOP_ENV, "asyncio")
    assert loop_factory() is None
    assert run_async(_name_after_a_timeout()).startswith("asyncio.")


def test_an_unknown_loop_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.errors import InputError

    monkeypatch.setenv(LOOP_ENV, "asycnio")
    with pytest.raises(InputError, match="EVALS_EVENT_LOOP='asycnio': use 'asyncio' or 'uvloop'"):
        loop_factory()
