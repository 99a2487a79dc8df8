"""`cobranca api serve`: the HTTP API (connectors/api) on Kafka.

`KafkaApiLog` is the API's `EventLog` port: it stores events with the runtime's producer and
keeps an `IdentityDirectory` fed by a follower of `cobranca.identity` from its beginning, so a
replica started or restarted at any time knows every user, key and login, and one replica's
writes reach the others within a fetch. Its own writes are applied as soon as Kafka acknowledges
them, so a caller reads what it just wrote on the replica it wrote through.

It is also the `Conversations` port: a `ConversationBook` fed the same way by followers of the
topics a thread needs (ADR 0026). cobranca.sends.requested is read to its end before the topics
whose events name only a request id, so at start few statuses wait for their request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import structlog
from aiohttp import web
from aiokafka.errors import KafkaError

from connectors.api.app import create_app
from connectors.api.credentials import TokenSigner
from connectors.api.errors import ApiError
from connectors.api.identity import IdentityService
from connectors.api.ports import RejectedRow
from connectors.api.settings import ApiSettings
from connectors.clickhouse import reports
from connectors.clickhouse.client import connect
from connectors.clickhouse.debtors import client_events, search_candidates
from connectors.clickhouse.errors import ClickHouseError
from connectors.clickhouse.privacy import Pseudonymizer, pseudonym_key
from connectors.clickhouse.trace import trace
from connectors.imports.server import ImportService, ServiceSettings
from connectors.waha.client import WahaClient
from connectors.waha.errors import WahaCallError
from schemas.codec import encode
from schemas.events import ClientImported, Event, ImportRejected, InboundMessage
from streams.base.errors import ProduceFailed
from streams.base.settings import Settings
from streams.base.topics import (
    ACTIONS,
    API_AUDIT,
    CLIENTS,
    CONVERSATIONS,
    CREDIT_REQUESTS,
    DISPATCHES,
    IDENTITY,
    INTENTS,
    LEDGER,
    SEND_DECISIONS,
    SEND_REQUESTS,
    TENANTS,
    WEBHOOK_SUBSCRIPTIONS,
    TopicSpec,
    topic_for_event,
)
from streams.domain.conversations import ConversationBook
from streams.domain.debtors import DebtorQuery, fold_timeline, matches
from streams.domain.identity import IdentityDirectory
from streams.domain.ledger import apply as apply_ledger
from streams.domain.webhooks import SubscriptionBook
from streams.ops.imports_server import KafkaEventStore, KafkaTenantImportSettings
from streams.runtime.errors import FollowerError, LogReadError, TenantDirectoryError
from streams.runtime.follower import OwnWrites, TopicFollower
from streams.runtime.group_commit import GroupCommitProducer
from streams.runtime.log_reader import Position, PositionReader
from streams.runtime.metrics_endpoint import process_registry
from streams.runtime.tenants import TenantDirectory
from streams.runtime.topic_admin import create_topics

__all__ = [
    "ClickHouseDebtors",
    "ClickHouseReports",
    "KafkaApiLog",
    "WahaSessions",
    "running_api",
    "serve",
]

log = structlog.get_logger("cobranca.api")


_MOVEMENTS = frozenset({"TokensCredited", "TokensDebited", "TokensRefunded"})


_THREAD_TOPICS = (SEND_REQUESTS, CONVERSATIONS, INTENTS, ACTIONS, SEND_DECISIONS, DISPATCHES)
"""What a thread is folded from; the first is read to its end before the others start."""


class KafkaApiLog:
    """The API's `EventLog`, `LedgerView` and `Conversations` on Kafka: the identity topic, the
    ledger's balances, the webhook subscriptions and the conversations, each read from its
    beginning and followed."""

    def __init__(self, bootstrap: str, *, ready_timeout_s: float = 60.0) -> None:
        self._bootstrap = bootstrap
        self._directory = IdentityDirectory()
        self._balances: dict[str, tuple[int, int]] = {}
        self._webhooks = SubscriptionBook()
        self._conversations = ConversationBook()
        # Group-commit producers: concurrent requests share one produce request instead of
        # queueing their own batches behind each other (an idempotent producer keeps one batch in
        # flight per partition), and a send and its audit record go out in the same request.
        # Identity, credits and configurations keep their order (one pipeline); sends and audit
        # records need none.
        ordered = GroupCommitProducer(
            bootstrap,
            *(
                t.name
                for t in (IDENTITY, CREDIT_REQUESTS, WEBHOOK_SUBSCRIPTIONS, TENANTS, CONVERSATIONS)
            ),
            pipelines=1,
        )
        unordered = GroupCommitProducer(bootstrap, SEND_REQUESTS.name, API_AUDIT.name)
        self._producers = (ordered, unordered)
        self._producer_of = {
            topic: producer for producer in self._producers for topic in producer.topics
        }
        self._followers = (
            TopicFollower(bootstrap, IDENTITY.name, self._directory.apply),
            TopicFollower(bootstrap, LEDGER.name, self._apply_ledger),
            TopicFollower(bootstrap, WEBHOOK_SUBSCRIPTIONS.name, self._webhooks.apply),
        )
        # What this replica writes to the thread topics it applies as it writes (`append`): the
        # followers skip those records when they come back, undecoded.
        self._own = OwnWrites()
        self._thread_followers = tuple(
            TopicFollower(bootstrap, spec.name, self._conversations.apply, own=self._own)
            for spec in _THREAD_TOPICS
        )
        self.tenants = TenantDirectory(bootstrap)
        """Every tenant's configuration in force (its WhatsApp sessions)."""
        self._tasks: list[asyncio.Task[None]] = []
        self._ready_timeout_s = ready_timeout_s

    def _apply_ledger(self, event: Event) -> None:
        if event.header.event_type not in _MOVEMENTS:
            return
        tenant = event.header.tenant_id
        tokens, movements = self._balances.get(tenant, (0, 0))
        self._balances[tenant] = (apply_ledger(tokens, event), movements + 1)

    def balance(self, tenant: str) -> tuple[int, int]:
        return self._balances.get(tenant, (0, 0))

    @property
    def identity(self) -> IdentityDirectory:
        return self._directory

    @property
    def webhooks(self) -> SubscriptionBook:
        return self._webhooks

    @property
    def conversations(self) -> ConversationBook:
        return self._conversations

    async def start(self, partitions: int) -> None:
        """Create the API's topics if missing, start producing, and read the identity and
        ledger topics to their ends before returning."""
        await create_topics(
            self._bootstrap, partitions, (IDENTITY, API_AUDIT, WEBHOOK_SUBSCRIPTIONS, TENANTS)
        )
        for producer in self._producers:
            await producer.__aenter__()
        first, *rest = self._thread_followers
        await self._follow((*self._followers, first))
        await self._follow(rest)
        self._tasks.append(asyncio.create_task(self.tenants.run(), name="follow tenants"))
        await asyncio.wait_for(self.tenants.ready.wait(), self._ready_timeout_s)

    async def _follow(self, followers: Sequence[TopicFollower]) -> None:
        """Start following each topic, and return once each is read to its end."""
        tasks = [
            asyncio.create_task(follower.run(), name=f"follow {follower.topic}")
            for follower in followers
        ]
        self._tasks.extend(tasks)
        for follower, task in zip(followers, tasks, strict=True):
            ready = asyncio.create_task(follower.ready.wait())
            done, _ = await asyncio.wait(
                {ready, task}, timeout=self._ready_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                ready.cancel()
                task.result()  # the follower's own error, with its reason
            if ready not in done:
                ready.cancel()
                raise FollowerError(
                    f"{follower.topic} on {self._bootstrap} was not read to its end within "
                    f"{self._ready_timeout_s:.0f} s"
                )
            log.info("topic loaded", topic=follower.topic, events=follower.applied)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, FollowerError, TenantDirectoryError):
                await task
        for producer in self._producers:
            await producer.__aexit__(None, None, None)

    async def catch_up_identity(self) -> bool:
        return await self._followers[0].catch_up()

    async def append(self, events: Sequence[tuple[Event, str]]) -> None:
        topics = [topic_for_event(event.header.event_type) for event, _ in events]
        if TENANTS in topics:
            await self._append_configurations(events, topics)
        else:
            await self._store(events, topics)
        for (event, _), topic in zip(events, topics, strict=True):
            if topic is IDENTITY:
                self._directory.apply(event)
            elif topic is WEBHOOK_SUBSCRIPTIONS:
                self._webhooks.apply(event)
            if topic in _THREAD_TOPICS:
                self._conversations.apply(event)

    async def _append_configurations(
        self, events: Sequence[tuple[Event, str]], topics: Sequence[TopicSpec]
    ) -> None:
        """A configuration is applied when the directory reads it back: in the topic's order,
        so a newer one another replica wrote is never overwritten here."""
        async with contextlib.AsyncExitStack() as read_back:
            for (event, _), topic in zip(events, topics, strict=True):
                if topic is TENANTS:
                    await read_back.enter_async_context(
                        self.tenants.awaiting(event.header.event_id)
                    )
            await self._store(events, topics)

    async def _store(
        self, events: Sequence[tuple[Event, str]], topics: Sequence[TopicSpec]
    ) -> None:
        stores: list[asyncio.Future[None]] = []
        expected: list[tuple[Event, bytes]] = []
        try:
            for (event, key), topic in zip(events, topics, strict=True):
                producer = self._producer_of.get(topic.name)
                if producer is None:
                    raise ProduceFailed(
                        f"the API does not write {topic.name} (an {event.header.event_type})"
                    )
                value = encode(event.to_representation())
                if topic in _THREAD_TOPICS:
                    self._own.expect(value)
                    expected.append((event, value))
                stores.append(producer.submit(key.encode(), value, topic=topic.name))
            await asyncio.gather(*stores)
        except BaseException:
            for store in stores:  # all or none: a cancelled record is skipped by its flush
                store.cancel()
            for event, value in expected:
                if self._own.abandon(value):  # stored after all, and read back unapplied
                    self._conversations.apply(event)
            raise


