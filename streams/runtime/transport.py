"""Faust's Kafka transport, with every commit a consistent cut of the worker's processing.

Faust's exactly-once mode keeps one transactional producer per source partition and commits
each partition's offsets in that producer's transaction. Three gaps in faust-streaming 0.15
break that as soon as agents re-key (see docs/adr/0001):

1. Its transaction manager picks the producer from the *destination* partition, and falls back
   to a plain, non-transactional producer for topics the worker does not consume.
2. Commits run on a timer, concurrently with the agents, so a transaction can hold the outputs
   of an event whose offset it does not commit.
3. The offset to commit is the end of the first run of *consecutive* acknowledged offsets.
   Under read_committed, transaction markers and aborted records take offsets that are never
   delivered; Faust records some of those holes as gaps but not all (not after offset 0, not
   at the committed offset after a restart), and then stops committing at the hole while
   later events' outputs commit: a crash or a rebalance replays those events and duplicates
   their outputs.

Here:

- every record an agent sends goes through the producer of the partition the current event
  came from (Kafka Streams' task model);
- agents iterate with `streams.runtime.processing.events`, which *admits* each event: while a
commit is
  being prepared no new event is admitted;
- a commit waits until every admitted event is acknowledged (Faust acknowledges an event when
  the agent asks for the next one); only then are the offsets taken and the transactions
  committed (aiokafka flushes a transaction's records before committing it);
- the offset committed for a partition is one past the highest acknowledged offset: a
  partition's events are delivered and acknowledged in order (agents run with concurrency 1;
  the dispatcher, which keeps a batch of approvals in flight, acknowledges each as soon as it
  and every event before it are written: `release`, `acknowledge`, docs/adr/0021), so every
  delivered event below it is done, whatever holes the log has.

The transactions of the source partitions are committed concurrently, not one after the
other as Faust does: no event is admitted while they commit.

Rebalances (docs/adr/0016). aiokafka's group protocol is eager: every rebalance revokes all of
a member's partitions before it rejoins, and no other member gets them until it has. Faust
drops its acknowledged offsets at the revocation, before it waits for the events in hand, and
commits nothing; it stops the producers of the partitions the worker loses and leaves the open
transactions of those it keeps as they were. The kept partitions were then read again from
their committed offsets, their state rebuilt without the open transaction, and the same events
decided again into that transaction: both decisions committed. Here, at the revocation:

- the events in hand finish (a consistent cut), what is acknowledged is committed, and every
  transaction still open is aborted (`SourcePartitionTransactions.settle`): no transaction is
  open across a rebalance;
- until the next assignment nothing is admitted and nothing commits; acknowledgements of
  messages fetched in an earlier generation of the group never move a commit;
- at the assignment each held partition gets a fresh, empty transaction; new producers fence
  the partition's previous owner first (`Producer.begin_fresh_transactions`).

A producer fenced by another member (which holds its partitions in a newer generation) loses
its partitions until the next assignment instead of crashing the worker.

Faust tables are not used: their in-memory state keeps the effects of events whose
transaction was aborted at a rebalance. Agent state is a fold of the agent's own committed
outputs instead (streams/runtime/state.py).

The transport is registered under the URL scheme ``cobranca://`` through the
``faust.transports`` entry point in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import types
import weakref
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from typing import Any, Protocol, cast

from aiokafka.errors import ProducerClosed, ProducerFenced
from faust.streams import current_event
from faust.transport.consumer import CONSUMER_FETCHING, TransactionManager
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.utils.futures import notify

from streams.runtime.errors import SendOutsideTransaction


class Feed(Protocol):
    """Where the fetch loop hands each fetched record of the topics it feeds, instead of
    Faust's per-record path (streams/runtime/feed.py's BatchFeed)."""

    def offer(self, consumer: Any, message: Any) -> None: ...


_FEEDS: weakref.WeakKeyDictionary[Any, dict[str, Feed]] = weakref.WeakKeyDictionary()


def feed_topics(app: Any, topics: Iterable[str], feed: Feed) -> None:
    """Route the records of `topics` that `app`'s fetch loop reads to `feed`."""
    feeds = _FEEDS.setdefault(app, {})
    for topic in topics:
        if topic in feeds:
            raise ValueError(f"topic {topic!r} already feeds another agent")
        feeds[topic] = feed


