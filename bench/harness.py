"""What the HTTP benches share: free ports, waiting for a server, a closed-loop load generator
with its latencies, and the CPU a process spent (the figure a shared machine's noise moves
least)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Call", "Round", "cpu_seconds", "load", "wait_healthy"]

Call = tuple[str, str, dict[str, str], bytes | None]
"""One request: method, URL, headers, body."""


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds a process (all its threads) has used so far, from /proc;
    None when there is no such process."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Return once `url` answers anything but 503; raise if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not healthy after {timeout:.0f}s")


@dataclass
class Round:
    """One run of `requests` calls (closed loop, `load`, or paced, `paced`): how long, each
    call's latency, and, when the server's pid was given, the CPU seconds it spent."""

    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int
    server_cpu_s: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.server_cpu_s is None:
            return None
        return self.server_cpu_s / self.requests * 1e6

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        cpu = self.cpu_us_per_request
        return (
            f"{self.name:16s} {self.rate:8,.0f} req/s   p50 {self.pct(0.50):6.2f} ms   "
            f"p99 {self.pct(0.99):6.2f} ms"
            + (f"   server CPU {cpu:5.0f} µs/req" if cpu is not None else "")
            + f"   ({self.requests:,} requests, {self.errors} failed)"
        )


async def load(
    name: str,
    call: Callable[[int], Call],
    total: int,
    concurrency: int,
    ok: int,
    server_pid: int | None = None,
) -> Round:
    """`total` calls, `concurrency` at a time, each next one sent as soon as one answers; a call
    answered with another status than `ok` counts as failed."""
    counter = iter(range(total))

    async def drive(send: _Send) -> None:
        async def worker() -> None:
            for n in counter:
                await send(n, time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    return await _round(name, call, total, ok, server_pid, concurrency, drive)


async def paced(
    name: str,
    call: Callable[[int], Call],
    total: int,
    rate: float,
    ok: int,
    server_pid: int | None = None,
    max_in_flight: int = 512,
) -> Round:
    """`total` calls started at a fixed `rate` per second (open loop), whatever the answers do.

    A closed loop measures queueing at saturation: with 64 in flight, p99 is the queue. A goal
    like "p99 under 50 ms at 2,000/s" is a latency at an offered rate, so each call's latency
    runs from when it was due, not when it went out: a server that falls behind shows it in the
    tail instead of slowing the generator down (coordinated omission). A call still waiting for
    a connection after `max_in_flight` others counts its wait too."""

    async def drive(send: _Send) -> None:
        began = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []
        for n in range(total):
            due = began + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(n, due)))
        await asyncio.gather(*tasks)

    return await _round(name, call, total, ok, server_pid, max_in_flight, drive)


_Send = Callable[[int, float], Coroutine[Any, Any, None]]
"""Make call n and record its latency from the given start."""


async def _round(
    name: str,
    call: Callable[[int], Call],
    total: int,
    ok: int,
    server_pid: int | None,
    connections: int,
    drive: Callable[[_Send], Awaitable[None]],
) -> Round:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send(n: int, started: float) -> None:
            nonlocal errors
            method, url, headers, body = call(n)
            async with session.request(method, url, data=body, headers=headers) as response:
                await response.read()
                if response.status != ok:
                    errors += 1
            latencies.append(time.perf_counter() - started)

        cpu_before = cpu_seconds(server_pid)
        began = time.perf_counter()
        await drive(send)
        seconds = time.perf_counter() - began
        cpu_after = cpu_seconds(server_pid)
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return Round(name, total, seconds, latencies, errors, cpu)