class ClickHouseReports:
    """The API's `Reports` on ClickHouse (connectors/clickhouse/reports.py), queried in worker
    threads; a ClickHouse that does not answer is a 503 with the reason in the log."""

    def __init__(self, settings: Settings, reader: PositionReader) -> None:
        self._settings = settings
        self._reader = reader
        self._client: Any = None

    async def _events(self, positions: Sequence[Position]) -> dict[Position, Event]:
        """The events at `positions` (what ClickHouse does not hold: names, texts); a log that
        does not answer is a 503."""
        try:
            return await self._reader.read(positions)
        except (LogReadError, KafkaError, TimeoutError) as exc:
            log.error("the log does not answer", error=repr(exc))
            raise ApiError(
                503,
                "unavailable",
                "the event log does not answer; try again shortly",
                headers={"Retry-After": "5"},
            ) from exc

    def _run(self, query: Callable[..., list[Any]], *args: Any) -> list[dict[str, Any]]:
        return [row.as_dict() for row in self._rows(query, *args)]

    def _rows(self, query: Callable[..., list[Any]], *args: Any) -> list[Any]:
        try:
            if self._client is None:
                self._client = connect(self._settings)
            return query(self._client, self._settings.clickhouse_database, *args)
        except ClickHouseError as exc:
            log.error("analytics unavailable", error=str(exc))
            raise ApiError(
                503,
                "analytics_unavailable",
                "the analytics store does not answer; try again shortly",
                headers={"Retry-After": "10"},
            ) from exc

    async def ledger_page(
        self, tenant: str, before: int | None, limit: int
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            self._run, lambda c, db: reports.ledger_page(c, db, tenant, before=before, limit=limit)
        )

    async def usage(self, tenant: str, start: date, end: date) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._run, reports.usage, tenant, start, end)

    async def analytics(
        self, view: str, tenant: str, start: date, end: date
    ) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
        if view not in reports.ANALYTICS:
            known = ", ".join(reports.ANALYTICS)
            raise ApiError(404, "not_found", f"no analytics view {view!r}; views: {known}")
        columns = reports.ANALYTICS[view][0]
        rows = await asyncio.to_thread(self._rows, reports.analytics, view, tenant, start, end)
        return columns, rows

    async def imported_client(self, tenant: str, client_id: str | None) -> ClientImported | None:
        def position(client: Any, database: str) -> list[Any]:
            found = reports.imported_client_position(client, database, tenant, client_id)
            return [] if found is None else [found]

        found = await asyncio.to_thread(self._rows, position)
        if not found:
            return None
        partition, offset = found[0]
        at: Position = (CLIENTS.name, int(partition), int(offset))
        event = (await self._events([at])).get(at)
        return event if isinstance(event, ClientImported) else None

    async def import_rejections(
        self, tenant: str, import_id: str
    ) -> tuple[list[RejectedRow], int | None]:
        def query(client: Any, database: str) -> list[Any]:
            return [reports.import_rejections(client, database, tenant, import_id)]

        (found,) = await asyncio.to_thread(self._rows, query)
        # ClickHouse drops the rows' texts (privacy.py); the log has them. An import's
        # rejections share its key, so they are one partition's records: read in one pass each.
        texts: dict[tuple[int, int], str | None] = {}
        positions: list[Position] = [(CLIENTS.name, r.partition, r.offset) for r in found.rows]
        for (_, partition, offset), event in (await self._events(positions)).items():
            if (
                isinstance(event, ImportRejected)
                and event.header.tenant_id == tenant
                and event.import_id == import_id
            ):
                texts[(partition, offset)] = event.raw_row
        rows = [
            RejectedRow(
                row=r.row,
                reason=r.reason,
                message=r.message,
                field=r.field,
                raw_row=texts.get((r.partition, r.offset)),
            )
            for r in found.rows
        ]
        return rows, found.completed_rejected

    async def send_events(self, tenant: str, request_id: str) -> list[dict[str, Any]]:
        def timeline(client: Any, database: str) -> list[Any]:
            found = trace(
                client,
                database,
                request_id,
                kind="request",
                tenant=tenant,
                pseudonymizer=Pseudonymizer(pseudonym_key()),
            )
            return found.events

        return await asyncio.to_thread(self._run, timeline)


