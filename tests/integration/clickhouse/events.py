"""Put factory events into the raw tables the way the sink does (frames, batches, tokens)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from clickhouse_connect.driver.client import Client

from connectors.clickhouse.batches import Batch
from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY, Pseudonymizer
from connectors.clickhouse.raw_tables import RawTableWriter
from schemas.codec import encode
from schemas.events import Event
from streams.base.topics import topic_for_event

PSEUDONYMS = Pseudonymizer(DEV_PSEUDONYM_KEY)
WRITER = RawTableWriter(DEV_PSEUDONYM_KEY)


class FakeLog:
    """Events given offsets per topic (partition 0), turned into sink batches."""

    def __init__(self) -> None:
        self.next_offset: dict[str, int] = defaultdict(int)

    def batches(self, events: Iterable[Event], *, topic: str | None = None) -> list[Batch]:
        """One batch per topic for `events` (each on its event type's topic unless `topic` is
        given: the messages lane of a webhook), at the next offsets of each topic."""
        by_topic: dict[str, list[Event]] = defaultdict(list)
        for event in events:
            by_topic[topic or topic_for_event(event.header.event_type).name].append(event)
        batches = []
        for topic, topic_events in by_topic.items():
            start = self.next_offset[topic]
            rows = []
            for offset, event in enumerate(topic_events, start):
                row = WRITER.frame(offset, encode(event.to_representation()))
                assert row is not None
                rows.append(row)
            self.next_offset[topic] = start + len(topic_events)
            batches.append(Batch(topic, 0, start, start + len(topic_events), rows))
        return batches


def sink(client: Client, database: str, batches: Iterable[Batch]) -> None:
    for batch in batches:
        WRITER.insert(client, database, batch)


def scalar(client: Client, sql: str) -> object:
    return client.query(sql).result_rows[0][0]
