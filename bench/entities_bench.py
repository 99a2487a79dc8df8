"""How cheap promised_date and amount_brl are: 10,000 replies, each function timed alone.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/entities_bench.py [--messages 10000] [--rounds 3]

The texts are the rows of entities_dev.jsonl, eval.jsonl and handwritten.jsonl, repeated to size
(the blind sets are never read). Prints the best of `--rounds` runs: total seconds and µs per
message for each function, with the load average, since the machine's cores are shared.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime

from models.dataset import EVAL_FILE, HANDWRITTEN_FILE, load_examples
from models.entities import SAO_PAULO, amount_brl, promised_date
from models.entity_eval import DEV_FILE, load_entity_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = [r.text for r in load_entity_rows(DEV_FILE)]
    texts += [e.text for path in (EVAL_FILE, HANDWRITTEN_FILE) for e in load_examples(path)]
    texts = (texts * (args.messages // len(texts) + 1))[: args.messages]
    ref = datetime(2026, 3, 13, 10, 0, tzinfo=SAO_PAULO)
    print(f"{len(texts)} texts, load average {os.getloadavg()[0]:.2f}")
    for name, call in (
        ("promised_date", lambda t: promised_date(t, ref)),
        ("amount_brl", amount_brl),
    ):
        best = float("inf")
        for _ in range(args.rounds):
            start = time.perf_counter()
            for text in texts:
                call(text)
            best = min(best, time.perf_counter() - start)
        print(f"{name:<13} {best:6.3f} s  {best / len(texts) * 1e6:6.1f} µs/message")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
