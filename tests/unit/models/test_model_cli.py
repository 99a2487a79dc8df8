"""`cobranca model eval --json` and `model train`'s steps, with the real model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from models.dataset import EVAL_FILE, LABELS, TRAIN_FILE, load_examples
from models.encoder import encoder_name
from models.training import TRAIN_STEPS, TrainConfig, train

ROOT = Path(__file__).resolve().parents[3]


def _cobranca(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("COBRANCA_ENCODER", None)
    return subprocess.run(
        [sys.executable, "-m", "streams.ops.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )


def test_eval_json_has_the_texts_figures(onnx_dir: Path) -> None:
    text = _cobranca("model", "eval")
    as_json = _cobranca("model", "eval", "--json")
    assert text.returncode == as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    rows = len(load_examples(EVAL_FILE))
    assert document["rows"] == rows
    assert f"{document['model_version']} on {EVAL_FILE} ({rows} rows)" in text.stdout
    assert f"macro-F1 {document['macro_f1']:.3f}" in text.stdout
    assert [s["label"] for s in document["per_label"]] == list(LABELS)
    assert document["confusion"]["labels"] == list(LABELS)
    assert sum(map(sum, document["confusion"]["rows"])) == rows
    assert sum(s["support"] for s in document["per_label"]) == rows
    assert as_json.stderr == ""  # no progress bar in a pipe


def test_training_reports_each_step(onnx_dir: Path, tmp_path: Path) -> None:
    # A few rows of each label: the steps, not the model's quality, are under test.
    small = tmp_path / "train.jsonl"
    seen: dict[str, int] = {}
    lines = []
    for line in TRAIN_FILE.read_text(encoding="utf-8").splitlines():
        label = json.loads(line)["label"]
        if seen.get(label, 0) < 3:
            seen[label] = seen.get(label, 0) + 1
            lines.append(line)
    small.write_text("\n".join(lines) + "\n", encoding="utf-8")
    steps: list[tuple[int, int]] = []
    train(
        [small],
        small,
        TrainConfig(epochs=1),
        encoder=encoder_name(),
        threads=2,
        on_step=lambda done, total: steps.append((done, total)),
    )
    assert steps == [(n, TRAIN_STEPS) for n in range(1, TRAIN_STEPS + 1)]


def test_eval_unseen_leaves_out_rows_the_model_was_trained_or_tuned_on(
    onnx_dir: Path, tmp_path: Path
) -> None:
    trained = load_examples(TRAIN_FILE)[0]
    tuned = load_examples(EVAL_FILE)[0]
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "\n".join(
            json.dumps({"text": text, "label": label}, ensure_ascii=False)
            for text, label in [
                (trained.text.upper() + "!", trained.label),  # the same text, folded
                (tuned.text, tuned.label),
                ("uma frase que ninguém escreveu antes, juro", "other"),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = _cobranca("model", "eval", "--eval-file", str(rows), "--unseen", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 1
