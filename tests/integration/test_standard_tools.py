"""Standard tools read our topics (issue 17 §4): confluent-kafka's consumer, SchemaRegistryClient
and AvroDeserializer, pointed at the registry API the HTTP API serves under /registry, decode
what the project's producer wrote; `cobranca topics tail` prints the same records."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest
from aiohttp import web

from connectors.api.app import create_app as api_app
from connectors.api.settings import ApiSettings
from schemas.codec import FAUST_KEY, decode, encode
from schemas.events import Event
from streams.base.cli_output import json_value
from streams.base.topics import CLIENTS
from streams.runtime.log_reader import read_topic
from streams.runtime.producer import EventProducer
from tests.factories import client_imported

pytestmark = pytest.mark.integration

confluent_kafka = pytest.importorskip("confluent_kafka")


class ServedApp:
    """An aiohttp application served from its own thread and loop: the standard clients below
    are blocking, so the server cannot share the test's loop."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self._app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def __enter__(self) -> ServedApp:
        self._thread.start()
        assert self._ready.wait(10), "the server did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The HTTP API's application (with no route called that needs its ports) at /registry."""
    none = cast(Any, None)
    app = api_app(ApiSettings(tmp_path_factory.mktemp("keys")), none, none, none, none, none)
    with ServedApp(app) as served:
        yield f"http://127.0.0.1:{served.port}/registry"


def _events(tenant: str) -> list[Event]:
    return [client_imported(tenant, n, import_id=f"imp-{tenant}") for n in range(4)]


def _expected(event: Event) -> dict[str, Any]:
    """What was produced, as Avro reads it back: the event's record in fastavro's terms."""
    value = decode(encode(event.to_representation()))
    value.pop(FAUST_KEY)
    return value


@pytest.fixture(scope="module")
def produced(kafka_bootstrap: str) -> tuple[str, list[Event]]:
    tenant = f"std-{uuid.uuid4().hex[:8]}"
    events = _events(tenant)

    async def send() -> None:
        async with EventProducer(kafka_bootstrap) as producer:
            await producer.send_many([(event, tenant) for event in events])

    asyncio.run(send())
    return tenant, events


def test_confluent_kafka_decodes_our_records_with_the_registry_api(
    kafka_bootstrap: str, registry_url: str, produced: tuple[str, list[Event]]
) -> None:
    from confluent_kafka import Consumer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    tenant, events = produced
    client = SchemaRegistryClient({"url": registry_url})
    # RecordNameStrategy: a subject is the record's full name.
    latest = client.get_latest_version("cobranca.events.ClientImported")
    assert latest.subject == "cobranca.events.ClientImported" and latest.schema_id > 0
    deserializer = AvroDeserializer(client)
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"standard-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    decoded: list[dict[str, Any]] = []
    try:
        consumer.subscribe([CLIENTS.name])
        for _ in range(120):
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                if len(decoded) >= len(events):
                    break
                continue
            if message.key() != tenant.encode():
                continue
            value = deserializer(
                message.value(), SerializationContext(message.topic(), MessageField.VALUE)
            )
            decoded.append(value)
            if len(decoded) == len(events):
                break
    finally:
        consumer.close()
    expected = [_expected(event) for event in events]
    assert sorted(decoded, key=lambda d: d["row"]) == expected
    assert decoded[0]["header"]["tenant_id"] == tenant
    assert {d["phone_e164"] for d in decoded} == {e.phone_e164 for e in events}  # type: ignore[attr-defined]


def test_an_old_version_id_is_served_as_the_schema_that_wrote_it(registry_url: str) -> None:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    from schemas.registry import default_registry

    client = SchemaRegistryClient({"url": registry_url})
    first = default_registry().versions("cobranca.events.BalanceLow")[0]
    schema = client.get_schema(first.schema_id)
    assert schema.schema_type == "AVRO"
    assert json.loads(schema.schema_str) == first.schema
    versions = client.get_versions("cobranca.events.BalanceLow")
    assert versions == [
        e.version for e in default_registry().versions("cobranca.events.BalanceLow")
    ]


def _tail(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.ops.cli", "topics", "tail", *args],
        env={**os.environ, "COBRANCA_KAFKA_BOOTSTRAP": bootstrap},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_topics_tail_prints_the_records_decoded(
    kafka_bootstrap: str, produced: tuple[str, list[Event]]
) -> None:
    tenant, events = produced
    # --max: exactly what the topic holds now, so the command ends instead of following.
    held = len(asyncio.run(read_topic(kafka_bootstrap, CLIENTS.name)))
    done = _tail(
        kafka_bootstrap,
        CLIENTS.name,
        "--from-beginning",
        "--json",
        "--unmasked",
        "--max",
        str(held),
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == held
    ours = sorted((d for d in lines if d["key"] == tenant), key=lambda d: d["event"]["row"])
    assert [d["event"] for d in ours] == [
        json.loads(json.dumps(_expected(e), default=json_value)) for e in events
    ]
    for document in ours:
        assert document["topic"] == CLIENTS.name and document["event_type"] == "ClientImported"
        assert isinstance(document["partition"], int) and isinstance(document["offset"], int)

    human = _tail(kafka_bootstrap, CLIENTS.name, "--from-beginning", "--max", str(held))
    assert human.returncode == 0, human.stderr
    ours_text = [line for line in human.stdout.splitlines() if f" {tenant} ClientImported " in line]
    assert len(ours_text) == len(events)
    assert all(line.startswith(f"{CLIENTS.name}[") and "]@" in line for line in ours_text)
    for event in events:
        phone = event.phone_e164  # type: ignore[attr-defined]
        assert phone not in human.stdout and phone.lstrip("+") not in human.stdout
        assert phone in done.stdout


def test_topics_tail_follows_new_records_from_the_end(kafka_bootstrap: str) -> None:
    tenant = f"follow-{uuid.uuid4().hex[:8]}"
    command = ["topics", "tail", CLIENTS.name, "--json", "--unmasked", "--max", "1"]
    tail = subprocess.Popen(
        [sys.executable, "-m", "streams.ops.cli", *command],
        env={**os.environ, "COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    async def send(n: int) -> None:
        async with EventProducer(kafka_bootstrap) as producer:
            await producer.send(client_imported(tenant, n, import_id=f"imp-{tenant}"), tenant)

    try:
        # The tail starts at the end as of when it is ready: send until one record reaches it.
        for n in range(60):
            asyncio.run(send(n))
            try:
                tail.wait(1.0)
                break
            except subprocess.TimeoutExpired:
                continue
        out, err = tail.communicate(timeout=10)
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()
    assert tail.returncode == 0, err
    (line,) = out.splitlines()
    document = json.loads(line)
    # A record sent after the tail started: the topic's older records were skipped.
    assert document["key"] == tenant and document["event_type"] == "ClientImported"
    assert document["event"]["header"]["tenant_id"] == tenant