def feeds_of(app: Any) -> Mapping[str, Feed]:
    """The app's feeds by topic name (what the fetch loop routes)."""
    return _FEEDS.get(app, {})


class SourcePartitionTransactions(TransactionManager):
    """Each record joins the transaction of the source partition that caused it.

    Across a rebalance (see "Rebalances" in the module docstring): `settle` ends every
    transaction at the revocation, nothing is admitted or committed until the next assignment,
    and `on_rebalance` opens a fresh transaction for every partition assigned.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._admitted: set[Any] = set()
        self._abandoned: dict[Any, int] = {}
        self._lost: set[str] = set()
        self._rebalancing = False
        self._halted = False
        self._open = asyncio.Event()
        self._open.set()

    @property
    def committable(self) -> bool:
        """False between a revocation's settlement and the next assignment (no transaction is
        open), and for good once `halt` was called."""
        return not (self._rebalancing or self._halted)

    def halt(self) -> None:
        """Commit nothing more in this process: an agent failed half-way through events it had
        already sent outputs for. The worker stops (fail-stop); the open transactions are
        aborted when the partitions' producers next start, and the events are decided again
        from their committed offsets."""
        self._halted = True

    def admissible(self, message: Any) -> bool:
        """Whether an agent may start on `message` now that no commit is being prepared: not
        during a rebalance, not from a partition whose producer was fenced, and not a message
        fetched in an earlier generation of the group (its partition is read again from its
        committed offset, so it is delivered anew)."""
        if self._rebalancing:
            return False
        if self._lost and self._transactional_id(message.topic, message.partition) in self._lost:
            return False
        generation = getattr(message, "generation_id", None)
        return generation is None or generation == self.app.consumer_generation_id

    async def admit(self, message: Any) -> bool:
        """Let an agent start on `message`, unless a commit is being prepared; False when it
        may not start at all (`admissible`): the agent skips it."""
        if message in self._admitted:
            return True
        await self._open.wait()
        if not self.admissible(message):
            return False
        self._admitted.add(message)
        return True

    async def admit_all(self, messages: Sequence[Any]) -> list[Any]:
        """Let an agent start on a batch: all of its admissible messages at once (they are
        returned), or none of them while a commit is being prepared. Admitting one by one could
        deadlock: the commit would wait for the batch's first events, which are acknowledged
        only after the whole batch is processed, while the batch waits to admit the rest."""
        pending = [m for m in messages if m not in self._admitted]
        if pending:
            await self._open.wait()
            # No await since the wait: atomic in the loop.
            self._admitted.update(m for m in pending if self.admissible(m))
        return [m for m in messages if m in self._admitted]

    def is_admitted(self, message: Any) -> bool:
        """Whether the agent may still send for `message`: False once a rebalance began or its
        partition's producer was fenced; its next owner redoes it."""
        return message in self._admitted

    async def settle(self, commit: Callable[[], Awaitable[Any]]) -> None:
        """At a revocation (every partition: the group protocol is eager), before Faust forgets
        what was acknowledged: let the events in hand finish, `commit` what is acknowledged
        with no new transaction after it, and abort every transaction still open. From then on
        until the next assignment nothing is admitted (`on_rebalance` reopens).

        Faust only flushes here and stops the producers of the partitions the worker loses.
        The open transaction of a partition it kept then took the same events again once the
        partition was read from its committed offset, and committed both decisions."""
        self._open.clear()
        try:
            await self._acknowledged()
            await commit()
            await cast(Producer, self.producer).abort_open_transactions(self._lose)
        finally:
            self._rebalancing = True
            self._admitted.clear()
            self._open.set()  # waiters wake to a refusal: see `admissible`

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Faust redelivers a revoked partition's unfinished events as new messages; the old
        # ones will never be acknowledged, so a commit must not wait for them.
        self._admitted = {m for m in self._admitted if m.tp not in revoked}
        await super().on_partitions_revoked(revoked)
        # The abandoned offsets stay in force after a revocation: Faust acknowledges events the
        # agents skip on their way out and commits once more as the worker stops, and that
        # commit must not cover an abandoned approval either (it did: the next worker found
        # nothing to send). They are dropped when a partition is assigned again (on_rebalance).

    async def on_rebalance(self, assigned: Any, revoked: Any, newly_assigned: Any) -> None:
        """Stop the producers of partitions no longer held and begin a transaction for every
        partition assigned, concurrently (Faust does one after the other, and leaves a kept
        partition's transaction as it was)."""
        # An assigned partition starts over from its committed offset, at or before its
        # abandoned one: the limit has done its job.
        for tp in assigned:
            self._abandoned.pop(tp, None)
        self._lost.clear()
        producer = cast(Producer, self.producer)
        held = self._tps_to_transactional_ids(assigned)
        await producer.stop_transactions_except(held)
        await producer.begin_fresh_transactions(held)
        self._rebalancing = False

    @asynccontextmanager
    async def consistent_cut(self) -> AsyncIterator[None]:
        """Hold new events until every admitted one is acknowledged."""
        self._open.clear()
        try:
            await self._acknowledged()
            yield
        finally:
            self._admitted = {m for m in self._admitted if not m.acked}
            self._open.set()

    async def _acknowledged(self) -> None:
        """Until every admitted event is acknowledged."""
        loop = asyncio.get_running_loop()
        began = warned_at = loop.time()
        # Faust flips Message.acked with no notification to await, so poll; the wait is
        # about one event long.
        while any(not m.acked for m in self._admitted):
            await asyncio.sleep(0.001)
            now = loop.time()
            if now - warned_at > 5:
                warned_at = now
                pending = [m for m in self._admitted if not m.acked]
                self.log.warning(
                    "commit waiting %.0fs: %d events not acknowledged (%s)",
                    now - began,
                    len(pending),
                    ", ".join(f"{m.tp.topic}[{m.tp.partition}]@{m.offset}" for m in pending[:5]),
                )

    async def commit(self, offsets: Mapping[Any, int], start_new_transaction: bool = True) -> bool:
        """Commit each partition's offsets in its own transaction, concurrently. A partition
        whose producer was fenced is lost, not a crash: see `_lose`."""
        by_transaction: dict[str, dict[Any, int]] = {}
        for tp, offset in offsets.items():
            by_transaction.setdefault(self._transactional_id(tp.topic, tp.partition), {})[tp] = (
                offset
            )
        await cast(Producer, self.producer).commit_transactions(
            by_transaction,
            self.app.conf.id,
            start_new_transaction=start_new_transaction,
            on_fenced=self._lose,
        )
        return True

    async def _lose_if_fenced(self, transactional_id: str, exc: BaseException) -> bool:
        """Whether `exc` came from a producer that was fenced; it is retired and its partitions
        lost if so."""
        if not await cast(Producer, self.producer).retire_if_fenced(transactional_id, exc):
            return False
        self._lose(transactional_id)
        return True

    def _lose(self, transactional_id: str) -> None:
        """A producer was fenced: another member holds its partitions in a newer generation of
        the group. Its open transaction is aborted by the broker and its events are redone by
        that member; this worker admits none of them again until the group gives it partitions
        anew, and asks to rejoin so that happens soon."""
        self._lost.add(transactional_id)
        self.log.warning(
            "producer %s fenced: its partitions are lost until the next assignment",
            transactional_id,
        )
        cast(Consumer, self.consumer).request_rejoin()

    @asynccontextmanager
    async def released(self, message: Any) -> AsyncIterator[None]:
        """Let commits go on while an agent waits outside Kafka on `message`.

        For the WAHA dispatcher, whose wait on a WAHA that is down can last minutes: a commit
        would otherwise wait for it, holding back every agent of the worker (and their open
        transactions would run into transaction.timeout.ms). Inside the block the agent must send
        nothing. Its message is not acknowledged, so no commit covers its offset (nor any later
        one of its partition: the agent has not seen them). On leaving, the message is admitted
        again, after any commit in progress; if a rebalance began meanwhile it is not
        (`is_admitted` is False) and the agent abandons it. See docs/adr/0006.
        """
        self._admitted.discard(message)
        yield
        # Not in a `finally`: a cancelled agent must not leave behind an admitted message that
        # nothing will ever acknowledge (the next commit would wait for it forever).
        await self.admit(message)

    def release(self, messages: Iterable[Any]) -> None:
        """`released` for a batch whose events finish one by one (the dispatcher's approvals in
        flight, docs/adr/0021): they leave the cut now; the agent admits each again
        (`admit_all`) just before it sends its outputs, and acknowledges it (`acknowledge`)
        right after, in offset order within a partition."""
        for message in messages:
            self._admitted.discard(message)

    def acknowledge(self, message: Any) -> None:
        """Acknowledge `message` now rather than when the agent asks for its next batch: its
        outputs are sent, and every earlier event of its partition is acknowledged already
        (the committed offset is one past the highest acknowledged one, so a partition's events
        must be acknowledged in order). Faust's own acknowledgement later is a no-op."""
        message.ack(self.app.consumer)

    def abandon(self, message: Any) -> None:
        """The agent gives `message` up without output, because a rebalance is taking its
        partition away: no commit may cover its offset, so its next owner processes it again.
        (Faust acknowledges it anyway when the agent moves on.)"""
        tp, offset = message.tp, int(message.offset)
        self._abandoned[tp] = min(offset, self._abandoned.get(tp, offset))

    def commit_limit(self, tp: Any) -> int | None:
        """The highest offset a commit of `tp` may name (an abandoned message's), if any."""
        return self._abandoned.get(tp)

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Any:
        event = current_event()
        if event is None:
            raise SendOutsideTransaction(
                f"send to {topic!r} outside an agent: under processing_guarantee='exactly_once' "
                "every output must belong to the transaction of the event that caused it; "
                "produce from outside the worker with streams.runtime.producer.EventProducer"
            )
        message = event.message
        # For agents that do not iterate with events(); the others' events are in already.
        if not await self.admit(message):
            raise SendOutsideTransaction(
                f"send to {topic!r} for {message.tp.topic}[{message.tp.partition}]@"
                f"{message.offset}, which a rebalance took from this worker: check "
                "is_admitted() after any wait outside Kafka and abandon the event"
            )
        destination = self.consumer.key_partition(topic, key, partition)
        tid = self._transactional_id(message.tp.topic, message.tp.partition)
        try:
            return await self.producer.send(
                topic, key, value, destination, timestamp, headers, transactional_id=tid
            )
        except Exception as exc:
            # The agent fails on this event either way; a fenced producer also loses its
            # partitions, so nothing of them commits before the group hands them out again.
            await self._lose_if_fenced(tid, exc)
            raise

    async def send_encoded(
        self, source: Any, topic: str, partition: int, records: Sequence[tuple[bytes, bytes]]
    ) -> bool:
        """Send encoded (key, value) records to `topic[partition]`, in order, in the transaction
        of `source`'s partition, straight to aiokafka: the fast path for an agent that decides
        many events at once (streams/agents/ledger.py), without Faust's work per record.

        False, with nothing sent, when a rebalance has taken `source`'s partition: its new
        owner processes the events again. The producer is taken once, before any wait, so no
        record can join the transaction of the partition's next assignment."""
        if not self.is_admitted(source):
            return False
        tid = self._transactional_id(source.topic, source.partition)
        # Faust's producer keeps one aiokafka producer and one lock per transactional id; the
        # lock keeps a commit of that transaction from running between two of our batches.
        faust_producer = cast(Any, self.producer)
        producer = faust_producer._transaction_producers.get(tid)
        if producer is None:
            return False  # stopped at a revocation
        try:
            async with faust_producer._trn_locks[tid]:
                # Appended to the partition's open batch, which lingers until the commit. A
                # batch of our own (`send_batch`) would first wait for that one to drain, up to
                # the linger (the commit interval), holding the lock that every other agent
                # sending in this transaction waits for: the normalizer's sends took up to
                # 0.5 s each behind the ledger's and dispatch's (docs/performance.md).
                for key, value in records:
                    await producer.send(topic, value, key=key, partition=partition)
        except ProducerClosed:
            return False  # stopped at a revocation while we waited
        except Exception as exc:
            if await self._lose_if_fenced(tid, exc):
                return False  # another member holds the partition now: it decides again
            raise
        for sensor in self.app.sensors:  # Faust's sensors count sends one by one
            counted = getattr(sensor, "on_records_sent", None)
            if counted is not None:
                counted(topic, len(records))
        return True

    def _transactional_id(self, source_topic: str, source_partition: int) -> str:
        """The transactional id of a source partition (Faust's format: app id, topic group,
        partition)."""
        return f"{self.app.conf.id}-{self._group_of(source_topic)}-{source_partition}"

    def _group_of(self, topic: str) -> int | None:
        try:
            return int(self.app.assignor.group_for_topic(topic))
        except KeyError:
            return None


