"""Imports: read a source, validate every row, and answer each with one event.

`import_rows` opens the source (every whole-file problem is raised here, before any event
exists) and returns an `ImportRun`: iterating it yields, in source order, one `ClientImported`
or `ImportRejected` per row read, then exactly one `ImportCompleted` whose counts are those
rows: ``accepted + rejected == rows`` by construction. Two ways to consume a run:

- `dry_run`: count, and hand each event to a callback (the rejects file), no Kafka;
- `send_import`: the same, sending through an `EventSink` (the `EventProducer`) in batches,
  a few in flight while the next is built; `ImportCompleted` is sent alone after every row's
  event is acknowledged by every in-sync replica, so whoever reads it can trust that every row
  of the import is already in the log.

Events. Header `tenant_id` is the tenant, `correlation_id` the import id, `causation_id` None
(a file is not an event), `source` ``"connectors.imports"``. Event ids are UUID5s of
(tenant, import id, row), and of (tenant, import id, "completed"): importing the same file
again under the same import id (``--import-id`` after a failure) yields the same ids, so a
consumer that deduplicates on `event_id` sees each row once.

Kafka keys, all on `cobranca.clients` (whose catalogue key is ``tenant_id:client_id``):

- `ClientImported`: ``tenant_id:client_id``: every version of a client, from every import, in
  one partition and in order; a later import's row is the newer version.
- `ImportRejected` and `ImportCompleted`: ``tenant_id:import_id``. A rejected row did not
  become a client (its client_id may be missing or be the problem), so it belongs to the
  import; and with the completion in the same partition, a consumer tracking an import sees
  all its rejections before its completion.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Final, Protocol

from connectors.imports.errors import InvalidImportParameter, UnreadableSource
from connectors.imports.formats import Format, RowSource, SourceRow
from connectors.imports.validation import ClientFields, Rejection, RowValidator, check_columns
from schemas.events import (
    ClientImported,
    DocumentKind,
    Event,
    EventHeader,
    ImportCompleted,
    ImportRejected,
    new_header,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_IN_FLIGHT",
    "SOURCE",
    "EventSink",
    "ImportEvent",
    "ImportRun",
    "ImportSummary",
    "dry_run",
    "import_rows",
    "key_for",
    "send_import",
]

SOURCE: Final = "connectors.imports"
#: Events per `send_many` call: large enough to amortize the wait for acks, small enough that
#: a failure leaves little in flight.
DEFAULT_BATCH_SIZE: Final = 5_000
#: Batches being stored while the next one is built (see `send_import`).
DEFAULT_IN_FLIGHT: Final = 2
# Fixed namespace of the derived event ids (never change it: replays would get new ids).
_EVENT_IDS: Final = uuid.UUID("2b0f6a8e-5d4c-4f7e-9c41-6e1d3a9b8c27")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")

ImportEvent = ClientImported | ImportRejected | ImportCompleted
_EVENT_ID_HASH: Final = hashlib.sha1(_EVENT_IDS.bytes, usedforsecurity=False)


def _event_id(name: str) -> str:
    """``str(uuid.uuid5(_EVENT_IDS, name))``, without building a UUID object per row (the
    standard library's takes ~10 µs, most of a row's id); a test pins the equality."""
    digest = _EVENT_ID_HASH.copy()
    digest.update(name.encode("utf-8"))
    raw = bytearray(digest.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class EventSink(Protocol):
    """Where `send_import` puts events: `streams.producer.EventProducer` in production."""

    def send_many(self, events: Iterable[tuple[Event, str]]) -> Awaitable[int]:
        """Store the batch (event, key) and return once every event is acknowledged."""
        ...


@dataclass(slots=True)
class ImportSummary:
    """The counts of an import so far; final once `ImportCompleted` was produced."""

    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        """The summary the command prints: ``{"rows", "accepted", "rejected", "by_reason"}``."""
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "by_reason": dict(sorted(self.by_reason.items())),
        }


def _check_id(kind: str, value: str) -> str:
    if not _ID.fullmatch(value):
        raise InvalidImportParameter(
            f"{kind} {value!r} is not usable: it goes into Kafka keys as `{kind}:...`, so use "
            "1-128 letters, digits, '.', '_', '@' or '-' (no ':' or spaces), starting with a "
            "letter or digit"
        )
    return value


def key_for(event: ImportEvent) -> str:
    """The Kafka key of an import event (see the module docstring)."""
    tenant = event.header.tenant_id
    if isinstance(event, ClientImported):
        return f"{tenant}:{event.client_id}"
    return f"{tenant}:{event.import_id}"


class ImportRun:
    """One import of one opened source: iterate it once for its events."""

    def __init__(
        self,
        source: RowSource,
        *,
        tenant_id: str,
        import_id: str,
        allow_landlines: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self.source = source
        self.tenant_id = tenant_id
        self.import_id = import_id
        self.allow_landlines = allow_landlines
        self.summary = ImportSummary()
        self._clock = clock
        self._used = False

    @property
    def format(self) -> Format:
        return self.source.format

    def __iter__(self) -> Iterator[ImportEvent]:
        if self._used:
            raise RuntimeError(f"import {self.import_id} was already read; start a new one")
        self._used = True
        return self._events()

    def _events(self) -> Iterator[ImportEvent]:
        validator = RowValidator(allow_landlines=self.allow_landlines)
        summary = self.summary
        for row in self.source:
            if row.rejection is not None or row.values is None:
                outcome: ClientFields | Rejection | None = row.rejection
            else:
                outcome = validator.validate(row.row, row.values)
            summary.rows += 1
            if isinstance(outcome, ClientFields):
                summary.accepted += 1
                yield self._accepted(outcome)
            else:
                assert outcome is not None
                summary.rejected += 1
                summary.by_reason[outcome.reason.value] += 1
                yield self._rejected(outcome, row)
        yield ImportCompleted(
            header=self._header("ImportCompleted", "completed"),
            import_id=self.import_id,
            rows=summary.rows,
            accepted=summary.accepted,
            rejected=summary.rejected,
            by_reason=dict(sorted(summary.by_reason.items())),
        )

    def _header(self, event_type: str, position: str) -> EventHeader:
        name = f"{self.tenant_id}|{self.import_id}|{position}"
        return new_header(
            event_type,
            tenant_id=self.tenant_id,
            correlation_id=self.import_id,
            causation_id=None,
            source=SOURCE,
            occurred_at=self._clock(),
            event_id=_event_id(name),
        )

    def _accepted(self, fields: ClientFields) -> ClientImported:
        return ClientImported(
            header=self._header("ClientImported", str(fields.row)),
            import_id=self.import_id,
            row=fields.row,
            client_id=fields.client_id,
            name=fields.name,
            phone_e164=fields.phone_e164,
            document=fields.document,
            document_kind=DocumentKind(fields.document_kind),
            amount_centavos=fields.amount_centavos,
            due_date=fields.due_date,
            invoice_id=fields.invoice_id,
            description=fields.description,
            email=fields.email,
            uf=fields.uf,
            pix_code=fields.pix_code,
            boleto_line=fields.boleto_line,
            payment_url=fields.payment_url,
        )

    def _rejected(self, rejection: Rejection, row: SourceRow) -> ImportRejected:
        return ImportRejected(
            header=self._header("ImportRejected", str(rejection.row)),
            import_id=self.import_id,
            row=rejection.row,
            reason=rejection.reason.value,
            message=rejection.message,
            field=rejection.field,
            raw_row=row.raw.rstrip("\r\n") or None,
        )


def import_rows(
    stream: IO[bytes],
    *,
    tenant_id: str,
    import_id: str | None = None,
    fmt: Format | None = None,
    allow_landlines: bool = False,
    name: str = "<stream>",
    clock: Callable[[], datetime] | None = None,
) -> ImportRun:
    """Open `stream` for an import; raises `UnreadableSource` for whole-file problems.

    Nothing is read past the head (and a CSV's header line) until the run is iterated.
    `name` (the file name) goes into error messages.
    """
    _check_id("tenant_id", tenant_id)
    _check_id("import_id", import_id := import_id or str(uuid.uuid4()))
    source = RowSource(stream, fmt, name=name)
    if source.columns is not None:
        columns = check_columns(source.columns)
        if not columns.ok:
            raise UnreadableSource(
                f"the header cannot be imported: {columns.explain()}",
                source=name,
                line=source.header_line,
            )
    return ImportRun(
        source,
        tenant_id=tenant_id,
        import_id=import_id,
        allow_landlines=allow_landlines,
        clock=clock or (lambda: datetime.now(UTC)),
    )


def dry_run(
    run: ImportRun, *, on_event: Callable[[ImportEvent], None] | None = None
) -> ImportSummary:
    """Produce every event of the run without Kafka; return the final counts."""
    for event in run:
        if on_event is not None:
            on_event(event)
    return run.summary


async def send_import(
    run: ImportRun,
    sink: EventSink,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    in_flight: int = DEFAULT_IN_FLIGHT,
    on_event: Callable[[ImportEvent], None] | None = None,
) -> ImportSummary:
    """Send every event of the run through `sink` in batches; ImportCompleted last, alone.

    Up to `in_flight` batches are being stored at once: the next batch is read, validated and
    encoded while Kafka acknowledges the previous ones. ImportCompleted is sent only after every
    row batch was acknowledged; the first batch that fails stops the import (the batches still
    in flight are abandoned) and raises, so there is no ImportCompleted.
    """
    pending: deque[asyncio.Task[int]] = deque()

    def submit(events: list[tuple[Event, str]]) -> None:
        pending.append(asyncio.ensure_future(sink.send_many(events)))

    try:
        batch: list[tuple[Event, str]] = []
        for event in run:
            if on_event is not None:
                on_event(event)
            if isinstance(event, ImportCompleted):
                if batch:
                    submit(batch)
                    batch = []
                while pending:
                    await pending.popleft()
                await sink.send_many([(event, key_for(event))])
                break
            batch.append((event, key_for(event)))
            if len(batch) >= batch_size:
                submit(batch)
                batch = []
                while len(pending) >= in_flight:
                    await pending.popleft()
    finally:
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task
    return run.summary
