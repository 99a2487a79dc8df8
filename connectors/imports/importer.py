"""Imports: read a source, validate every row, and answer each with one event.

`import_rows` opens the source (every whole-file problem is raised here, before any event
exists) and returns an `ImportRun`: iterating it yields, in source order, one `ClientImported`
or `ImportRejected` per row read, then exactly one `ImportCompleted` whose counts are those
rows: ``accepted + rejected == rows`` by construction.

The rows' events are made once, as Kafka records: `ImportRun.batches` validates the rows and
writes their (key, value) bytes directly, a block at a time. A plain CSV block (most of a
spreadsheet export) goes column by column through `columnar`, which takes the rows whose
outcome is certain and an acceptance; every other row, and every row of JSON, NDJSON or CSV
with quotes, goes through `validation.RowValidator` one by one and `records.ImportRecords`.
Either way the bytes are the codec's, and every accepted row then passes the duplicate check
in row order. Everything consumes that one stream:

- `send_import`: sends the records through an `EventSink` (the `EventProducer`) in sends of
  about 20,000, a few in flight while the next is built; `ImportCompleted` is sent alone after
  every row's event is acknowledged by every in-sync replica, so whoever reads it can trust
  that every row of the import is already in the log;
- `dry_run`: the same without Kafka (validate, encode, count);
- iterating the run: the same events as typed records (decoded from those bytes), for code
  and tests that want `ClientImported` objects.

Both callers can watch the rejections (`on_rejection`: the rejects file) and the counts every
few thousand rows (`on_progress`: a progress bar).

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
import re
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Final, Protocol, cast

import numpy as np

from connectors.imports.columnar import BlockWriter
from connectors.imports.errors import (
    InvalidImportParameter,
    SourceInterrupted,
    TooManyClients,
    UnreadableSource,
)
from connectors.imports.formats import RAW_ROW_CHARS, Format, LineBlock, RowSource, SourceRow
from connectors.imports.records import SOURCE, ImportRecords, event_id
from connectors.imports.validation import ClientFields, Rejection, RowValidator, check_columns
from schemas.binary import epoch_millis
from schemas.codec import decode, encode
from schemas.events import (
    ClientImported,
    ImportCompleted,
    ImportRejected,
    new_header,
)
from streams.base.topics import topic_for_event

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_IN_FLIGHT",
    "SOURCE",
    "EventSink",
    "ImportEvent",
    "ImportRun",
    "ImportSummary",
    "Outcome",
    "dry_run",
    "import_rows",
    "key_for",
    "send_import",
    "send_records",
]

#: Records per `send_keyed` call: large enough to fill the producer's 512 KiB batches on
#: every partition and amortize the wait for acks, small enough that a failure leaves
#: little in flight (about 4 MB).
DEFAULT_BATCH_SIZE: Final = 20_000
#: Batches being stored while the next one is built (see `send_import`).
DEFAULT_IN_FLIGHT: Final = 2
#: Distinct accepted client ids one import holds: the duplicate table keeps each (24-byte
#: slots, at most half full), so 2,000,000 ids are a table of 2²² slots, 100 MB (150 MB while
#: it grows). Past it the import stops as incomplete (`TooManyClients`, ADR 0017).
MAX_CLIENTS_PER_IMPORT: Final = 2_000_000
#: Rows read one by one that make a batch; the clock is read once a batch (and once a CSV
#: block): `occurred_at` is the time of the rows around it, not a clock call per row.
_ROWS_PER_BATCH: Final = 1024
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
#: The topic of every import event (`cobranca.clients`).
TOPIC: Final = topic_for_event("ClientImported").name
assert topic_for_event("ImportRejected").name == topic_for_event("ImportCompleted").name == TOPIC

ImportEvent = ClientImported | ImportRejected | ImportCompleted
Outcome = ClientFields | Rejection
#: Kafka records of consecutive rows: (keys, values).
RecordBatch = tuple[list[bytes], list[bytes]]
_TYPED: Final = {cls._options.namespace: cls for cls in (ClientImported, ImportRejected)}


class EventSink(Protocol):
    """Where `send_import` puts records: the runtime's `EventProducer` in production."""

    def send_keyed(self, topic: str, keys: list[bytes], values: list[bytes]) -> Awaitable[int]:
        """Store `values[i]` under `keys[i]` on `topic`; return once every one is acknowledged."""
        ...