class Consumer(faust_aiokafka.Consumer):
    """Commits only at a consistent cut (see the module docstring); hands the records of the
    topics an agent takes as a batch feed (streams/runtime/feed.py) to that feed, raw, in bulk."""

    async def _drain_messages(self, fetcher: Any) -> None:
        """The fetch loop: Faust's, except that a record of a fed topic is appended to its
        feed instead of being raced through the conductor's callback one by one."""
        feeds = feeds_of(self.app)
        if not feeds:
            await super()._drain_messages(fetcher)
            return
        callback = self.callback
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        read_offsets = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        diag = self.diag
        since_yield = 0
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                diag.set_flag(CONSUMER_FETCHING)
                fetched = self.getmany(timeout=1.0)
                await self.sleep(0)  # getmany can return at once, again and again
                if self.should_stop:
                    continue
                async for tp, message in fetched:
                    since_yield += 1
                    if since_yield > 100:  # let the agents run between large fetches
                        await asyncio.sleep(0)
                        since_yield = 0
                    offset = message.offset
                    last = read_offsets[tp]
                    if last is not None and offset < last:
                        continue  # read already (a seek went back)
                    if last and offset - last > 1 and acks_enabled_for(message.topic):
                        await self._add_gap(tp, last + 1, offset)
                    if self._commit_every is not None and self._n_acked >= self._commit_every:
                        self._n_acked = 0
                        await self.commit()
                    feed = feeds.get(tp.topic)
                    if feed is not None:
                        feed.offer(self, message)
                    else:
                        await self._deliver(callback, message)
                    read_offsets[tp] = offset
                diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
        finally:
            diag.unset_flag(CONSUMER_FETCHING)

    async def _deliver(self, callback: Any, message: Any) -> None:
        """Run the conductor's callback for `message`. Faust races every callback against a
        flow suspension (a task each, and an `asyncio.wait`); the callback almost always
        finishes without waiting (it decodes and queues), so it is started here and raced only
        if it has to wait (a full buffer, suspended flow)."""
        coro = callback(message)
        try:
            awaited = coro.send(None)
        except StopIteration:
            return
        await self.wait_first(_finish(coro, awaited), self.suspend_flow.wait())

    def _new_offset(self, tp: Any) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        top = max(acked)
        acked.clear()
        self._acked_index[tp].clear()
        transactions = getattr(self, "transactions", None)
        limit = (
            transactions.commit_limit(tp)
            if isinstance(transactions, SourcePartitionTransactions)
            else None
        )
        return int(top) + 1 if limit is None else min(int(top) + 1, limit)

    async def force_commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        transactions = self._transactions()
        if transactions is None:
            return bool(await super().force_commit(topics, start_new_transaction))
        if not transactions.committable:
            return False  # settled at a revocation (nothing is open), or halted
        async with transactions.consistent_cut():
            return bool(await super().force_commit(topics, start_new_transaction))

    async def on_partitions_revoked(self, revoked: Any) -> None:
        """Settle the transactions (`SourcePartitionTransactions.settle`) before Faust drops
        its acknowledged offsets, then Faust's revocation."""
        transactions = self._transactions()
        if transactions is not None and transactions.committable and not self.app.should_stop:
            await self._settle(transactions)
        await super().on_partitions_revoked(revoked)

    async def _settle(self, transactions: SourcePartitionTransactions) -> None:
        # As Faust's `commit`: one commit at a time; a timer's commit in progress goes first.
        while await self.maybe_wait_for_commit_to_finish():
            pass
        self._commit_fut = asyncio.Future(loop=self.loop)
        try:
            await transactions.settle(
                lambda: super(Consumer, self).force_commit(start_new_transaction=False)
            )
        except Exception as exc:
            # Fail-stop: the broker aborts whatever this worker left open when the partitions'
            # next producers start, and their events are decided again from committed offsets.
            self.log.exception("settling the transactions at a revocation failed")
            await self.app.crash(exc)
        finally:
            fut, self._commit_fut = self._commit_fut, None
            notify(fut)

    async def on_partitions_assigned(self, assigned: Any, generation_id: int = 0) -> None:
        # Every assigned partition is read again from its committed offset: what was
        # acknowledged before (the events refused at admission during the rebalance) must not
        # move a commit.
        self._acked.clear()
        self._acked_index.clear()
        await super().on_partitions_assigned(assigned, generation_id)

    def ack(self, message: Any) -> bool:
        generation = getattr(message, "generation_id", None)
        if generation is not None and generation != self.app.consumer_generation_id:
            # Fetched before the latest assignment: its partition is read again from the
            # committed offset, so its acknowledgement commits nothing.
            message.acked = True
            self._unacked_messages.discard(message)
            return False
        return bool(super().ack(message))

    def fetch_position(self, tp: Any) -> int | None:
        """The next offset the fetcher reads from `tp`: past the transaction markers it has
        met, which are never delivered. None if it has no valid position (just assigned)."""
        try:
            consumer = cast(Any, self)._thread._ensure_consumer()
            state = consumer._subscription.subscription.assignment.state_value(tp)
        except AttributeError:  # not started, or no assignment (between two rebalances)
            return None
        if state is None or not state.has_valid_position:
            return None
        return int(state.position)

    def request_rejoin(self) -> None:
        """Ask the group coordinator (in the consumer's thread) for a rebalance."""
        thread = cast(Any, self)._thread
        consumer = thread._ensure_consumer()
        thread.thread_loop.call_soon_threadsafe(consumer._coordinator.request_rejoin)

    def _transactions(self) -> SourcePartitionTransactions | None:
        # Transport.TransactionManager below makes this our class.
        if not self.app.in_transaction:
            return None
        return cast(SourcePartitionTransactions, self.transactions)


