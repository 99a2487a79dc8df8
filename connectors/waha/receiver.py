"""The WAHA webhook receiver: `POST /webhooks/waha` → WahaCallbackReceived on Kafka.

A webhook is answered 2xx only after Kafka has stored it with acks=all, so nothing WAHA was told
is received can be lost; anything else gets a status WAHA retries on (it retries every non-2xx).

What a request goes through, in order (the first failure answers):

1. body larger than the limit (`COBRANCA_WEBHOOK_MAX_BODY_BYTES`, 1 MB): 413, read no further
   (a Content-Length over the limit is refused before reading; a chunked body is read in chunks
   and refused as soon as it passes the limit);
2. no `X-Webhook-Hmac` header: 401 (unsigned webhooks are never parsed);
3. a header the record keeps (`KEPT_HEADERS`) longer than `MAX_HEADER_BYTES`: 431;
4. not JSON, or not a WAHA envelope (`event`, `session`, `payload`, and `id` when present, with
   their JSON types): 400 with the reason and its JSON path. The rest of the body is the
   normalizer's to read: stored as received, a body it cannot read is dead-lettered with its
   bytes, not lost;
5. a session no tenant configures, a session whose key is not in the environment, or an
   HMAC-SHA512 of the raw body that does not match the key of the session's tenant: 401, the
   same answer for all three, so session names cannot be probed (the log says which; 503 while
   the receiver is still reading the tenants);
6. a record larger than the callbacks topic stores (`max_record_bytes`, read from Kafka at
   start): 413;
7. stored: 200 with the event id; Kafka down or slower than `COBRANCA_WEBHOOK_PRODUCE_TIMEOUT_S`:
   503 with Retry-After (413 if Kafka refused the record as too large).

Nothing is produced unless step 7 is reached. The session must be read from the body before the
signature can be checked, because the key depends on the session's tenant.

**Sizes** (issue 18). A record holds the body, the headers in `KEPT_HEADERS` (not every request
header: those are the client's to inflate) and the event around them. At start, the receiver's
wiring (streams/ops/waha_receiver.py) reads the topic's max.message.bytes and refuses to run when
a body of the largest size allowed could make a record Kafka would refuse
(`check_record_limits`); each request's record is measured (`record_bytes`, Kafka's own count)
before it is produced. A record the broker refuses anyway (its limit lowered since) is 413, and
the producer is renewed so that later records are stored (streams/runtime/producer.py).

**Where the keys come from.** A tenant's configuration names, per WAHA session, where the
session's webhook key is: `webhook_hmac_key: env:VARIABLE` (streams/domain/tenant_config.py). The
key itself is read from that environment variable of the receiver's process, so no secret is ever
written into an event or a configuration file. A session without its own key uses the global
one, `WAHA_HMAC_KEY`: the key WAHA's global webhook signs with (`WHATSAPP_HOOK_HMAC_KEY`,
docker-compose.yml). A session whose key is nowhere answers 401, and the log says which
variable to set.

**Keys of the records.** A callback is keyed `tenant:chat` (the chat of the message or ack it
carries; `tenant:session` for session statuses and what normalization ignores). Retries, the
`message`/`message.any` pair and every ack of one message then land in one partition, so the
normalizer decides each duplicate and each ack order within a partition, and its outputs keep
the key, which is what the conversations topic is keyed by (docs/adr/0007).

**Two lanes.** A debtor's message (`message`, `message.any`) is stored apart from the acks and
session statuses (`Lane`): under a burst of sends the acks pile up by the thousand, and a reply
stored behind them would wait for all of them to be normalized before the bot could answer it
(docs/adr/0032). Both events of a message pair and its retries share the lane; every ack of a
message shares the other.

**Group commit.** Concurrent requests each append their record to the producer and wait for
its acknowledgement; the producer sends whatever accumulated while the previous request to the
broker was in flight as one batch, so many requests share one round trip (bench/webhook_bench.py
measures it).

**What it is given.** This module is the HTTP side: the app, its handlers and the rules of a
record. Kafka and the tenants reach it through the ports it declares, `SessionOwners` (the
runtime's TenantDirectory), `CallbackStore` (the runtime's GroupCommitProducer) and
`RecordLimits` (what the lanes' topics store, read at start), the largest record they store as a
plain number, and how Kafka counts a record's bytes as a plain function.
streams/ops/waha_receiver.py builds the real ones and serves the app (`cobranca waha receive`).
"""

from __future__ import annotations

