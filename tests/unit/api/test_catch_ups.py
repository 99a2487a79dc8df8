"""Identity catch-ups after lookup misses: one at a time, shared, spaced, bounded."""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors.api.identity import CatchUps

pytestmark = pytest.mark.asyncio


class Log:
    """Counts catch-ups and when each began; each takes `takes_s`."""

    def __init__(self, takes_s: float = 0.02, ok: bool = True) -> None:
        self.began: list[float] = []
        self.takes_s = takes_s
        self.ok = ok
        self.running = 0
        self.most_at_once = 0

    async def catch_up(self) -> bool:
        self.began.append(time.monotonic())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await asyncio.sleep(self.takes_s)
        self.running -= 1
        return self.ok


async def test_misses_at_once_share_one_catch_up() -> None:
    log = Log()
    gate = CatchUps(log.catch_up, spacing_s=0.05, wait_s=2.0)

    results = await asyncio.gather(*(gate.wait() for _ in range(200)))

    assert results == [True] * 200 and gate.runs == 1 and len(log.began) == 1


async def test_a_miss_during_a_catch_up_waits_for_the_next_one_which_begins_after_it() -> None:
    log = Log(takes_s=0.05)
    gate = CatchUps(log.catch_up, spacing_s=0.05, wait_s=2.0)

    first = asyncio.create_task(gate.wait())
    await asyncio.sleep(0.01)  # the first catch-up is running
    arrived = time.monotonic()
    late = await asyncio.gather(*(gate.wait() for _ in range(50)))

    assert await first and late == [True] * 50
    assert len(log.began) == 2 and log.began[1] >= arrived
    assert log.most_at_once == 1


async def test_a_stream_of_misses_asks_the_log_at_most_once_per_spacing() -> None:
    log = Log(takes_s=0.001)
    gate = CatchUps(log.catch_up, spacing_s=0.05, wait_s=2.0)
    began = time.monotonic()

    async def attacker() -> None:
        while time.monotonic() - began < 0.5:
            await gate.wait()

    await asyncio.gather(*(attacker() for _ in range(20)))

    assert len(log.began) <= 0.5 / 0.05 + 2
    gaps = [b - a for a, b in zip(log.began, log.began[1:], strict=False)]
    assert min(gaps) >= 0.05 - 0.005


async def test_a_log_that_does_not_answer_costs_a_miss_at_most_the_wait() -> None:
    log = Log(takes_s=5.0)
    gate = CatchUps(log.catch_up, spacing_s=0.05, wait_s=0.1)
    began = time.monotonic()

    assert await gate.wait() is False
    assert time.monotonic() - began < 0.5


async def test_a_failed_catch_up_answers_false() -> None:
    async def broken() -> bool:
        raise ConnectionError("broker gone")

    gate = CatchUps(broken, spacing_s=0.0, wait_s=1.0)
    assert await gate.wait() is False
    assert await CatchUps(Log(ok=False).catch_up, spacing_s=0.0, wait_s=1.0).wait() is False
