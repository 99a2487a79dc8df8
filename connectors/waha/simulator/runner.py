"""Ways to run the simulator: in a thread of the current process (tests), or as a child process
(the demo, end-to-end tests). Both listen on a free loopback port unless told otherwise."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

from connectors.waha.errors import SimulatorDidNotStart
from connectors.waha.simulator.config import DEFAULT_API_KEY, SimulatorConfig
from connectors.waha.simulator.server import Simulator
from streams.base.ports import free_port

__all__ = [
    "SimulatorDidNotStart",
    "SimulatorProcess",
    "SimulatorThread",
    "start_simulator_process",
]


class SimulatorThread:
    """A `Simulator` on its own event loop in a daemon thread, for synchronous tests.

    `with SimulatorThread(config) as sim: ... sim.url ...`; `sim.call(coro_fn)` runs a coroutine
    function on the simulator's loop (to read its state consistently).
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.simulator: Simulator | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        assert self.simulator is not None
        return self.simulator.url

    def start(self) -> SimulatorThread:
        self._thread.start()

        async def boot() -> Simulator:
            simulator = Simulator(self.config)
            await simulator.start()
            return simulator

        self.simulator = asyncio.run_coroutine_threadsafe(boot(), self._loop).result(30)
        return self

    def call(self, fn: Any, *args: Any) -> Any:
        """Run `fn(*args)` (a plain function or a coroutine function) on the simulator's loop."""

        async def run() -> Any:
            result = fn(*args)
            return await result if asyncio.iscoroutine(result) else result

        future: Future[Any] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(30)

    def stop(self) -> None:
        if self.simulator is not None:
            asyncio.run_coroutine_threadsafe(self.simulator.stop(), self._loop).result(30)
            self.simulator = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SimulatorProcess:
    """`cobranca waha-sim` in a child process; stop it with `stop()` (by its PID)."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, api_key: str | None) -> None:
        self.proc = proc
        self.url = url
        self.api_key = api_key

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 10) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator_process(
    *,
    webhook_url: str | None = None,
    hmac_key: str | None = None,
    api_key: str | None = DEFAULT_API_KEY,
    engine: str = "WEBJS",
    sessions: Sequence[str] = ("default",),
    port: int | None = None,
    extra_args: Sequence[str] = (),
    log_path: Path | None = None,
    timeout: float = 30.0,
) -> SimulatorProcess:
    """Start the simulator as a child process on a free loopback port (or `port`) and wait until
    it answers. Webhooks go to `webhook_url`, signed with `hmac_key`. `extra_args` are more
    `cobranca waha-sim` options (e.g. `["--reply-rate", "0.8", "--duplicate-rate", "0.05"]`).

    The demo uses this: `sim = start_simulator_process(webhook_url=...)`, then `WAHA_URL=sim.url`,
    `WAHA_API_KEY=sim.api_key` for the worker, and `sim.stop()` at the end.
    """
    port = port or free_port()
    args = [sys.executable, "-m", "streams.ops.cli", "waha-sim", "--port", str(port)]
    args += ["--engine", engine]
    for session in sessions:
        args += ["--session", session]
    if webhook_url:
        args += ["--webhook-url", webhook_url]
    args += list(extra_args)
    env = {**os.environ}
    if api_key is None:
        args.append("--no-api-key")
    else:
        env["WAHA_API_KEY"] = api_key
    if hmac_key:
        env["WAHA_SIM_HMAC_KEY"] = hmac_key
    out = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        if log_path is not None and not isinstance(out, int):
            out.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SimulatorDidNotStart(
                f"waha-sim exited with {proc.returncode} before answering on {url}"
                + (f"; see {log_path}" if log_path else "")
            )
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1) as answer:
                if answer.status == 200:
                    return SimulatorProcess(proc, url, api_key)
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise SimulatorDidNotStart(f"waha-sim did not answer on {url} within {timeout:.0f}s")