import enum
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol, TypeAlias

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from connectors.waha.errors import InvalidSignature, ReceiverConfigError, WahaWireError
from connectors.waha.normalize import routing_chat
from connectors.waha.signatures import ALGORITHM_HEADER, SIGNATURE_HEADER, check_signature
from connectors.waha.wire import WahaEvent, WebhookEnvelope, decode_envelope_head
from schemas.callback_writer import encode_callback
from schemas.events import WahaCallbackReceived
from streams.base.errors import ProduceFailed, RecordTooLarge
from streams.domain.chat_keys import record_key
from streams.domain.tenant_config import TenantConfig

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_REQUEST_BYTES",
    "KEPT_HEADERS",
    "MAX_HEADER_BYTES",
    "PATH",
    "RECEIVER",
    "RECORD_ALLOWANCE",
    "CallbackStore",
    "Lane",
    "Receiver",
    "ReceiverConfig",
    "RecordBytes",
    "RecordLimits",
    "SessionOwners",
    "callback_datum",
    "callback_key",
    "check_record_limits",
    "create_app",
    "hmac_key_for",
    "lane_of",
    "largest_record_bytes",
]

PATH: Final = "/webhooks/waha"
DEFAULT_MAX_BODY_BYTES: Final = 1_000_000
#: The largest record the receiver's producer sends unless told otherwise: aiokafka's default
#: max_request_size, 1 MiB.
DEFAULT_MAX_REQUEST_BYTES: Final = 1_048_576
#: The request headers a callback keeps, lowercased: the signature and its algorithm (so the
#: stored body can be checked again, `signatures.check_signature`), WAHA's request id and send
#: time (its retries, in an audit), and the body's content type. Proxies' headers, cookies and
#: a session's customHeaders are not kept: nothing reads them, and they are the client's to
#: inflate (issue 18: ~1 MB of headers made a record the broker refused).
KEPT_HEADERS: Final = (
    "content-type",
    SIGNATURE_HEADER.lower(),
    ALGORITHM_HEADER.lower(),
    "x-webhook-request-id",
    "x-webhook-timestamp",
)
#: The most a kept header may hold (a repeated one's values joined); a signature is 128 hex
#: digits. Longer: 431.
MAX_HEADER_BYTES: Final = 1024
#: Room in a record for what is neither the body nor a kept header: the event header (ids,
#: tenant, times, source), the session, the remote address, the key, the Avro and Kafka framing,
#: with envelope ids, session names and chat ids of up to a kilobyte between them. A webhook
#: with longer ones can make a larger record: it is measured, and refused with 413.
RECORD_ALLOWANCE: Final = 4096
SOURCE: Final = "connectors.waha.receiver"
EVENT_TYPE: Final = "WahaCallbackReceived"

log = structlog.get_logger(__name__)


class SessionOwners(Protocol):
    """Who owns a WAHA session: `streams.runtime.tenants.TenantDirectory` follows it from Kafka."""

    def owner_of(self, session: str) -> TenantConfig | None: ...


class Lane(enum.Enum):
    """Where a callback is stored: a debtor's message apart from everything else."""

    MESSAGES = "messages"
    """`message` and `message.any`: what the bot answers (cobranca.waha.messages)."""
    EVENTS = "events"
    """Acks, session statuses and every other event (cobranca.waha.callbacks)."""


_MESSAGE_EVENTS: Final = frozenset({WahaEvent.MESSAGE.value, WahaEvent.MESSAGE_ANY.value})


def lane_of(event: str) -> Lane:
    """The lane of a webhook of this event name."""
    return Lane.MESSAGES if event in _MESSAGE_EVENTS else Lane.EVENTS


class CallbackStore(Protocol):
    """Where verified callbacks go (streams/ops/waha_receiver.py: a group-commit producer on the
    two lanes' topics): `send` returns once Kafka acknowledged the record (acks=all), and raises
    `streams.base.errors.ProduceFailed` when it did not."""

    async def send(self, key: bytes, value: bytes, timeout_s: float, lane: Lane) -> None:
        """Store one record in `lane`; raise ProduceFailed (or TimeoutError) when it is not
        acknowledged within `timeout_s` seconds."""
        ...


class RecordLimits(Protocol):
    """What the callbacks topic stores (`streams.runtime.kafka_limits.TopicLimits`, read from
    the broker at start)."""

    @property
    def topic(self) -> str: ...

    @property
    def topic_overridden(self) -> bool:
        """Whether the topic sets max.message.bytes itself (else it is the broker's)."""
        ...

    @property
    def max_batch_bytes(self) -> int:
        """The largest record batch a produce to the topic may carry."""
        ...

    def setting(self) -> str:
        """Which setting to raise to store larger records, as an operator would write it."""
        ...


