"""The local broker says its data disk is full when its log, since its last start, says so.
The real case (a broker on a full tmpfs): tests/integration/infra/test_broker_disk_full.py."""

from __future__ import annotations

from pathlib import Path

from infra.kafka.broker import LocalBroker

ENOSPC = (
    "[2026-12-07T05:50:44,747] ERROR Error while appending records to cobranca.waha.callbacks-1 "
    "in dir /data (org.apache.kafka.storage.internals.log.LogDirFailureChannel)\n"
    "java.io.IOException: No space left on device\n"
)


def _broker(tmp_path: Path, earlier: str, since_start: str) -> LocalBroker:
    broker = LocalBroker(jars_dir=tmp_path / "jars", home=tmp_path / "kafka", port=1)
    broker.log_file.parent.mkdir(parents=True)
    broker.log_file.write_text(earlier + since_start)
    (broker.log_file.parent / "start.offset").write_text(str(len(earlier.encode())))
    return broker


def test_a_full_disk_since_the_last_start_is_the_problem(tmp_path: Path) -> None:
    broker = _broker(tmp_path, "[...] INFO Kafka Server started\n", ENOSPC)
    problem = broker.disk_full()
    assert problem is not None and "data disk is full" in problem
    assert str(broker.data_dir) in problem and str(broker.log_file) in problem
    status = broker.status()
    assert not status.running and status.problem == problem


def test_a_full_disk_before_the_last_start_is_not(tmp_path: Path) -> None:
    broker = _broker(tmp_path, ENOSPC, "[...] INFO Kafka Server started\n")
    assert broker.disk_full() is None and broker.status().problem is None
    assert LocalBroker(jars_dir=tmp_path, home=tmp_path / "none").disk_full() is None
