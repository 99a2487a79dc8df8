"""What the conversation policy costs per message, beside the entity extraction inside it.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/conversation_bench.py            # 20,000 messages
    ~/.cache/cobranca/venv/bin/python bench/conversation_bench.py --messages 5000

Pure CPU, no Kafka, no model: the keyword classifier of tests/intent_rules.py stands in for
the model (its cost is measured apart, so the model's own figures add to these). Over a mix
of realistic replies across 1,000 chats with imported debts it measures, in one process:

- ``entities``: promised_date + amount_brl on every text (the baseline: what the policy must do
  anyway);
- ``policy``: `handle_message` for every message (dedupe, lookups, entities, events with derived
  ids, state), messages/s, and its ratio to the baseline;
- ``rules``: the keyword classifier in batches of 32, messages/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.entities import amount_brl, promised_date
from streams.domain.intent import Classification
from streams.domain.reply_policy import ConversationBook, handle_message
from tests.factories import debt_indexed, inbound_message
from tests.intent_rules import KeywordClassifier

TEXTS = (
    "me manda o pix por favor",
    "vou pagar sexta, 150 reais",
    "ja paguei ontem, segue comprovante",
    "quero parcelar em 3x, consigo 200 de entrada",
    "isso não é meu, nunca comprei nada",
    "parem de mandar mensagem",
    "numero errado, não conheço essa pessoa",
    "quero falar com um atendente",
    "bom dia",
    "talvez semana que vem",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    n = args.messages
    now = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    book = ConversationBook()
    for chat in range(1000):
        book.apply(debt_indexed("acme", client_id=f"c{chat}", phone=f"+55119{chat:08d}"))
    messages = []
    for i in range(n):
        chat = i % 1000
        m = inbound_message(
            "acme",
            phone=f"+55119{chat:08d}",
            message_id=f"m{i}",
            body=TEXTS[i % len(TEXTS)],
            at=now,
        )
        messages.append(m)
    classifier = KeywordClassifier()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {n:,} messages")

    began = time.perf_counter()
    for m in messages:
        promised_date(m.body or "", m.timestamp)
        amount_brl(m.body or "")
    entities = n / (time.perf_counter() - began)

    began = time.perf_counter()
    readings = []
    for start in range(0, n, 32):
        batch = [m.body or "" for m in messages[start : start + 32]]
        readings.extend(Classification(*r) for r in classifier.classify(batch))
    rules = n / (time.perf_counter() - began)

    began = time.perf_counter()
    emitted = 0
    for m, reading in zip(messages, readings, strict=True):
        outcome = handle_message(
            book, m, reading, model_version="rules", threshold=classifier.threshold, now=now
        )
        emitted += len(outcome.events)
    policy = n / (time.perf_counter() - began)

    print(f"  entities: {entities:10,.0f} messages/s   (baseline: promised_date + amount_brl)")
    print(f"    policy: {policy:10,.0f} messages/s   policy/entities {policy / entities:.2f}")
    print(f"            {emitted:,} events emitted")
    print(f"     rules: {rules:10,.0f} messages/s   keyword classifier, batches of 32")


if __name__ == "__main__":
    main()