class ClickHouseDebtors(ClickHouseReports):
    """The API's `Debtors`: candidates from ClickHouse (connectors/clickhouse/debtors.py), and
    what ClickHouse does not hold (names, phones, documents, reply texts) read back from the log
    at the positions it names (`PositionReader`), then checked against the query: a debtor is
    found by what its latest import says (a name since changed by a new import is not)."""

    def __init__(self, settings: Settings, reader: PositionReader, key: bytes) -> None:
        super().__init__(settings, reader)
        self._key = key

    async def search(
        self, tenant: str, query: DebtorQuery, after: str, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        [(candidates, following)] = await asyncio.to_thread(
            self._rows,
            lambda c, db: [
                search_candidates(c, db, tenant, query, self._key, after=after, limit=limit)
            ],
        )
        events = await self._events([c.position for c in candidates])
        found = []
        for candidate in candidates:
            event = events.get(candidate.position)
            if not isinstance(event, ClientImported) or not matches(
                query, event.name, event.phone_e164, event.document
            ):
                continue  # another number with these last digits, name pieces in another order
            found.append(
                {
                    "client_id": candidate.client_id,
                    "name": event.name,
                    "phone": event.phone_e164,
                    "document": event.document,
                    "amount_centavos": candidate.amount_centavos,
                    "due_date": candidate.due_date.isoformat(),
                    "last_imported_at": candidate.last_imported_at.isoformat(),
                    "imports": candidate.imports,
                }
            )
        return found, following

    async def timeline(
        self, tenant: str, client_id: str, *, texts: bool
    ) -> list[dict[str, Any]] | None:
        found = await asyncio.to_thread(
            self._rows, lambda c, db: [client_events(c, db, tenant, client_id)]
        )
        events = found[0]
        if events is None:
            return None
        where = {
            f"{e.topic}[{e.partition}]@{e.offset}": (e.topic, e.partition, e.offset) for e in events
        }
        entries = fold_timeline(
            (e.occurred_at, e.event_type, f"{e.topic}[{e.partition}]@{e.offset}", e.fields)
            for e in events
        )
        if texts:
            replies = [where[e.position] for e in entries if e.event_type == "InboundMessage"]
            read = await self._events(replies)
            entries = [
                dataclasses.replace(entry, text=message.body or "")
                if isinstance(message := read.get(where[entry.position]), InboundMessage)
                else entry
                for entry in entries
            ]
        return [entry.as_dict() for entry in entries]


class WahaSessions:
    """The API's `WhatsApp` port: a tenant's configured sessions (the tenants topic, followed)
    through WAHA's API at `WAHA_URL`."""

    def __init__(self, settings: Settings, tenants: TenantDirectory) -> None:
        self._client = WahaClient(settings.waha_url, settings.waha_api_key)
        self._tenants = tenants

    async def close(self) -> None:
        await self._client.close()

    def _owned(self, tenant: str) -> list[str]:
        config = self._tenants.get(tenant)
        return [] if config is None else [s.name for s in config.sessions]

    def _session(self, tenant: str, session: str) -> str:
        if session not in self._owned(tenant):
            raise ApiError(
                404, "not_found", f"tenant {tenant!r} has no WhatsApp session {session!r}"
            )
        return session

    @staticmethod
    def _refused(exc: WahaCallError) -> ApiError:
        if exc.status == 422:
            return ApiError(
                409,
                "session_not_pairing",
                "the session is not waiting for a QR scan; start it first",
            )
        log.error("WAHA call failed", error=str(exc))
        return ApiError(
            503,
            "whatsapp_unavailable",
            "WAHA does not answer as expected; try again shortly",
            headers={"Retry-After": "10"},
        )

    async def sessions(self, tenant: str) -> list[dict[str, Any]]:
        found = []
        for name in self._owned(tenant):
            try:
                info = await self._client.session_info(name)
                found.append({"name": name, "status": info.status, "engine": info.engine})
            except WahaCallError as exc:
                if exc.status != 404:
                    raise self._refused(exc) from exc
                found.append({"name": name, "status": "UNKNOWN", "engine": None})
        return found

    async def pairing_qr(self, tenant: str, session: str) -> tuple[str, str]:
        try:
            return await self._client.pairing_qr(self._session(tenant, session))
        except WahaCallError as exc:
            raise self._refused(exc) from exc

    async def start(self, tenant: str, session: str) -> dict[str, Any]:
        try:
            info = await self._client.start_session(self._session(tenant, session))
        except WahaCallError as exc:
            raise self._refused(exc) from exc
        return {"name": info.name, "status": info.status, "engine": info.engine}

    async def stop(self, tenant: str, session: str) -> dict[str, Any]:
        try:
            info = await self._client.stop_session(self._session(tenant, session))
        except WahaCallError as exc:
            raise self._refused(exc) from exc
        return {"name": info.name, "status": info.status, "engine": info.engine}


@contextlib.asynccontextmanager
async def running_api(settings: Settings, api: ApiSettings):  # type: ignore[no-untyped-def]
    """The API application on Kafka, started and listening; yields (runner, log)."""
    api_log = KafkaApiLog(settings.kafka_bootstrap)
    await api_log.start(settings.topic_partitions)
    # One registry on the API's own port (GET /metrics): the process's CPU and memory and the
    # imports' counts (ADR 0020).
    registry = process_registry()
    imports = ImportService(
        ServiceSettings.from_env(),
        KafkaEventStore(settings.kafka_bootstrap),
        KafkaTenantImportSettings(settings.kafka_bootstrap),
        registry,
    )
    identity = IdentityService(api, api_log, TokenSigner(api.signing_keys, api.active_kid))
    whatsapp = WahaSessions(settings, api_log.tenants)
    # One consumer reads the records ClickHouse points at (names and texts it does not hold).
    reader = PositionReader(settings.kafka_bootstrap)
    reports_ = ClickHouseReports(settings, reader)
    debtors = ClickHouseDebtors(settings, reader, pseudonym_key())
    app = create_app(
        api,
        identity,
        api_log,
        api_log,
        reports_,
        whatsapp,
        imports,
        metrics=registry,
        conversations=api_log,
        debtors=debtors,
    )
    runner = web.AppRunner(app, access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, api.host, api.port).start()
        log.info(
            "API listening", url=f"http://{api.host}:{api.port}/v1", kafka=settings.kafka_bootstrap
        )
        yield runner, api_log
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        imports.close()
        await whatsapp.close()
        await reader.stop()
        await api_log.stop()


async def serve(settings: Settings, api: ApiSettings, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (SIGINT/SIGTERM in `cobranca api serve`) or cancelled."""
    async with running_api(settings, api):
        # What start-up loaded (modules, the state replayed from the topics) lives as long as the
        # process: out of the collector's full scans, which would otherwise pause every request
        # in flight for as long as they take.
        gc.freeze()
        await (stop or asyncio.Event()).wait()
