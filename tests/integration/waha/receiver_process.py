"""`cobranca waha receive` in a child process, and a client that signs what it posts."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import aiohttp

from connectors.waha.receiver import PATH
from connectors.waha.signatures import sign_body
from streams.base.ports import free_port

HMAC_KEY = "integration-hmac-key"


class ReceiverProcess:
    """The webhook receiver as production runs it, on a free loopback port."""

    def __init__(self, bootstrap: str, log_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "COBRANCA_KAFKA_BOOTSTRAP": bootstrap,
            "COBRANCA_WEBHOOK_PORT": str(self.port),
            "COBRANCA_WEBHOOK_PRODUCE_TIMEOUT_S": "5",
            "WAHA_HMAC_KEY": HMAC_KEY,
            "COBRANCA_LOG_FORMAT": "json",
            "COBRANCA_LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = log_dir / f"receiver-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.ops.cli", "waha", "receive"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"receiver exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"receiver not healthy after {timeout:.0f}s:\n{self.log.read_text()}")

    def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def post(self, bodies: Sequence[bytes], key: str = HMAC_KEY) -> list[int]:
        """POST each body, signed with `key`, concurrently; the statuses in order."""
        return asyncio.run(post_signed(f"{self.url}{PATH}", bodies, key))


async def post_signed(url: str, bodies: Sequence[bytes], key: str) -> list[int]:
    async with aiohttp.ClientSession() as session:

        async def one(body: bytes) -> int:
            headers = {
                "Content-Type": "application/json",
                "X-Webhook-Hmac": sign_body(key, body),
                "X-Webhook-Hmac-Algorithm": "sha512",
            }
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status

        return list(await asyncio.gather(*(one(body) for body in bodies)))
