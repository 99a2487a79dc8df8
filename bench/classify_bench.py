"""Intent classification figures: the float model and the fast path (int8, cache), in one run.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/classify_bench.py --messages 300 \
        --latency-calls 50 --threads 2
    ~/.cache/cobranca/venv/bin/python bench/classify_bench.py --messages 1000 --repeat-share 0.5

Loads the committed classifier twice (ADR 0030): ``float``, its artifact on the float32 ONNX
export it was trained on, with ADR 0028's settings (idle threads spinning), and ``fast``, the
same artifact as `IntentClassifier.load` runs it by default: on that export's int8
quantization, idle threads sleeping. `--float-spin off` runs the float model with sleeping
threads too, to tell the two changes apart. On `--messages` replies drawn from the evaluation
split (repeated to size), each path measures:

- ``encoder``: the bare encoder on the texts, batch 32;
- ``classify``: `IntentClassifier.classify`, batch 32: encoder, head, n-gram model, blend;
- ``cli``: `classify_lines`, what `cobranca classify` runs per line: JSON parsing, the model,
  promised_date and amount_brl, JSON output (to memory);
- ``latency``: `--latency-calls` single-message `classify([text])` calls, p50 and p95.

None of these use the cache: every text is encoded. ``cached`` then runs the fast classifier
with its cache (`models.intent.CACHE_SIZE`), empty at the start, on a mix: `--repeat-share` of
the messages are short replies that recur across debtors (`SHORT_REPLIES`, drawn with weights
1/rank), the rest distinct evaluation replies, shuffled (seeded) and classified in chunks of 32
as a worker would meet them; the hit rate is printed. No traffic log exists to take the share
from: it is an assumption, stated with the figure.

Each measurement runs `--rounds` times, float and fast alternated, and the median is reported
with the ratio fast / float. Goals (issue 15): >= 300 messages/s batched on 2 cores, p95 <=
50 ms for one message. The figures move with whatever else runs: the load average is printed
at the start, after each round and at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHORT_REPLIES: Final = (
    "ok",
    "obrigado",
    "?",
    "sim",
    "Ok",
    "obrigada",
    "não",
    "blz",
    "ok obrigado",
    "bom dia",
    "👍",
    "certo",
    "ta bom",
    "quem é?",
    "boa tarde",
    "entendi",
    "Sim",
    "oi",
    "pode ser",
    "??",
)
"""Replies that recur verbatim across debtors, most frequent first (an assumption: no traffic
log exists); the cached mix draws them with weights 1/rank."""


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--float-spin",
        choices=("on", "off"),
        default="on",
        help="the float model's idle threads spin (ADR 0028's setting) or sleep",
    )
    parser.add_argument(
        "--repeat-share",
        type=float,
        default=0.3,
        help="share of the cached mix drawn from SHORT_REPLIES",
    )
    args = parser.parse_args()

    from models.cli import classify_lines
    from models.dataset import EVAL_FILE, load_examples
    from models.encoder import OnnxEncoder
    from models.export import default_onnx_dir
    from models.intent import CACHE_SIZE, IntentClassifier, embed_texts

    print(f"cores {os.cpu_count()}, {load()} at the start, threads {args.threads}")
    start = time.perf_counter()
    fast = IntentClassifier.load(precision="int8", threads=args.threads, cache_size=0)
    fast_load = time.perf_counter() - start
    start = time.perf_counter()
    # The float model as ADR 0028 ran it: float weights, idle threads spinning.
    float_encoder = OnnxEncoder(
        default_onnx_dir(), threads=args.threads, spin=args.float_spin == "on"
    )
    slow = IntentClassifier(float_encoder, fast.artifact)
    float_load = time.perf_counter() - start
    print(
        f"load: fast {fast_load:.1f} s ({fast.encoder.name}, {fast.version}), "
        f"float {float_load:.1f} s ({slow.encoder.name}, {slow.version}, "
        f"spinning {args.float_spin})"
    )

    rows = load_examples(EVAL_FILE)
    texts = [rows[i % len(rows)].text for i in range(args.messages)]
    paths = {"float": slow, "fast": fast}
    for classifier in paths.values():
        classifier.classify(texts[:64])  # warm-up: first-call allocations, thread pools
    lines = [
        json.dumps({"text": t, "ref_time": "2026-03-13T10:00:00-03:00"}).encode() for t in texts
    ]

    messages: int = args.messages

    def rate(fn: Callable[[], object]) -> float:
        begin = time.perf_counter()
        fn()
        return messages / (time.perf_counter() - begin)

    def cli(classifier: IntentClassifier) -> None:
        out, err = io.BytesIO(), io.StringIO()
        classify_lines(
            lines,
            lambda batch: [(p.label, p.confidence) for p in classifier.classify(batch)],
            out,
            err,
            now=datetime.now(UTC),
        )

    def latencies(classifier: IntentClassifier) -> list[float]:
        took = []
        for text in texts[: args.latency_calls]:
            begin = time.perf_counter()
            classifier.classify([text])
            took.append((time.perf_counter() - begin) * 1000)
        return took

    figures: dict[str, dict[str, list[float]]] = {
        name: {"encoder": [], "classify": [], "cli": [], "latency": []} for name in paths
    }
    for number in range(args.rounds):
        for name, classifier in paths.items():
            row = figures[name]
            row["encoder"].append(rate(partial(embed_texts, classifier.encoder, texts, 32)))
            row["classify"].append(rate(partial(classifier.classify, texts, 32)))
            row["cli"].append(rate(partial(cli, classifier)))
            row["latency"].extend(latencies(classifier))
        print(f"round {number + 1}/{args.rounds} done, {load()}")

    def median(name: str, key: str) -> float:
        return statistics.median(figures[name][key])

    print(f"\n{'':10} {'float':>10} {'fast':>10}  fast/float")
    for key in ("encoder", "classify", "cli"):
        a, b = median("float", key), median("fast", key)
        print(f"{key:10} {a:10.1f} {b:10.1f}  {b / a:5.2f}x   msg/s, batch 32")
    for q, label in ((49, "p50"), (94, "p95")):
        a = statistics.quantiles(figures["float"]["latency"], n=100)[q]
        b = statistics.quantiles(figures["fast"]["latency"], n=100)[q]
        print(f"{'one ' + label:10} {a:10.1f} {b:10.1f}  {b / a:5.2f}x   ms, one message")

    # The cached path: the fast classifier with its cache, on the stated mix.
    generator = random.Random(30)
    distinct = [r.text for r in rows]
    generator.shuffle(distinct)
    repeats = round(args.messages * args.repeat_share)
    weights = [1 / rank for rank in range(1, len(SHORT_REPLIES) + 1)]
    mix = generator.choices(SHORT_REPLIES, weights=weights, k=repeats)
    mix += [distinct[i % len(distinct)] for i in range(args.messages - repeats)]
    generator.shuffle(mix)
    cached = IntentClassifier.load(precision="int8", threads=args.threads)
    cached.classify(["aquecimento"])  # warm-up, one entry
    on_mix: dict[str, list[float]] = {"float": [], "fast": [], "cached": []}

    def stream(classifier: IntentClassifier) -> None:
        for begin in range(0, len(mix), 32):
            classifier.classify(mix[begin : begin + 32])

    for _ in range(args.rounds):
        cached.encoder.clear_cache()
        on_mix["cached"].append(rate(partial(stream, cached)))
        on_mix["fast"].append(rate(partial(stream, fast)))
        on_mix["float"].append(rate(partial(stream, slow)))
    hits, misses = cached.encoder.cache_hits, cached.encoder.cache_misses
    a, b, c = (statistics.median(on_mix[k]) for k in ("float", "fast", "cached"))
    print(
        f"\nmix: {args.repeat_share:.0%} short repeated replies, chunks of 32 "
        f"(cache of {CACHE_SIZE}, {hits / (hits + misses):.0%} hits)"
    )
    print(f"{'mix':10} {a:10.1f} {b:10.1f}  {b / a:5.2f}x   msg/s, no cache")
    print(f"{'mix cached':10} {'':10} {c:10.1f}  {c / a:5.2f}x   msg/s, fast with its cache")
    print(f"{load()} at the end")


if __name__ == "__main__":
    main()