#: How many bytes Kafka counts for a record of this key and value
#: (`streams.runtime.kafka_limits.record_bytes`), what `max_record_bytes` bounds.
RecordBytes: TypeAlias = Callable[[bytes, bytes], int]


@dataclass(frozen=True, slots=True)
class ReceiverConfig:
    """The receiver's knobs, from the environment (`from_env`) or given directly."""

    host: str = "127.0.0.1"
    """COBRANCA_WEBHOOK_HOST: loopback unless set; a container sets 0.0.0.0."""
    port: int = 8080
    """COBRANCA_WEBHOOK_PORT."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """COBRANCA_WEBHOOK_MAX_BODY_BYTES: larger bodies get 413."""
    produce_timeout_s: float = 10.0
    """COBRANCA_WEBHOOK_PRODUCE_TIMEOUT_S: how long a request waits for Kafka before 503."""
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    """COBRANCA_WEBHOOK_MAX_REQUEST_BYTES: the producer's max_request_size, the largest record
    it sends (aiokafka's default, 1 MiB); raise it with the topic's max.message.bytes."""
    default_hmac_key: str | None = None
    """WAHA_HMAC_KEY: the key of sessions whose configuration names none (WAHA's global one)."""
    compression: str | None = None
    """COBRANCA_WEBHOOK_COMPRESSION: of the produce batches (none by default; gzip, or lz4 and
    zstd where aiokafka's codec library, cramjam, is installed for every reader of the topic)."""
    processes: int = 1
    """COBRANCA_WEBHOOK_PROCESSES: receiver processes sharing the port (SO_REUSEPORT, the
    kernel spreads connections over them); about one per core (docs/adr/0021)."""
    reuse_port: bool = False
    """Bind with SO_REUSEPORT (set in each process of a `processes` > 1 receiver)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReceiverConfig:
        env = os.environ if env is None else env
        return cls(
            host=env.get("COBRANCA_WEBHOOK_HOST") or "127.0.0.1",
            port=int(env.get("COBRANCA_WEBHOOK_PORT") or 8080),
            max_body_bytes=int(
                env.get("COBRANCA_WEBHOOK_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES
            ),
            produce_timeout_s=float(env.get("COBRANCA_WEBHOOK_PRODUCE_TIMEOUT_S") or 10.0),
            max_request_bytes=int(
                env.get("COBRANCA_WEBHOOK_MAX_REQUEST_BYTES") or DEFAULT_MAX_REQUEST_BYTES
            ),
            default_hmac_key=env.get("WAHA_HMAC_KEY") or None,
            compression=_compression(env.get("COBRANCA_WEBHOOK_COMPRESSION", "")),
            processes=_processes(env.get("COBRANCA_WEBHOOK_PROCESSES", "")),
        )


def _processes(value: str) -> int:
    text = value.strip()
    if not text:
        return 1
    try:
        count = int(text)
    except ValueError as exc:
        raise ReceiverConfigError(
            f"COBRANCA_WEBHOOK_PROCESSES={text!r} is not a whole number"
        ) from exc
    if count < 1:
        raise ReceiverConfigError(f"COBRANCA_WEBHOOK_PROCESSES={count} must be 1 or more")
    return count


def _compression(value: str) -> str | None:
    value = value.strip().lower()
    return None if value in ("", "none") else value


# --- pure parts ---------------------------------------------------------------------------


def hmac_key_for(
    config: TenantConfig, session: str, env: Mapping[str, str], default: str | None
) -> tuple[bytes | None, str]:
    """The webhook key of `session` (owned by `config`'s tenant), and where it was looked for.

    A session's `webhook_hmac_key_ref` (`env:VARIABLE`) names the environment variable holding
    its key; without one, the global `default`. Returns (None, where) when the key is missing.
    """
    ref = next((s.webhook_hmac_key_ref for s in config.sessions if s.name == session), None)
    if ref is None:
        return (default.encode() if default else None), "WAHA_HMAC_KEY"
    variable = ref.removeprefix("env:")
    value = env.get(variable)
    return (value.encode() if value else None), variable


def callback_key(tenant: str, envelope: WebhookEnvelope) -> str:
    """The record key of a callback: `tenant:chat_key` (streams/domain/chat_keys.py: every spelling
    of a phone's chat, with or without Brazil's 9th digit, is one key, the key its debt is indexed
    under), or `tenant:session` when no one chat."""
    chat = routing_chat(envelope)
    return record_key(tenant, chat).decode() if chat else f"{tenant}:{envelope.session}"


def callback_datum(
    *,
    tenant: str,
    envelope: WebhookEnvelope,
    body: bytes,
    headers: Mapping[str, str],
    received_at: datetime,
    remote: str | None,
) -> dict[str, Any]:
    """The WahaCallbackReceived of a verified webhook, body and headers exactly as received, as
    the Avro datum `schemas.callback_writer.encode_callback` writes (no Faust record: this is the
    hot path, and a test checks it encodes to what `new_header` and the record would have
    given)."""
    if received_at.tzinfo is not UTC:
        received_at = received_at.astimezone(UTC)
    received_at = received_at.replace(microsecond=received_at.microsecond // 1000 * 1000)
    return {
        "header": {
            "event_id": str(uuid.uuid4()),
            "event_type": EVENT_TYPE,
            "schema_version": WahaCallbackReceived.SCHEMA_VERSION,
            "tenant_id": tenant,
            "occurred_at": received_at,
            "correlation_id": envelope.id or envelope.session,
            "source": SOURCE,
            "causation_id": None,
        },
        "body": body,
        "headers": headers,
        "received_at": received_at,
        "session": envelope.session,
        "remote": remote,
    }


def largest_record_bytes(max_body_bytes: int) -> int:
    """The largest record a body of `max_body_bytes` makes, with every kept header at its
    limit and envelope ids and names within `RECORD_ALLOWANCE`."""
    headers = sum(len(name) + MAX_HEADER_BYTES + 4 for name in KEPT_HEADERS)  # 4: two varints
    return max_body_bytes + headers + RECORD_ALLOWANCE


def check_record_limits(config: ReceiverConfig, limits: RecordLimits) -> int:
    """The largest record the receiver may produce: the topic's max.message.bytes or the
    producer's max_request_size, the smaller. Raises ReceiverConfigError, naming the setting to
    change, when a body of `config.max_body_bytes` could make a larger record."""
    by_topic = limits.max_batch_bytes
    most = min(by_topic, config.max_request_bytes)
    needed = largest_record_bytes(config.max_body_bytes)
    if needed <= most:
        return most
    topic = (
        f"{limits.topic} takes {by_topic:,} (its max.message.bytes"
        + ("" if limits.topic_overridden else ", the broker's message.max.bytes")
        + ")"
    )
    producer = (
        f"the receiver's producer sends {config.max_request_bytes:,} "
        "(COBRANCA_WEBHOOK_MAX_REQUEST_BYTES)"
    )
    to_raise = [
        setting
        for setting, bound in (
            (limits.setting(), by_topic),
            ("COBRANCA_WEBHOOK_MAX_REQUEST_BYTES", config.max_request_bytes),
        )
        if bound < needed
    ]
    body = most - (needed - config.max_body_bytes)
    lower = f"set COBRANCA_WEBHOOK_MAX_BODY_BYTES to {body:,} or less, or " if body > 0 else ""
    raise ReceiverConfigError(
        f"COBRANCA_WEBHOOK_MAX_BODY_BYTES={config.max_body_bytes:,} allows records of up to "
        f"{needed:,} bytes (the body, {len(KEPT_HEADERS)} kept headers of up to "
        f"{MAX_HEADER_BYTES:,} bytes, the event around them), but Kafka stores at most "
        f"{most:,} bytes per webhook record: {topic} and {producer}. Such a webhook would be "
        f"refused after it was accepted: {lower}raise {' and '.join(to_raise)} to "
        f"{needed:,} or more"
    )


def _kept_headers(request: web.BaseRequest) -> tuple[dict[str, str], str | None]:
    """The headers in KEPT_HEADERS, names lowercased, a repeated header's values joined with
    ', ' (RFC 9110); and the name of the first one longer than MAX_HEADER_BYTES, if any."""
    out: dict[str, str] = {}
    headers = request.headers
    for name in KEPT_HEADERS:
        values = headers.getall(name, ())
        if not values:
            continue
        value = values[0] if len(values) == 1 else ", ".join(values)
        if len(value) > MAX_HEADER_BYTES // 4 and len(value.encode()) > MAX_HEADER_BYTES:
            return out, name
        out[name] = value
    return out, None


# --- the HTTP side ------------------------------------------------------------------------


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "cobranca_webhook_requests",
            "Webhook requests by outcome (stored, too_large, unsigned, header_too_large, "
            "bad_request, unknown_session, bad_signature, unavailable).",
            ["outcome"],
            registry=registry,
        )
        self.stored = self.requests.labels("stored")
        self.requests.labels("unavailable")  # at 0 from the start: the 503 alert's increase()
        self.latency = Histogram(
            "cobranca_webhook_request_seconds",
            "Time from reading a webhook request to answering it.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )


class Receiver:
    """The request handlers, over a session directory and a callback store."""

    def __init__(
        self,
        owners: SessionOwners,
        store: CallbackStore,
        config: ReceiverConfig,
        *,
        record_bytes: RecordBytes,
        env: Mapping[str, str] | None = None,
        ready: Callable[[], bool] = lambda: True,
        registry: CollectorRegistry | None = None,
        max_record_bytes: int | None = None,
    ) -> None:
        self.owners = owners
        self.store = store
        self.config = config
        self.record_bytes = record_bytes
        self.max_record_bytes = (
            config.max_request_bytes if max_record_bytes is None else max_record_bytes
        )
        """Larger records get 413 before they are produced (what the topic stores, read at
        start by streams/ops/waha_receiver.py)."""
        # Sessions that cannot be checked are checked against a key no one has: the answer and
        # the work are those of a wrong signature, so they cannot be told apart.
        self._decoy_key = os.urandom(64)
        self.env = os.environ if env is None else env
        self.ready = ready
        self.registry = registry or CollectorRegistry()
        self.metrics = _Metrics(self.registry)

    def _refuse(
        self, status: int, outcome: str, message: str, **log_fields: object
    ) -> web.Response:
        self.metrics.requests.labels(outcome).inc()
        log.info("webhook_refused", status=status, outcome=outcome, **log_fields)
        return web.json_response({"error": message}, status=status)

    async def webhook(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            return await self._webhook(request)
        finally:
            self.metrics.latency.observe(time.perf_counter() - started)

    async def _webhook(self, request: web.Request) -> web.Response:
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return self._too_large(request.content_length)
        try:
            # client_max_size (create_app) makes aiohttp stop reading past the limit.
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(None)
        received_at = datetime.now(UTC)
        if not request.headers.get(SIGNATURE_HEADER, "").strip():
            return self._refuse(
                401,
                "unsigned",
                f"no {SIGNATURE_HEADER} header: configure the session's webhook with "
                '"hmac": {"key": ...} (or WHATSAPP_HOOK_HMAC_KEY)',
            )
        headers, too_long = _kept_headers(request)
        if too_long is not None:
            name = _HEADER_NAMES[too_long]
            return self._refuse(
                431,
                "header_too_large",
                f"the {name} header is longer than the {MAX_HEADER_BYTES:,} bytes a webhook's "
                f"{name} may have",
                header=name,
            )
        try:
            envelope = decode_envelope_head(body, source="request body")
        except WahaWireError as exc:
            return self._refuse(400, "bad_request", str(exc), path=exc.path)
        config = self.owners.owner_of(envelope.session)
        if config is None and not self.ready():
            # The tenants are still being read: the session may be one of them. WAHA retries.
            self.metrics.requests.labels("unavailable").inc()
            return web.json_response(
                {"error": "starting: the tenant configurations are not read yet; retry later"},
                status=503,
                headers={"Retry-After": "2"},
            )
        if config is None:
            # Not 404: that would tell a prober which session names exist (issue 18 §5).
            return self._not_checked(body, request, "unknown_session", session=envelope.session)
        key, where = hmac_key_for(config, envelope.session, self.env, self.config.default_hmac_key)
        if key is None:
            log.error(
                "webhook_key_missing",
                session=envelope.session,
                tenant=config.tenant_id,
                hint=f"set {where} in the receiver's environment",
            )
            return self._not_checked(
                body, request, "bad_signature", session=envelope.session, key_missing=where
            )
        try:
            check_signature(key, body, request.headers)
        except InvalidSignature as exc:
            return self._refuse(401, "bad_signature", str(exc), session=envelope.session)
        datum = callback_datum(
            tenant=config.tenant_id,
            envelope=envelope,
            body=body,
            headers=headers,
            received_at=received_at,
            remote=request.remote,
        )
        value = encode_callback(datum)
        key = callback_key(config.tenant_id, envelope).encode()
        size = self.record_bytes(key, value)
        if size > self.max_record_bytes:
            return self._refuse(
                413,
                "too_large",
                f"this webhook makes a record of {size:,} bytes (the body, its kept headers, "
                f"its envelope's id and session stored with it), more than the "
                f"{self.max_record_bytes:,} bytes Kafka stores for a webhook",
                session=envelope.session,
                record_bytes=size,
            )
        try:
            lane = lane_of(envelope.event)
            await self.store.send(key, value, self.config.produce_timeout_s, lane)
        except RecordTooLarge as exc:
            # Refused by the broker for good (its limit went down since the start): retrying
            # cannot help, and the producer was renewed, so later webhooks are stored.
            return self._refuse(
                413,
                "too_large",
                f"Kafka refused this webhook's record of {size:,} bytes as too large; "
                "it was not stored",
                session=envelope.session,
                error=str(exc),
            )
        except (ProduceFailed, TimeoutError) as exc:
            # Never 2xx for something not stored: WAHA retries, the normalizer dedupes.
            self.metrics.requests.labels("unavailable").inc()
            log.warning("webhook_not_stored", session=envelope.session, error=repr(exc))
            return web.json_response(
                {"error": "not stored: Kafka did not acknowledge the callback; retry later"},
                status=503,
                headers={"Retry-After": "2"},
            )
        self.metrics.stored.inc()
        return web.Response(
            body=b'{"stored":"%s"}' % datum["header"]["event_id"].encode(),
            content_type="application/json",
        )

    def _not_checked(
        self, body: bytes, request: web.Request, outcome: str, **log_fields: object
    ) -> web.Response:
        """401 for a webhook whose signature cannot be checked (unknown session, missing key),
        with the answer a wrong signature gets for the same headers, after the same work."""
        try:
            check_signature(self._decoy_key, body, request.headers)
        except InvalidSignature as exc:
            return self._refuse(401, outcome, str(exc), **log_fields)
        raise AssertionError("a signature matched a random key")  # pragma: no cover

    def _too_large(self, length: int | None) -> web.Response:
        size = f"{length} bytes" if length is not None else "the body"
        return self._refuse(
            413,
            "too_large",
            f"{size} exceeds the limit of {self.config.max_body_bytes} bytes "
            "(COBRANCA_WEBHOOK_MAX_BODY_BYTES)",
        )

    async def healthz(self, request: web.Request) -> web.Response:
        if self.ready():
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "starting"}, status=503)

    async def metrics_endpoint(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


#: How the kept headers are spelled in answers.
_HEADER_NAMES: Final = {
    "content-type": "Content-Type",
    SIGNATURE_HEADER.lower(): SIGNATURE_HEADER,
    ALGORITHM_HEADER.lower(): ALGORITHM_HEADER,
    "x-webhook-request-id": "X-Webhook-Request-Id",
    "x-webhook-timestamp": "X-Webhook-Timestamp",
}

#: Where `create_app` keeps its `Receiver` (for tests and the bench).
RECEIVER: Final = web.AppKey("waha_receiver", Receiver)


def create_app(
    owners: SessionOwners,
    store: CallbackStore,
    config: ReceiverConfig,
    *,
    record_bytes: RecordBytes,
    env: Mapping[str, str] | None = None,
    ready: Callable[[], bool] = lambda: True,
    on_startup: Callable[[web.Application], Awaitable[None]] | None = None,
    on_cleanup: Callable[[web.Application], Awaitable[None]] | None = None,
    max_record_bytes: int | None = None,
) -> web.Application:
    """The aiohttp application: the webhook, `/healthz` and `/metrics`.

    `record_bytes` counts a record's bytes as Kafka does; `max_record_bytes` is the largest
    record the store takes (streams/ops/waha_receiver.py reads it from Kafka), by default the
    producer's max_request_size.
    """
    receiver = Receiver(
        owners,
        store,
        config,
        record_bytes=record_bytes,
        env=env,
        ready=ready,
        max_record_bytes=max_record_bytes,
    )
    # aiohttp refuses to read a body past client_max_size (413): the bounded read.
    app = web.Application(client_max_size=config.max_body_bytes)
    app[RECEIVER] = receiver
    app.router.add_post(PATH, receiver.webhook)
    app.router.add_get("/healthz", receiver.healthz)
    app.router.add_get("/metrics", receiver.metrics_endpoint)
    if on_startup is not None:
        app.on_startup.append(on_startup)
    if on_cleanup is not None:
        app.on_cleanup.append(on_cleanup)
    return app
