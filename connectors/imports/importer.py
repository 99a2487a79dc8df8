"""Imports: read a source, validate every row, and answer each with one event.

`import_rows` opens the source (every whole-file problem is raised here, before any event
exists) and returns an `ImportRun`: iterating it yields, in source order, one `ClientImported`
or `ImportRejected` per row read, then exactly one `ImportCompleted` whose counts are those
rows: ``accepted + rejected == rows`` by construction.

The rows' events are made once, as Kafka records: `ImportRun.records` validates each row and
writes its (key, value) bytes directly (`records.ImportRecords`, the codec's bytes without a
Faust record per row). Everything consumes that one stream:

- `send_import`: sends the records through an `EventSink` (the `EventProducer`) in large
  batches, a few in flight while the next is built; `ImportCompleted` is sent alone after
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

from connectors.imports.columnar import BlockRecords, BlockWriter
from connectors.imports.errors import InvalidImportParameter, UnreadableSource
from connectors.imports.formats import RAW_ROW_CHARS, Format, LineBlock, RowSource, SourceRow
from connectors.imports.records import SOURCE, ImportRecords, epoch_millis, event_id
from connectors.imports.validation import ClientFields, Rejection, RowValidator, check_columns
from schemas.codec import decode, encode
from schemas.events import (
    ClientImported,
    ImportCompleted,
    ImportRejected,
    new_header,
)
from streams.topics import topic_for_event

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

#: Records per `send_encoded` call: large enough to fill the producer's 512 KiB batches on
#: every partition and amortize the wait for acks, small enough that a failure leaves
#: little in flight (about 4 MB).
DEFAULT_BATCH_SIZE: Final = 20_000
#: Batches being stored while the next one is built (see `send_import`).
DEFAULT_IN_FLIGHT: Final = 2
#: Records built between two turns of the event loop (see `send_records`).
_YIELD_EVERY: Final = 500
#: Rows between two readings of the clock: `occurred_at` is the time of the batch of rows
#: around it (to the millisecond, it is the same instant), not a clock call per row.
_CLOCK_EVERY: Final = 1024
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
#: The topic of every import event (`cobranca.clients`).
TOPIC: Final = topic_for_event("ClientImported").name
assert topic_for_event("ImportRejected").name == topic_for_event("ImportCompleted").name == TOPIC

ImportEvent = ClientImported | ImportRejected | ImportCompleted
Outcome = ClientFields | Rejection
_TYPED: Final = {cls._options.namespace: cls for cls in (ClientImported, ImportRejected)}


class EventSink(Protocol):
    """Where `send_import` puts records: `streams.producer.EventProducer` in production."""

    def send_encoded(self, records: list[tuple[str, bytes, bytes]]) -> Awaitable[int]:
        """Store the (topic, key, value) records; return once every one is acknowledged."""
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
    """One import of one opened source: read it once, as records or as events."""

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

    def records(
        self,
        on_rejection: Callable[[Rejection], None] | None = None,
        on_progress: Callable[[ImportSummary], None] | None = None,
    ) -> Iterator[tuple[bytes, bytes]]:
        """The (key, value) record of every row read, in source order, counted in `summary`;
        `on_rejection` sees each rejection first, `on_progress` the summary every few
        thousand rows and at the end."""
        if self._used:
            raise RuntimeError(f"import {self.import_id} was already read; start a new one")
        self._used = True
        return self._records(on_rejection, on_progress)

    def _records(
        self,
        on_rejection: Callable[[Rejection], None] | None,
        on_progress: Callable[[ImportSummary], None] | None,
    ) -> Iterator[tuple[bytes, bytes]]:
        validator = RowValidator(allow_landlines=self.allow_landlines)
        columns = self.source.columns
        writer = ImportRecords(self.tenant_id, self.import_id)
        blocks = None
        if columns is not None:
            blocks = BlockWriter(writer, columns, allow_landlines=self.allow_landlines)
            cells_in_block = validator.for_columns(columns, duplicates=False)
        validate_cells = validator.for_columns(columns) if columns is not None else None
        validate = validator.validate
        accepted, rejected = writer.accepted, writer.rejected
        summary = self.summary
        by_reason = summary.by_reason
        clock = self._clock
        millis = epoch_millis(clock())
        for piece in self.source.pieces():
            if type(piece) is LineBlock:
                assert blocks is not None
                millis = epoch_millis(clock())
                taken = blocks.write(piece, millis)
                yield from self._block(
                    taken, piece, cells_in_block, validator, writer, millis, on_rejection
                )
                if on_progress is not None:
                    on_progress(summary)
                continue
            row = cast(SourceRow, piece)
            if row.rejection is not None:
                outcome: Outcome = row.rejection
            elif row.cells is not None:
                assert validate_cells is not None
                outcome = validate_cells(row.row, row.cells)
            else:
                assert row.values is not None
                outcome = validate(row.row, row.values)
            summary.rows += 1
            if summary.rows % _CLOCK_EVERY == 0:
                millis = epoch_millis(clock())
                if on_progress is not None:
                    on_progress(summary)
            if type(outcome) is Rejection:
                summary.rejected += 1
                by_reason[outcome.reason.value] += 1
                if on_rejection is not None:
                    on_rejection(outcome)
                yield rejected(outcome, row.raw, millis)
            else:
                assert type(outcome) is ClientFields
                summary.accepted += 1
                yield accepted(outcome, millis)
        if on_progress is not None:
            on_progress(summary)

    def _block(
        self,
        taken: BlockRecords,
        block: LineBlock,
        validate_cells: Callable[[int, Sequence[str]], Outcome],
        validator: RowValidator,
        writer: ImportRecords,
        millis: int,
        on_rejection: Callable[[Rejection], None] | None,
    ) -> Iterator[tuple[bytes, bytes]]:
        """A block's records in row order: the rows `columnar` took and the others, validated
        one by one; every accepted row then goes through the duplicate check, in order."""
        summary = self.summary
        outcome: Outcome
        others: list[tuple[int, str, Outcome]] = []
        for number, line in taken.others:
            source_row = block.row(number, line)
            if source_row is None:  # blank
                continue
            if source_row.rejection is None:
                assert source_row.cells is not None
                outcome = validate_cells(number, source_row.cells)
            else:
                outcome = source_row.rejection
            others.append((number, source_row.raw, outcome))
        # (row, i): the i-th row taken, or when i < 0 the ~i-th other row.
        entries = list(zip(taken.rows, range(len(taken.rows)), strict=True))
        ids, rows = taken.client_ids, taken.rows
        if others:
            entries = sorted(entries + [(row, ~j) for j, (row, _, _) in enumerate(others)])
            ids, rows = [], []
            for row, i in entries:
                if i >= 0:
                    ids.append(taken.client_ids[i])
                    rows.append(row)
                elif type(outcome := others[~i][2]) is ClientFields:
                    ids.append(outcome.client_id.encode("utf-8", "surrogatepass"))
                    rows.append(row)
        firsts = iter(validator.firsts(ids, rows))
        keys, values, by_reason = taken.keys, taken.values, summary.by_reason
        for row, i in entries:
            summary.rows += 1
            if i >= 0:
                first = next(firsts)
                if first == row:
                    summary.accepted += 1
                    yield keys[i], values[i]
                    continue
                client_id = taken.client_ids[i].decode()
                outcome = validator.duplicate(row, client_id, first)
                raw = taken.line(i)[:RAW_ROW_CHARS]
            else:
                _, raw, outcome = others[~i]
                if type(outcome) is ClientFields:
                    first = next(firsts)
                    if first == row:
                        summary.accepted += 1
                        yield writer.accepted(outcome, millis)
                        continue
                    outcome = validator.duplicate(row, outcome.client_id, first)
            assert type(outcome) is Rejection
            summary.rejected += 1
            by_reason[outcome.reason.value] += 1
            if on_rejection is not None:
                on_rejection(outcome)
            yield writer.rejected(outcome, raw, millis)

    def completion(self) -> ImportCompleted:
        """The ImportCompleted of the rows read so far (all of them, once `records` is done)."""
        summary = self.summary
        header = new_header(
            "ImportCompleted",
            tenant_id=self.tenant_id,
            correlation_id=self.import_id,
            causation_id=None,
            source=SOURCE,
            occurred_at=self._clock(),
            event_id=event_id(f"{self.tenant_id}|{self.import_id}|completed"),
        )
        return ImportCompleted(
            header=header,
            import_id=self.import_id,
            rows=summary.rows,
            accepted=summary.accepted,
            rejected=summary.rejected,
            by_reason=dict(sorted(summary.by_reason.items())),
        )

    def __iter__(self) -> Iterator[ImportEvent]:
        """The run's events as typed records: one per row (decoded from `records`), then the
        ImportCompleted."""
        for _, value in self.records():
            data = decode(value)
            yield _TYPED[data["__faust"]["ns"]].from_data(data)
        yield self.completion()


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
    run: ImportRun,
    *,
    on_rejection: Callable[[Rejection], None] | None = None,
    on_progress: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Read, validate and encode every row without Kafka; return the final counts."""
    for _ in run.records(on_rejection, on_progress):
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
    that fails stops the import and raises, so there is no ImportCompleted.
    """
    records = run.records(on_rejection, on_progress)
    await send_records(records, sink, batch_size=batch_size, in_flight=in_flight)
    completed = run.completion()
    await sink.send_encoded(
        [(TOPIC, key_for(completed).encode(), encode(completed.to_representation()))]
    )
    return run.summary


async def send_records(
    records: Iterable[tuple[bytes, bytes]],
    sink: EventSink,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    in_flight: int = DEFAULT_IN_FLIGHT,
) -> None:
    """Send (key, value) records to `cobranca.clients` in batches; return once all are stored.

    Up to `in_flight` batches are being stored at once: the next batch is read, validated and
    encoded while Kafka acknowledges the previous ones. The first batch that fails stops the
    sending (the batches still in flight are abandoned) and raises.
    """
    pending: deque[asyncio.Task[int]] = deque()

    def submit(batch: list[tuple[str, bytes, bytes]]) -> None:
        pending.append(asyncio.ensure_future(sink.send_encoded(batch)))

    try:
        batch: list[tuple[str, bytes, bytes]] = []
        for key, value in records:
            batch.append((TOPIC, key, value))
            if len(batch) % _YIELD_EVERY == 0 and pending:
                # Reading and encoding never await: let the event loop run aiokafka's sender
                # now and then, so the batches in flight are written and their acks read while
                # the next batch is built (the broker works while this thread does).
                await asyncio.sleep(0)
            if len(batch) >= batch_size:
                submit(batch)
                batch = []
                while len(pending) >= in_flight:
                    await pending.popleft()
                if pending and pending[0].done():  # surface a failure without waiting
                    await pending.popleft()
        if batch:
            submit(batch)
        while pending:
            await pending.popleft()
    finally:
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task
