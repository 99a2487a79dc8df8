"""Issue 16 §5: the broker's data disk is nearly full. A clear error, and no corruption.

A broker of its own whose data directory is a 64 MB tmpfs (root only: `mount -t tmpfs`; the test
is skipped elsewhere), filled with a file up to the last megabytes. The webhook receiver, the
process that stores what WAHA sends, takes webhooks until the disk is full. Kafka cannot append
(`java.io.IOException: No space left on device`), takes its only log directory offline and stops;
the receiver answers 503 with its reason and Retry-After, never 200 for something not stored, and
`cobranca broker status` says the data disk is full.
Space is freed, the broker starts again (recovering its log after the unclean stop), and every
webhook that was answered 200 is on the log, readable, exactly once; the ones answered 503 are
stored when WAHA retries them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.waha.wire import decode_envelope
from infra.kafka.broker import LocalBroker
from schemas.events import WahaCallbackReceived
from streams.base.settings import cache_home
from streams.base.topics import WAHA_MESSAGES
from streams.runtime.log_reader import read_events
from streams.runtime.topic_admin import create_topics
from tests.faults import report
from tests.integration.waha.receiver_process import ReceiverProcess
from tests.integration.waha.test_receiver_kafka import configure
from tests.kafka_helpers import TEST_PARTITIONS
from tests.unit.waha.envelopes import envelope, message, raw

pytestmark = pytest.mark.integration

DISK_MB = 64
LEFT_FREE_MB = 2


@pytest.fixture
def small_disk_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs for the broker's data needs root")
    broker = LocalBroker.on_free_ports(cache=cache_home(), home=tmp_path / "kafka")
    broker.data_dir.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(broker.data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        broker.start(timeout=120)
        asyncio.run(create_topics(broker.bootstrap, TEST_PARTITIONS))
        yield broker
    finally:
        broker.stop()
        subprocess.run(["umount", str(broker.data_dir)], check=False)


def _fill(data_dir: Path, leave_bytes: int) -> Path:
    """A file that takes all but `leave_bytes` of the disk."""
    stats = os.statvfs(data_dir)
    free = stats.f_bavail * stats.f_frsize
    filler = data_dir / "filler"
    with filler.open("wb") as out:
        chunk = b"\0" * (1 << 20)
        left = free - leave_bytes
        while left > 0:
            left -= out.write(chunk[: min(left, len(chunk))])
    return filler


def _webhook(tenant: str, session: str, n: int) -> bytes:
    # Random text (about 4 kB, as incompressible as a photo caption gets) fills the disk fast.
    text = base64.b64encode(os.urandom(3000)).decode()
    return raw(
        envelope(
            "message",
            message(id=f"false_5511988887777@c.us_{tenant}{n}", body=text),
            session=session,
            id=f"evt_{tenant}_{n}",
        )
    )


def _stored_ids(bootstrap: str, tenant: str) -> list[str]:
    """The envelope id of every record of `tenant` on the messages lane (the webhooks sent are
    debtors' messages), read from the start (the read decodes every record: a corrupt one fails
    it)."""
    ids = []
    for positioned in asyncio.run(read_events(bootstrap, WAHA_MESSAGES.name)):
        event = positioned.event
        assert isinstance(event, WahaCallbackReceived)
        if event.header.tenant_id == tenant:
            ids.append(str(decode_envelope(event.body).id))
    return ids


def test_a_full_data_disk_gives_a_clear_error_and_no_corruption(
    small_disk_broker: LocalBroker, tmp_path: Path
) -> None:
    broker = small_disk_broker
    tenant = f"disk{uuid.uuid4().hex[:6]}"
    session = f"{tenant}-s"
    configure(broker.bootstrap, tenant, [session])
    receiver = ReceiverProcess(
        broker.bootstrap, tmp_path / "receiver", env={"COBRANCA_WEBHOOK_PRODUCE_TIMEOUT_S": "3"}
    )
    receiver.start()
    bodies: dict[str, bytes] = {}
    status: dict[str, int] = {}
    try:
        filler = _fill(broker.data_dir, LEFT_FREE_MB << 20)
        n = 0
        # Batches of webhooks, as WAHA sends them, until the disk is full (a few hundred).
        while 503 not in status.values():
            assert n < 5000, "the disk never filled up"
            batch = {}
            for _ in range(20):
                event_id = f"evt_{tenant}_{n}"
                batch[event_id] = _webhook(tenant, session, n)
                n += 1
            bodies |= batch
            status |= dict(zip(batch, receiver.post(list(batch.values())), strict=True))
        assert set(status.values()) <= {200, 503}, set(status.values())
        # The clear error: the receiver says what happened and when to come back...
        refused = next(body for event_id, body in bodies.items() if status[event_id] == 503)
        answer = asyncio.run(_post_raw(receiver, refused))
        assert answer[0] == 503 and answer[1] == "2", answer
        assert "not stored" in json.loads(answer[2])["error"], answer
        # ... and the broker, once stopped, says why: `cobranca broker status` exits 1 with it.
        assert "No space left on device" in broker.log_file.read_text(errors="replace")
        deadline = time.monotonic() + 60
        while broker.pid() is not None:
            assert time.monotonic() < deadline, "the broker kept running on a full disk"
            time.sleep(0.2)
        said = subprocess.run(
            [sys.executable, "-m", "streams.ops.cli", "broker", "status"],
            env={
                **os.environ,
                "COBRANCA_DATA_DIR": str(tmp_path),
                "COBRANCA_KAFKA_BOOTSTRAP": broker.bootstrap,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert said.returncode == 1, said
        assert "problem: the broker's data disk is full" in said.stdout, said.stdout

        # Space is freed; the broker comes back (a supervisor's restart) and recovers its log.
        filler.unlink()
        broker.stop()
        broker.start(timeout=120)
        acknowledged = [event_id for event_id, code in status.items() if code == 200]
        stored = _stored_ids(broker.bootstrap, tenant)
        report(
            "broker_disk_full",
            acknowledged,
            [event_id for event_id in stored if status.get(event_id) == 200],
            webhooks=len(status),
            answered_503=len(status) - len(acknowledged),
        )
        # WAHA retries what got 503: the receiver stores it now.
        retried = [bodies[event_id] for event_id, code in status.items() if code == 503]
        assert receiver.post(retried) == [200] * len(retried)
    finally:
        receiver.stop()
    stored_after = _stored_ids(broker.bootstrap, tenant)
    assert set(stored_after) == set(bodies)
    # A 503 never lies about the acknowledged ones: each of those is there once.
    acknowledged_again = [e for e in stored_after if status[e] == 200]
    assert len(acknowledged_again) == len(acknowledged) == len(set(acknowledged_again))


async def _post_raw(receiver: ReceiverProcess, body: bytes) -> tuple[int, str | None, bytes]:
    """One signed POST: its status, Retry-After and body."""
    import aiohttp

    from connectors.waha.receiver import PATH
    from connectors.waha.signatures import sign_body
    from tests.integration.waha.receiver_process import HMAC_KEY

    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Hmac": sign_body(HMAC_KEY, body),
        "X-Webhook-Hmac-Algorithm": "sha512",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{receiver.url}{PATH}", data=body, headers=headers) as response,
    ):
        return response.status, response.headers.get("Retry-After"), await response.read()
