"""Debtor imports over HTTP: the import jobs behind ``POST /v1/tenants/{tenant}/imports`` and
``GET /v1/tenants/{tenant}/imports/{import_id}`` of the API (`connectors/api/routes/imports.py`,
served by `cobranca api serve`, which authenticates and authorizes each request first;
docs/adr/0009-http-imports.md has the why).

- `receive_import`: the request's body is parsed while it arrives, by the same importer as
  ``cobranca import`` (`importer.import_rows` + `importer.send_import`) in a worker thread fed by
  `body.BodyPipe` (``?format=csv|ndjson|json|xlsx|xls|ods``, ``&import_id=X``,
  ``&allow_landlines=1``): every row ends as ClientImported or ImportRejected, then one
  ImportCompleted. The answer comes once the whole body was read (HTTP/1.1 cannot answer a
  request still being sent): 202 with the import id, a ``Location`` to poll and the status so
  far; ``state`` is ``running`` until ImportCompleted is acknowledged by Kafka, then
  ``completed``.
- `import_status`: the status (``state`` running, completed, incomplete (the body stopped
  first: ADR 0017) or failed; ``rows``, ``accepted``, ``rejected``, ``by_reason``; ``error``
  when it did not complete, in the API's one error shape ``{"code", "message", "details"}``).

Refusals, in the API's one error shape: 404 unknown import, 409 that import id is running, 413
body over the limit, 415 unknown format, 400 a body that cannot be imported (what, where, why),
408 a body sent slower than the minimum rate, 429 too many imports running (in total or of the
tenant; with Retry-After), 503 Kafka did not store the events (the import is failed: no
ImportCompleted).

Metrics (`ImportMetrics`, on the registry the API serves at ``GET /metrics``): imports by
final state and rows stored by reason, counted here once per import; answers of the import
routes by status, counted by the API (ADR 0020).

Statuses live in this process's memory (the latest `max_statuses`); the log stays the truth: an
import is complete exactly when its ImportCompleted is on ``cobranca.clients``.

What the jobs need from the runtime are two ports: `EventStore`, where each import's events go
and which failures mean they were not stored, and `TenantImportSettings`, what the tenant's
configuration says about its imports (``imports.require_document``: rows without CPF/CNPJ are
`missing_field`; asked once per import, after the store opened). `streams/ops/imports_server.py`
has the Kafka ones; `streams/ops/api_server.py` gives them to the API.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
import uuid
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Final, Protocol, cast

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client import Counter as MetricCounter

from connectors.imports.body import BodyPipe, UploadTooSlow
from connectors.imports.errors import (
    BodyTooLarge,
    InvalidImportParameter,
    RequestRefused,
    TooManyClients,
    UnreadableSource,
    UploadCut,
)
from connectors.imports.formats import Format
from connectors.imports.importer import (
    EventSink,
    ImportRun,
    ImportSummary,
    import_rows,
    send_import,
)
from connectors.imports.uploads import declared_size, format_of
from streams.base.errors import CobrancaError

__all__ = [
    "EventStore",
    "ImportJob",
    "ImportMetrics",
    "ImportService",
    "ServiceSettings",
    "TenantImportSettings",
    "import_status",
    "receive_import",
]

log = structlog.get_logger("cobranca.imports.http")

DEFAULT_MAX_BYTES: Final = 1024**3
SOURCE_NAME: Final = "request body"
_TRUE: Final = frozenset({"1", "true", "yes", "sim"})


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """The HTTP imports' own settings, from the environment (defaults for a developer box); the
    address, port and credentials are the API's (`connectors/api/settings.py`)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest body accepted, in bytes (COBRANCA_IMPORTS_MAX_BYTES); larger ones get 413."""
    max_running: int = 4
    """Imports running at once (COBRANCA_IMPORTS_MAX_RUNNING), each in its own thread; more
    get 429."""
    max_running_per_tenant: int = 2
    """Imports of one tenant running at once (COBRANCA_IMPORTS_MAX_RUNNING_PER_TENANT); more
    get 429, so one tenant cannot hold every slot."""
    min_upload_rate: int = 8_192
    """Bytes a second a body must arrive at, over each `rate_window_s` spent waiting for it
    (COBRANCA_IMPORTS_MIN_UPLOAD_RATE; 0 turns it off); slower uploads end with 408."""
    rate_window_s: float = 30.0
    """Seconds of waiting for the client over which `min_upload_rate` is measured."""
    retry_after_s: int = 30
    """The Retry-After of a 429 (COBRANCA_IMPORTS_RETRY_AFTER_S)."""
    max_statuses: int = 10_000
    """Statuses kept in memory for GET; the oldest finished ones are forgotten first."""
    idle_timeout_s: float = 300.0
    """A client silent this long in the middle of a body fails its import."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ServiceSettings:
        env = dict(os.environ if env is None else env)
        return cls(
            max_bytes=int(env.get("COBRANCA_IMPORTS_MAX_BYTES") or DEFAULT_MAX_BYTES),
            max_running=int(env.get("COBRANCA_IMPORTS_MAX_RUNNING") or 4),
            max_running_per_tenant=int(env.get("COBRANCA_IMPORTS_MAX_RUNNING_PER_TENANT") or 2),
            min_upload_rate=int(env.get("COBRANCA_IMPORTS_MIN_UPLOAD_RATE") or 8_192),
            retry_after_s=int(env.get("COBRANCA_IMPORTS_RETRY_AFTER_S") or 30),
        )


class EventStore(Protocol):
    """Where HTTP imports store their events: Kafka in production (`KafkaEventStore` in
    `streams/ops/imports_server.py`)."""

    def open(self) -> AbstractAsyncContextManager[EventSink]:
        """A sink for one import, started on entering (so an import fails before its body is
        read when the store is down) and stopped on leaving."""
        ...

    def unavailable(self, exc: BaseException) -> bool:
        """Whether `exc` is the store not storing events (the import answers 503)."""
        ...


class TenantImportSettings(Protocol):
    """What a tenant's configuration says about its imports: the tenants topic in production
    (`KafkaTenantImportSettings` in `streams/ops/imports_server.py`)."""

    async def require_document(self, tenant: str) -> bool:
        """Whether rows without CPF/CNPJ are rejected (``imports.require_document``); False for
        a tenant with no configuration. A failure to read counts as the store's
        (`EventStore.unavailable` says whether it is 503)."""
        ...


class _DocumentOptional:
    """`TenantImportSettings` of a server with no tenant configurations: the default, the
    document optional for every tenant."""

    async def require_document(self, tenant: str) -> bool:
        return False


def _error_of(exc: BaseException, store: EventStore) -> tuple[int, str]:
    """HTTP status and error code for what ended an import."""
    if isinstance(exc, UnreadableSource | InvalidImportParameter):
        return 400, "unreadable_body" if isinstance(exc, UnreadableSource) else "bad_parameter"
    if isinstance(exc, UploadTooSlow):
        return 408, "upload_too_slow"
    if isinstance(exc, UploadCut):
        return 400, "upload_incomplete"
    if isinstance(exc, BodyTooLarge):
        return 413, "body_too_large"
    if isinstance(exc, TooManyClients):
        return 413, "too_many_clients"
    if store.unavailable(exc):
        return 503, "kafka_unavailable"
    return 500, "internal_error"


@dataclass(eq=False)
class ImportJob:
    """One import received over HTTP: its state, counts, and the signals its handler waits on."""

    tenant_id: str
    import_id: str
    requested_format: Format | None
    loop: asyncio.AbstractEventLoop
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    state: str = "running"
    finished_at: datetime | None = None
    error: dict[str, Any] | None = None
    """Why it did not complete, in the API's error shape: ``{"code", "message", "details"}``."""
    http_status: int | None = None
    """The HTTP status the POST answers when the import ended before its body was read."""
    failure: BaseException | None = None
    run: ImportRun | None = None
    summary: ImportSummary | None = None
    pipe: BodyPipe | None = None
    opened: asyncio.Future[None] = field(init=False)
    """Done when the body's head was checked (or the import failed before that)."""
    body_read: asyncio.Future[None] = field(init=False)
    """Done when the whole body was read (or the import ended before that)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.opened = self.loop.create_future()
        self.body_read = self.loop.create_future()

    # -- called from the worker thread ------------------------------------------------------

    def _signal(self, *futures: asyncio.Future[None]) -> None:
        def settle() -> None:
            for future in futures:
                if not future.done():
                    future.set_result(None)

        self.loop.call_soon_threadsafe(settle)

    def mark_opened(self, run: ImportRun) -> None:
        with self._lock:
            self.run = run
        self._signal(self.opened)

    def mark_body_read(self) -> None:
        self._signal(self.body_read)

    def finish(self, summary: ImportSummary) -> None:
        with self._lock:
            self.summary = summary
            self.state = "completed"
            self.finished_at = datetime.now(UTC)
        self._signal(self.opened, self.body_read)

    def fail(self, exc: BaseException, status: int, code: str) -> None:
        """The import ended with `exc`, answered with HTTP `status` and error `code`."""
        with self._lock:
            # The source stopped, and what was read before is stored and answered by an
            # ImportCompleted marked incomplete (ADR 0017); else nothing completes it.
            self.state = "incomplete" if self.run is not None and self.run.incomplete else "failed"
            self.failure = exc
            self.finished_at = datetime.now(UTC)
            details: dict[str, Any] = {}
            if isinstance(exc, UnreadableSource):
                details = {"source": exc.source}
                if exc.line is not None:
                    details["line"] = exc.line
            self.error = {"code": code, "message": str(exc), "details": details}
            self.http_status = status
        self._signal(self.opened, self.body_read)

    # -- read from the loop -----------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.state != "running"

    @property
    def location(self) -> str:
        return f"/v1/tenants/{self.tenant_id}/imports/{self.import_id}"

    def status(self) -> dict[str, Any]:
        """The JSON the GET answers: the counts of the rows stored (acknowledged by Kafka)
        so far, final once completed or incomplete; `rows_read` the rows read so far."""
        with self._lock:
            counts = self.summary or (self.run.stored if self.run is not None else None)
            done = (
                counts.as_dict()
                if counts is not None
                else {"rows": 0, "accepted": 0, "rejected": 0, "by_reason": {}}
            )
            done["rows_read"] = self.run.summary.rows if self.run is not None else 0
            fmt = self.run.format.value if self.run is not None else self.requested_format
            return {
                "import_id": self.import_id,
                "tenant": self.tenant_id,
                "state": self.state,
                "format": fmt,
                **done,
                "bytes_received": self.pipe.received if self.pipe is not None else 0,
                "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "error": (
                    {**self.error, "details": dict(self.error["details"])} if self.error else None
                ),
            }


class ImportMetrics:
    """What HTTP imports count: each import once when it ends (nothing per row); the API counts
    the answers of its import routes into `requests`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.imports = MetricCounter(
            "cobranca_imports",
            "HTTP imports that ended, by state (completed, incomplete, failed).",
            ["state"],
            registry=registry,
        )
        self.requests = MetricCounter(
            "cobranca_import_requests",
            "HTTP requests of the API's import routes, by status code (503: Kafka did not "
            "store an import's events; 429: too many imports running).",
            ["status"],
            registry=registry,
        )
        self.requests.labels("503")  # at 0 from the start, for increase()
        self.rows = MetricCounter(
            "cobranca_import_rows",
            "Rows of HTTP imports that Kafka stored, by reason: `accepted` (ClientImported) or "
            "the rejection reason (ImportRejected).",
            ["reason"],
            registry=registry,
        )

    def ended(self, state: str, stored: ImportSummary | None) -> None:
        self.imports.labels(state).inc()
        if stored is None:
            return
        if stored.accepted:
            self.rows.labels("accepted").inc(stored.accepted)
        for reason, count in stored.by_reason.items():
            self.rows.labels(reason).inc(count)


