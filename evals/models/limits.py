"""Per-model admission: a concurrency limit and requests/tokens-per-minute buckets.

Each model alias has its own `ModelLimiter`, so a saturated model queues only its own
calls and never delays another model's. Rates are token buckets refilled continuously;
a bucket holds ten seconds' worth, so a burst cannot spend a whole minute's quota at
once. The semaphore is bound to the event loop that uses it and rebuilt if the Gateway
is later used from another loop (tests, `asyncio.run` per command).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

_BURST_S = 10.0


class Bucket(Protocol):
    """A rate bucket: this process's TokenBucket, or one shared by many processes (the
    Ray executor's cluster-wide limiter, evals.run.executors.ray_limits)."""

    async def take(self, amount: float = 1.0) -> None:
        """Wait until `amount` units may be spent, and spend them."""

    def refund(self, amount: float) -> None:
        """Give back (or, negative, charge) units once the true cost is known."""


class TokenBucket:
    """`per_minute` units a minute, refilled continuously, holding at most ten seconds' worth."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * _BURST_S)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, amount: float = 1.0) -> None:
        """Wait until `amount` units are available and spend them. A request larger than
        the bucket waits for a full bucket and leaves it in debt."""
        amount = max(0.0, amount)
        while True:
            self._refill()
            needed = min(amount, self.capacity)
            if self.tokens >= needed:
                self.tokens -= amount
                return
            await asyncio.sleep((needed - self.tokens) / self.rate)

    def refund(self, amount: float) -> None:
        """Give back (or, negative, charge) units once the true cost is known."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens + amount)


class ModelLimiter:
    """Concurrency and rate limits of one model alias."""

    def __init__(self, max_concurrency: int, rpm: int | None, tpm: int | None) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.rpm: Bucket | None = TokenBucket(rpm) if rpm else None
        self.tpm: Bucket | None = TokenBucket(tpm) if tpm else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore = asyncio.Semaphore(self.max_concurrency)

    def _semaphore_here(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.max_concurrency)
        return self._semaphore

    @property
    def in_flight(self) -> int:
        """Calls holding a slot right now."""
        return self.max_concurrency - self._semaphore._value

    @asynccontextmanager
    async def slot(self, estimated_tokens: int) -> AsyncIterator[None]:
        """Hold one request slot: rate buckets first, then the concurrency limit."""
        if self.rpm is not None:
            await self.rpm.take(1.0)
        if self.tpm is not None:
            await self.tpm.take(float(estimated_tokens))
        async with self._semaphore_here():
            yield