@dataclass(slots=True)
class ImportSummary:
    """The counts of an import so far; final once `ImportCompleted` was produced."""

    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)

    def copy(self) -> ImportSummary:
        return ImportSummary(self.rows, self.accepted, self.rejected, Counter(self.by_reason))

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
    """One import of one opened source: read it once, as records or as events."""

    def __init__(
        self,
        source: RowSource,
        *,
        tenant_id: str,
        import_id: str,
        allow_landlines: bool,
        clock: Callable[[], datetime],
        require_document: bool = False,
    ) -> None:
        self.source = source
        self.tenant_id = tenant_id
        self.import_id = import_id
        self.allow_landlines = allow_landlines
        self.require_document = require_document
        """Rows without CPF/CNPJ are `missing_field` (the tenant's ``imports.require_document``)."""
        self.summary = ImportSummary()
        """The rows read so far (validated and written as records)."""
        self.stored = ImportSummary()
        """The rows whose events Kafka acknowledged (`send_import`); `summary` once it ends."""
        self.incomplete = False
        """True once an ImportCompleted marked incomplete was stored (the source stopped)."""
        self.max_clients = MAX_CLIENTS_PER_IMPORT
        """Distinct accepted client ids after which the import stops (`TooManyClients`)."""
        self._clock = clock
        self._used = False

    @property
    def format(self) -> Format:
        return self.source.format

    def require_documents(self) -> None:
        """Reject rows without CPF/CNPJ (`missing_field`), as `import_rows(require_document=True)`
        would: for a tenant setting learnt after the source was opened (`cobranca import` checks
        the file before it asks Kafka). Raises `UnreadableSource` for a CSV header without a
        document column."""
        if self._used:
            raise RuntimeError(f"import {self.import_id} was already read; start a new one")
        _check_header(self.source, require_document=True)
        self.require_document = True

    def batches(
        self,
        on_rejection: Callable[[Rejection], None] | None = None,
        on_progress: Callable[[ImportSummary], None] | None = None,
    ) -> Iterator[RecordBatch]:
        """The (keys, values) of every row read, a block of rows at a time, in source order,
        counted in `summary`; `on_rejection` sees each rejection first, `on_progress` the
        summary after each block and at the end."""
        if self._used:
            raise RuntimeError(f"import {self.import_id} was already read; start a new one")
        self._used = True
        return _Reading(self, on_rejection).batches(on_progress)

    def records(
        self, on_rejection: Callable[[Rejection], None] | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """`batches`, record by record."""
        for keys, values in self.batches(on_rejection):
            yield from zip(keys, values, strict=True)

    def completion(self, *, incomplete: bool = False) -> ImportCompleted:
        """The ImportCompleted of the rows read so far (all of them, once `records` is done).

        An incomplete one (the source stopped first) has its own event id, from its row count:
        a later, whole import under the same id is not dropped as its duplicate."""
        summary = self.summary
        name = f"incomplete|{summary.rows}" if incomplete else "completed"
        header = new_header(
            "ImportCompleted",
            tenant_id=self.tenant_id,
            correlation_id=self.import_id,
            causation_id=None,
            source=SOURCE,
            occurred_at=self._clock(),
            event_id=event_id(f"{self.tenant_id}|{self.import_id}|{name}"),
        )
        return ImportCompleted(
            header=header,
            import_id=self.import_id,
            rows=summary.rows,
            accepted=summary.accepted,
            rejected=summary.rejected,
            by_reason=dict(sorted(summary.by_reason.items())),
            incomplete=incomplete,
        )

    def __iter__(self) -> Iterator[ImportEvent]:
        """The run's events as typed records: one per row (decoded from `records`), then the
        ImportCompleted."""
        for _, value in self.records():
            data = decode(value)
            yield _TYPED[data["__faust"]["ns"]].from_data(data)
        yield self.completion()


class _Reading:
    """One pass over an import's source: every row validated, counted and written."""

    def __init__(self, run: ImportRun, on_rejection: Callable[[Rejection], None] | None) -> None:
        self._run = run
        self._source = run.source
        self._summary = run.summary
        self._on_rejection = on_rejection
        self._validator = validator = RowValidator(
            allow_landlines=run.allow_landlines, require_document=run.require_document
        )
        self._writer = writer = ImportRecords(run.tenant_id, run.import_id)
        self._clock = run._clock
        columns = run.source.columns
        self._blocks: BlockWriter | None = None
        self._validate_cells: Callable[[int, Sequence[str]], Outcome] | None = None
        self._block_cells: Callable[[int, Sequence[str]], Outcome] | None = None
        if columns is not None:
            self._blocks = BlockWriter(
                writer,
                columns,
                allow_landlines=run.allow_landlines,
                require_document=run.require_document,
            )
            self._validate_cells = validator.for_columns(columns)
            self._block_cells = validator.for_columns(columns, duplicates=False)

    def batches(self, on_progress: Callable[[ImportSummary], None] | None) -> Iterator[RecordBatch]:
        rows: list[SourceRow] = []
        validator, limit = self._validator, self._run.max_clients
        try:
            for piece in self._source.pieces():
                # Checked before a piece is counted, so the rows read so far stay whole.
                if validator.accepted_ids >= limit:
                    raise TooManyClients(limit)
                if type(piece) is LineBlock:
                    if rows:
                        yield self._rows(rows)
                        rows = []
                    yield self._block(piece)
                else:
                    rows.append(cast(SourceRow, piece))
                    if len(rows) < _ROWS_PER_BATCH:
                        continue
                    yield self._rows(rows)
                    rows = []
                if on_progress is not None:
                    on_progress(self._summary)
        except SourceInterrupted:
            # The rows read before are whole (a cut line is never handed out): answer them.
            if rows:
                yield self._rows(rows)
            raise
        if rows:
            yield self._rows(rows)
        if on_progress is not None:
            on_progress(self._summary)

    def _rejected(self, rejection: Rejection) -> None:
        self._summary.rejected += 1
        self._summary.by_reason[rejection.reason.value] += 1
        if self._on_rejection is not None:
            self._on_rejection(rejection)

    def _rows(self, rows: list[SourceRow]) -> RecordBatch:
        """Rows read one by one (JSON, NDJSON, CSV that is not plain), validated alone."""
        millis = epoch_millis(self._clock())
        accepted, rejected = self._writer.accepted, self._writer.rejected
        summary = self._summary
        keys: list[bytes] = []
        values: list[bytes] = []
        for row in rows:
            if row.rejection is not None:
                outcome: Outcome = row.rejection
            elif row.cells is not None:
                assert self._validate_cells is not None
                outcome = self._validate_cells(row.row, row.cells)
            else:
                assert row.values is not None
                outcome = self._validator.validate(row.row, row.values)
            summary.rows += 1
            if type(outcome) is Rejection:
                self._rejected(outcome)
                key, value = rejected(outcome, row.raw, millis)
            else:
                assert type(outcome) is ClientFields
                summary.accepted += 1
                key, value = accepted(outcome, millis)
            keys.append(key)
            values.append(value)
        return keys, values

    def _block(self, block: LineBlock) -> RecordBatch:
        """A plain CSV block: the rows `columnar` takes, the others validated one by one, and
        then every accepted row through the duplicate check, in row order."""
        assert self._blocks is not None and self._block_cells is not None
        millis = epoch_millis(self._clock())
        taken = self._blocks.write(block, millis)
        writer, validator, summary = self._writer, self._validator, self._summary
        others: list[tuple[int, str, Outcome]] = []  # (row, raw, outcome), duplicates unchecked
        for number, line in taken.others:
            source_row = block.row(number, line)
            if source_row is None:  # blank
                continue
            outcome: Outcome
            if source_row.rejection is None:
                assert source_row.cells is not None
                outcome = self._block_cells(number, source_row.cells)
            else:
                outcome = source_row.rejection
            others.append((number, source_row.raw, outcome))
        summary.rows += len(taken.rows) + len(others)

        # Every accepted row, taken or not, through the duplicate check in row order.
        accepted_others = [(n, o) for n, _, o in others if type(o) is ClientFields]
        ids, rows = taken.client_ids, taken.rows
        if accepted_others:
            ids = ids + [o.client_id.encode("utf-8", "surrogatepass") for _, o in accepted_others]
            rows = rows + [n for n, _ in accepted_others]
            order = np.argsort(rows, kind="stable").tolist()
            ids, rows = [ids[i] for i in order], [rows[i] for i in order]
        firsts = validator.firsts(ids, rows)
        repeated = {} if firsts == rows else dict(zip(rows, firsts, strict=True))

        keys, values = taken.keys, taken.values
        rejections: list[Rejection] = []
        if repeated:  # some rows taken repeat an id accepted before
            keys, values = list(keys), list(values)
            for i, row in enumerate(taken.rows):
                if (first := repeated[row]) != row:
                    duplicate = validator.duplicate(row, taken.client_ids[i].decode(), first)
                    rejections.append(duplicate)
                    raw = taken.line(i)[:RAW_ROW_CHARS]
                    keys[i], values[i] = writer.rejected(duplicate, raw, millis)
        summary.accepted += len(taken.rows) - len(rejections)
        if others:
            keys, values = list(keys), list(values)
            for number, raw, outcome in others:
                if type(outcome) is ClientFields:
                    if (first := repeated.get(number, number)) == number:
                        summary.accepted += 1
                        key, value = writer.accepted(outcome, millis)
                        keys.append(key)
                        values.append(value)
                        continue
                    outcome = validator.duplicate(number, outcome.client_id, first)
                assert type(outcome) is Rejection
                rejections.append(outcome)
                key, value = writer.rejected(outcome, raw, millis)
                keys.append(key)
                values.append(value)
            order = np.argsort(taken.rows + [n for n, _, _ in others], kind="stable").tolist()
            keys, values = [keys[i] for i in order], [values[i] for i in order]
        for rejection in sorted(rejections, key=lambda r: r.row):
            self._rejected(rejection)
        return keys, values


def import_rows(
    stream: IO[bytes],
    *,
    tenant_id: str,
    import_id: str | None = None,
    fmt: Format | None = None,
    allow_landlines: bool = False,
    name: str = "<stream>",
    clock: Callable[[], datetime] | None = None,
    gunzip: bool = False,
    require_document: bool = False,
) -> ImportRun:
    """Open `stream` for an import; raises `UnreadableSource` for whole-file problems.

    Nothing is read past the head (and a CSV's header line) until the run is iterated.
    `name` (the file name) goes into error messages. With `gunzip` a gzip stream is read
    decompressed (a local file); without it, it is refused by name (an HTTP body).
    """
    _check_id("tenant_id", tenant_id)
    _check_id("import_id", import_id := import_id or str(uuid.uuid4()))
    source = RowSource(stream, fmt, name=name, gunzip=gunzip)
    _check_header(source, require_document=require_document)
    return ImportRun(
        source,
        tenant_id=tenant_id,
        import_id=import_id,
        allow_landlines=allow_landlines,
        clock=clock or (lambda: datetime.now(UTC)),
        require_document=require_document,
    )


def _check_header(source: RowSource, *, require_document: bool) -> None:
    """Refuse a header (CSV, a sheet) without a required column or with two for one field."""
    if source.columns is not None:
        columns = check_columns(source.columns, require_document=require_document)
        if not columns.ok:
            raise UnreadableSource(
                f"the header cannot be imported: {columns.explain()}",
                source=source.name,
                line=source.header_line,
            )


def dry_run(
    run: ImportRun,
    *,
    on_rejection: Callable[[Rejection], None] | None = None,
    on_progress: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Read, validate and encode every row without Kafka; return the final counts."""
    for _ in run.batches(on_rejection, on_progress):
        pass
    return run.summary


async def send_import(
    run: ImportRun,
    sink: EventSink,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    in_flight: int = DEFAULT_IN_FLIGHT,
    on_rejection: Callable[[Rejection], None] | None = None,
    on_progress: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Send every row's record through `sink` (`send_records`); then ImportCompleted, alone.

    ImportCompleted is sent only after every row's record was acknowledged; the first batch
    that fails stops the import and raises, so there is no ImportCompleted. When the source
    stops first (`SourceInterrupted`: an upload cut off, too large or too slow), the rows read
    before are stored and answered by an ImportCompleted marked incomplete, with their counts
    (ADR 0017); then the interruption is raised. `run.stored` counts what Kafka acknowledged.
    """

    def stored(summary: ImportSummary) -> None:
        run.stored = summary

    batches = run.batches(on_rejection, on_progress)
    try:
        await send_records(
            batches,
            sink,
            batch_size=batch_size,
            in_flight=in_flight,
            counts=run.summary.copy,
            on_stored=stored,
        )
    except SourceInterrupted:
        await _complete(run, sink, incomplete=True)
        raise
    await _complete(run, sink, incomplete=False)
    return run.summary


async def _complete(run: ImportRun, sink: EventSink, *, incomplete: bool) -> None:
    completed = run.completion(incomplete=incomplete)
    await sink.send_keyed(
        TOPIC, [key_for(completed).encode()], [encode(completed.to_representation())]
    )
    run.incomplete = incomplete


async def send_records(
    batches: Iterable[RecordBatch],
    sink: EventSink,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    in_flight: int = DEFAULT_IN_FLIGHT,
    counts: Callable[[], ImportSummary] | None = None,
    on_stored: Callable[[ImportSummary], None] | None = None,
) -> None:
    """Send (keys, values) batches to `cobranca.clients` in sends of about `batch_size`
    records; return once all are stored.

    Up to `in_flight` sends are being stored at once: the next rows are read, validated and
    encoded while Kafka acknowledges the previous ones. The first send that fails stops the
    sending (the sends still in flight are abandoned) and raises. A `SourceInterrupted` from
    `batches` sends what was read before it, waits for every send, and is raised again.

    `counts` is read as each send is cut (the rows read so far are exactly the records sent
    so far) and handed to `on_stored` once that send, and every one before it, is stored.
    """
    pending: deque[tuple[asyncio.Task[int], ImportSummary | None]] = deque()
    keys: list[bytes] = []
    values: list[bytes] = []

    def send() -> None:
        task = asyncio.ensure_future(sink.send_keyed(TOPIC, keys, values))
        pending.append((task, counts() if counts is not None else None))

    async def settle() -> None:
        task, stored = pending[0]
        await task
        pending.popleft()
        if on_stored is not None and stored is not None:
            on_stored(stored)

    interrupted: SourceInterrupted | None = None
    try:
        try:
            for batch_keys, batch_values in batches:
                keys += batch_keys
                values += batch_values
                if pending:
                    # Reading and encoding never await: let the event loop run aiokafka's
                    # sender between blocks, so the sends in flight are written and their
                    # acks read while the next block is built (the broker works meanwhile).
                    await asyncio.sleep(0)
                if len(keys) < batch_size:
                    continue
                send()
                keys, values = [], []
                while len(pending) >= in_flight:
                    await settle()
                if pending and pending[0][0].done():  # surface a failure without waiting
                    await settle()
        except SourceInterrupted as exc:
            interrupted = exc
        if keys:
            send()
        while pending:
            await settle()
    finally:
        for task, _ in pending:
            task.cancel()
        for task, _ in pending:
            with contextlib.suppress(BaseException):
                await task
    if interrupted is not None:
        raise interrupted