class ImportService:
    """Runs HTTP imports: the jobs in threads, their statuses."""

    def __init__(
        self,
        service: ServiceSettings,
        store: EventStore,
        tenants: TenantImportSettings | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.service = service
        self.registry = CollectorRegistry() if registry is None else registry
        self.metrics = ImportMetrics(self.registry)
        self._store = store
        self._tenants = tenants or _DocumentOptional()
        self._executor = ThreadPoolExecutor(
            max_workers=service.max_running, thread_name_prefix="import"
        )
        self._jobs: OrderedDict[tuple[str, str], ImportJob] = OrderedDict()
        self._running = 0
        self._by_tenant: Counter[str] = Counter()

    @property
    def running(self) -> int:
        """Imports running now (each holds a thread)."""
        return self._running

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- jobs -------------------------------------------------------------------------------

    def job(self, tenant: str, import_id: str) -> ImportJob | None:
        return self._jobs.get((tenant, import_id))

    def _remember(self, job: ImportJob) -> None:
        key = (job.tenant_id, job.import_id)
        self._jobs.pop(key, None)
        self._jobs[key] = job
        while len(self._jobs) > self.service.max_statuses:
            oldest = next((k for k, j in self._jobs.items() if j.finished), None)
            if oldest is None:
                break
            del self._jobs[oldest]

    def _run(self, job: ImportJob, pipe: BodyPipe, allow_landlines: bool) -> None:
        """The worker thread: the same import as `cobranca import`, from the request body."""
        began = time.perf_counter()

        async def send() -> ImportSummary:
            # Kafka first: when it is down the import fails before reading the body, and the
            # client gets 503 at once instead of a 202 for events that cannot be stored.
            async with self._store.open() as sink:
                require_document = await self._tenants.require_document(job.tenant_id)
                run = import_rows(
                    cast(IO[bytes], pipe),  # a RawIOBase: read() and readinto() are all it uses
                    tenant_id=job.tenant_id,
                    import_id=job.import_id,
                    fmt=job.requested_format,
                    allow_landlines=allow_landlines,
                    name=SOURCE_NAME,
                    require_document=require_document,
                )
                job.mark_opened(run)
                return await send_import(run, sink)

        try:
            summary = asyncio.run(send())
        except Exception as exc:  # every failure becomes the job's status, never a lost thread
            job.fail(exc, *_error_of(exc, self._store))
            self.metrics.ended(job.state, job.run.stored if job.run is not None else None)
            level = log.warning if isinstance(exc, CobrancaError) else log.exception
            level(
                f"import {job.state}",
                tenant=job.tenant_id,
                import_id=job.import_id,
                error=str(exc),
                rows_read=job.run.summary.rows if job.run is not None else 0,
                rows_stored=job.run.stored.rows if job.run is not None else 0,
            )
            return
        job.finish(summary)
        self.metrics.ended(job.state, summary)
        log.info(
            "import completed",
            tenant=job.tenant_id,
            import_id=job.import_id,
            seconds=round(time.perf_counter() - began, 3),
            **summary.as_dict(),
        )

    async def start(
        self, request: web.Request, tenant: str, fmt: Format | None, import_id: str | None
    ) -> ImportJob:
        """Start an import of `request`'s body; returns once its head was checked."""
        running = self.job(tenant, import_id) if import_id is not None else None
        if running is not None and not running.finished:
            raise RequestRefused(
                409,
                "import_running",
                f"import {import_id} of tenant {tenant!r} is still running; wait for it "
                f"to finish ({running.location})",
            )
        retry = {"Retry-After": str(self.service.retry_after_s)}
        if self._by_tenant[tenant] >= self.service.max_running_per_tenant:
            raise RequestRefused(
                429,
                "too_many_imports_for_tenant",
                f"{self._by_tenant[tenant]} imports of tenant {tenant!r} are running, the most "
                "one tenant runs at once (COBRANCA_IMPORTS_MAX_RUNNING_PER_TENANT); retry "
                f"after {self.service.retry_after_s} s",
                headers=retry,
            )
        if self._running >= self.service.max_running:
            raise RequestRefused(
                429,
                "too_many_imports",
                f"{self._running} imports are running, the most this server runs at once "
                f"(COBRANCA_IMPORTS_MAX_RUNNING); retry after {self.service.retry_after_s} s",
                headers=retry,
            )
        loop = asyncio.get_running_loop()
        job = ImportJob(tenant, import_id or str(uuid.uuid4()), fmt, loop)
        pipe = BodyPipe(
            request.content.read,
            loop,
            limit=self.service.max_bytes,
            idle_timeout_s=self.service.idle_timeout_s,
            min_rate=self.service.min_upload_rate,
            rate_window_s=self.service.rate_window_s,
            on_end=job.mark_body_read,
        )
        job.pipe = pipe
        allow_landlines = request.query.get("allow_landlines", "").lower() in _TRUE
        self._running += 1
        self._by_tenant[tenant] += 1
        worker = loop.run_in_executor(self._executor, self._run, job, pipe, allow_landlines)
        worker.add_done_callback(functools.partial(self._done, tenant))
        self._remember(job)
        await job.opened
        return job

    def _done(self, tenant: str, _: asyncio.Future[None]) -> None:
        self._running -= 1
        self._by_tenant[tenant] -= 1
        if not self._by_tenant[tenant]:
            del self._by_tenant[tenant]


async def receive_import(
    service: ImportService, request: web.Request, tenant: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Read an authorized import request's body into the log: the status, JSON body and headers
    to answer with (202 and the import's status, or the error that ended it early, in the one
    error shape with the import id and its status in ``details``)."""
    size = declared_size(request.headers.get("Content-Length"))
    if size is not None and size > service.service.max_bytes:
        raise BodyTooLarge(service.service.max_bytes)
    fmt = format_of(request.headers.get("Content-Type"), request.query.get("format"))
    job = await service.start(request, tenant, fmt, request.query.get("import_id"))
    await job.body_read
    if job.finished and job.error is not None and job.http_status is not None:
        details = {**job.error["details"], "import_id": job.import_id, "status": job.status()}
        error = {"code": job.error["code"], "message": job.error["message"], "details": details}
        return job.http_status, {"error": error}, {}
    return 202, job.status(), {"Location": job.location}


def import_status(service: ImportService, tenant: str, import_id: str) -> dict[str, Any]:
    """An import's status, or RequestRefused 404 when this server does not know it."""
    job = service.job(tenant, import_id)
    if job is None:
        raise RequestRefused(
            404,
            "unknown_import",
            f"no import {import_id!r} of tenant {tenant!r} on this server (statuses are kept "
            "in memory; the log has every ImportCompleted)",
        )
    return job.status()
