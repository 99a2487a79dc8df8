"""The API's conversation book (streams/domain/conversations.py, ADR 0026) in memory: how fast it
folds events, how much a kept message costs, how long a list and a thread take.

Run on demand (not a test):

    PYTHONPATH=. ~/.cache/cobranca/venv/bin/python bench/conversation_book_bench.py
    PYTHONPATH=. ~/.cache/cobranca/venv/bin/python bench/conversation_book_bench.py --chats 20000

Each chat gets `--exchanges` inbound messages (~45 characters), their IntentClassified and one
send each, as the factories of the tests build them (no broker: decoding is not measured).
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from schemas.events import Event
from streams.domain.conversations import ConversationBook
from tests.factories import inbound_message, intent_classified, send_requested

T0 = datetime(2026, 12, 7, tzinfo=UTC)


def events(chats: int, exchanges: int) -> Iterator[Event]:
    for c in range(chats):
        phone = f"+55119{c:08d}"
        for i in range(exchanges):
            at = T0 + timedelta(seconds=i)
            message_id = f"m{c}-{i}"
            body = f"vou pagar na sexta-feira, pode ser? {i}"
            yield inbound_message("acme", phone=phone, message_id=message_id, body=body, at=at)
            yield intent_classified("acme", phone=phone, message_id=message_id)
            yield send_requested("acme", f"r{c}-{i}", phone=phone, at=at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument("--exchanges", type=int, default=10)
    args = parser.parse_args()
    kept = args.chats * args.exchanges * 2

    tracemalloc.start()
    book = ConversationBook()
    for event in events(args.chats, args.exchanges):
        book.apply(event)
    gc.collect()
    memory, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    folded = list(events(args.chats, args.exchanges))
    book = ConversationBook()
    started = time.perf_counter()
    for event in folded:
        book.apply(event)
    applied = time.perf_counter() - started
    count = len(folded)
    del folded  # a follower keeps no event once applied; a collection over them is not the book's
    gc.collect()
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        rows = book.summaries("acme")
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    book.thread("acme", "+551190000042")
    thread = time.perf_counter() - started
    print(f"{count:,} events applied at {count / applied:,.0f}/s")
    print(f"{memory / 1e6:.1f} MB for {kept:,} messages kept: {memory / kept:.0f} B each")
    print(f"list of {len(rows):,} chats: {timings[0] * 1e3:.0f} ms, then {timings[1] * 1e3:.1f} ms")
    print(f"one thread: {thread * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