async def _finish(coro: Any, awaited: Any) -> Any:
    """The rest of a coroutine that was started by hand and is waiting on `awaited`."""
    return await _resumed(coro, awaited)


@types.coroutine
def _resumed(coro: Any, awaited: Any) -> Generator[Any, Any, Any]:
    # What `await` does for a coroutine, from its first suspension on: hand what it waits on to
    # the running task, and pass back what the task sends or throws in (a cancellation).
    while True:
        try:
            sent = yield awaited
        except BaseException as exc:
            try:
                awaited = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                awaited = coro.send(sent)
            except StopIteration as stop:
                return stop.value


class Producer(faust_aiokafka.Producer):
    """Owns the source partitions' transactional producers: commits their transactions
    concurrently, ends them at a revocation and begins fresh ones at an assignment, and takes a
    fenced producer out of service instead of crashing the worker.

    Faust commits the transactions one after the other, each a few broker round trips (offsets
    to the transaction, flush, end marker); no event is admitted meanwhile (the consistent
    cut), so with many active partitions the worker spent most of its time waiting on commits.
    """

    async def commit_transactions(
        self,
        tid_to_offset_map: Mapping[str, Mapping[Any, int]],
        group_id: str,
        start_new_transaction: bool = True,
        *,
        on_fenced: Callable[[str], None] | None = None,
    ) -> None:
        await asyncio.gather(
            *(
                self._commit_transaction(
                    tid, offsets, group_id, start_new_transaction, on_fenced=on_fenced
                )
                for tid, offsets in tid_to_offset_map.items()
            )
        )

    async def _commit_transaction(
        self,
        transactional_id: str,
        offsets: Mapping[Any, int],
        group_id: str,
        start_new_transaction: bool,
        *,
        on_fenced: Callable[[str], None] | None,
    ) -> None:
        async with self._trn_locks[transactional_id]:
            producer = self._transaction_producers.get(transactional_id)
            if producer is None:
                self.log.warning("commit for unknown transaction %s", transactional_id)
                return
            try:
                await producer.send_offsets_to_transaction(offsets, group_id)
                await producer.commit_transaction()
                if start_new_transaction:
                    await producer.begin_transaction()
            except Exception as exc:
                if on_fenced is None or not await self.retire_if_fenced(transactional_id, exc):
                    raise
                on_fenced(transactional_id)

    async def abort_open_transactions(self, on_fenced: Callable[[str], None]) -> None:
        """Abort every transaction still open (a partition with nothing to commit may still
        hold records: an event's outputs whose offset a rebalance or a wait outside Kafka held
        back)."""

        async def abort(transactional_id: str) -> None:
            async with self._trn_locks[transactional_id]:
                producer = self._transaction_producers.get(transactional_id)
                if producer is None or not producer._txn_manager.is_in_transaction():
                    return
                try:
                    await producer.abort_transaction()
                except Exception as exc:
                    if not await self.retire_if_fenced(transactional_id, exc):
                        raise
                    on_fenced(transactional_id)

        await asyncio.gather(*(abort(tid) for tid in list(self._transaction_producers)))

    async def stop_transactions_except(self, held: set[str]) -> None:
        """Stop the producers of partitions this worker no longer holds."""
        gone = [tid for tid in self._transaction_producers if tid not in held]
        await asyncio.gather(*(self.retire(tid) for tid in gone))

    async def begin_fresh_transactions(self, transactional_ids: Iterable[str]) -> None:
        """A transaction with nothing in it for each id, concurrently. A producer that is new
        (or replaces one that can no longer work) registers its id with the broker first, which
        fences the partition's previous owner and ends whatever it left open; a kept producer's
        open transaction, if any, is aborted, since its partition is read again from its
        committed offset."""
        await asyncio.gather(*(self._begin_fresh(tid) for tid in transactional_ids))

    async def _begin_fresh(self, transactional_id: str) -> None:
        for attempt in (1, 2):
            producer = self._transaction_producers.get(transactional_id)
            if producer is None or producer._txn_manager.is_fatal_error():
                await self.retire(transactional_id)
                producer = self._new_producer(transactional_id=transactional_id)
                await producer.start()
                self._transaction_producers[transactional_id] = producer
                self._trn_locks.setdefault(transactional_id, asyncio.Lock())
            try:
                async with self._trn_locks[transactional_id]:
                    if producer._txn_manager.is_in_transaction():
                        await producer.abort_transaction()
                    await producer.begin_transaction()
                return
            except Exception as exc:
                if attempt == 2 or not _fenced(producer, exc):
                    raise
                # Fenced by a member of an older generation that has not noticed yet: this
                # worker holds the partition now, so it registers again and fences that one.
                self.log.warning("producer %s fenced at assignment: replacing it", transactional_id)
                await self.retire(transactional_id)

    async def retire(self, transactional_id: str) -> None:
        producer = self._transaction_producers.pop(transactional_id, None)
        if producer is not None:
            await producer.stop()

    async def retire_if_fenced(self, transactional_id: str, exc: BaseException) -> bool:
        """Retire the producer of `transactional_id` if `exc` shows it was fenced."""
        producer = self._transaction_producers.get(transactional_id)
        if producer is None or not _fenced(producer, exc):
            return False
        await self.retire(transactional_id)
        return True


def _fenced(producer: Any, exc: BaseException) -> bool:
    """Whether `producer` can no longer work because another one took its transactional id
    (aiokafka puts it in a fatal state; a later call then fails with IllegalOperation)."""
    return isinstance(exc, ProducerFenced) or producer._txn_manager.is_fatal_error()


class Transport(faust_aiokafka.Transport):
    """aiokafka transport whose transactions follow the source partition."""

    Consumer = Consumer
    Producer = Producer
    TransactionManager = SourcePartitionTransactions
