"""The ONNX encoder is the sentence-transformers encoder (ADR 0028), and runs without torch.

The equivalence tests need the provisioned sentence-transformers folder and the train extra
(sentence-transformers, torch): without them they skip saying so, except under CI=true, where
infra/bootstrap.sh has provisioned it and they must run.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.dataset import EVAL_FILE, load_examples
from models.encoder import FLOAT_ENCODER_NAME, OnnxEncoder, l2_normalize, load_encoder, mean_pool
from models.export import EXPORT_STEPS, MODEL_FILE, onnx_ok, provision_onnx
from models.intent import IntentClassifier
from models.provision import MANIFEST, PROVISION_STEPS, default_encoder_dir

ROOT = Path(__file__).resolve().parents[3]

EDGE_CASES = [
    "",
    "ok",
    "🙏🙏🙏",
    "JÁ PAGUEI!!!",
    "Olá,\tbom  dia! Quero parcelar em 3x de R$ 150,00",
    "\ufb01nanciamento \uff21\uff22\uff23 \u00bd",
    "não conheço essa pessoa, número errado " * 80,  # past 512 tokens: truncated
]


def _texts() -> list[str]:
    rows = load_examples(EVAL_FILE)
    sample = random.Random(28).sample([r.text for r in rows], 43)
    return sample + EDGE_CASES


# ---------------------------------------------------------------------------------------------
# Pooling and normalization, on small arrays
# ---------------------------------------------------------------------------------------------


def test_mean_pool_averages_only_the_unmasked_tokens() -> None:
    hidden = np.array(
        [[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 5.0], [9.0, 9.0], [9.0, 9.0]]],
        dtype=np.float32,
    )
    mask = np.array([[1, 1, 0], [1, 1, 1]], dtype=np.int64)
    pooled = mean_pool(hidden, mask)
    assert pooled.dtype == np.float32
    np.testing.assert_allclose(pooled, [[2.0, 3.0], [23 / 3, 23 / 3]], rtol=1e-6)


def test_mean_pool_of_a_row_without_tokens_is_zeros_not_nan() -> None:
    pooled = mean_pool(np.ones((1, 2, 3), dtype=np.float32), np.zeros((1, 2), dtype=np.int64))
    assert np.all(pooled == 0.0)


def test_l2_normalize_makes_unit_rows_and_keeps_zero_rows() -> None:
    vectors = np.array([[3.0, 4.0], [0.0, 0.0], [1e-3, 0.0]], dtype=np.float32)
    out = l2_normalize(vectors)
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [1.0, 0.0]], rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Equivalence with sentence-transformers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> Any:
    """sentence-transformers on the provisioned folder: what the ONNX encoder must reproduce."""
    folder = default_encoder_dir()
    reason = None
    if not (folder / MANIFEST).is_file():
        reason = f"the provisioned encoder is absent ({folder}): run `cobranca model provision`"
    elif find_spec("sentence_transformers") is None or find_spec("torch") is None:
        reason = "sentence-transformers/torch are not installed (the train extra)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"under CI=true the equivalence test must run: {reason}")
        pytest.skip(reason)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="module")
def onnx_encoder(onnx_dir: Path) -> OnnxEncoder:
    """The float export: the one that must compute what sentence-transformers computes."""
    return load_encoder(FLOAT_ENCODER_NAME, threads=2)


def test_onnx_embeddings_are_sentence_transformers_embeddings(
    reference: Any, onnx_encoder: OnnxEncoder
) -> None:
    texts = _texts()
    theirs = reference.encode(texts, batch_size=32, normalize_embeddings=True)
    ours = onnx_encoder.embed(texts, batch_size=32)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() > 0.9999, (cosines.min(), texts[int(cosines.argmin())])
    assert np.abs(ours - theirs).max() < 1e-4
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    # Batching and padding change nothing: one text alone embeds like it does in a batch.
    alone = np.concatenate([onnx_encoder.embed([t]) for t in texts[-len(EDGE_CASES) :]])
    assert np.abs(alone - ours[-len(EDGE_CASES) :]).max() < 1e-5


def test_the_head_predicts_the_same_labels_on_eval_from_either_encoder(
    reference: Any, onnx_encoder: OnnxEncoder, classifier: IntentClassifier
) -> None:
    texts = [e.text for e in load_examples(EVAL_FILE)]
    classifier = IntentClassifier(onnx_encoder, classifier.artifact)
    ours = classifier.predict(classifier.probabilities(classifier.embed(texts), texts))
    theirs_embeddings = reference.encode(texts, batch_size=32, normalize_embeddings=True)
    theirs = classifier.predict(classifier.probabilities(theirs_embeddings, texts))
    assert [p.label for p in ours] == [p.label for p in theirs]
    assert max(abs(a.confidence - b.confidence) for a, b in zip(ours, theirs, strict=True)) < 1e-3


# ---------------------------------------------------------------------------------------------
# The folder: cached, verified, and all that inference needs
# ---------------------------------------------------------------------------------------------


def test_a_second_provisioning_reuses_the_export(onnx_dir: Path) -> None:
    steps: list[tuple[str, int, int]] = []
    again = provision_onnx(
        onnx_dir,
        on_provision_step=lambda done, total: steps.append(("provision", done, total)),
        on_export_step=lambda done, total: steps.append(("export", done, total)),
    )
    assert again.built is False
    assert steps[-1] == ("export", EXPORT_STEPS, EXPORT_STEPS)
    assert ("provision", PROVISION_STEPS, PROVISION_STEPS) in steps
    manifest = json.loads((onnx_dir / MANIFEST).read_text())
    source = json.loads((default_encoder_dir() / MANIFEST).read_text())
    assert manifest["source"] == default_encoder_dir().name
    assert source["source_sha256"]  # the export is tied to that folder's manifest
    assert onnx_ok(onnx_dir, deep=True, source_sha256=manifest["source_manifest_sha256"])


def test_a_damaged_or_foreign_export_is_not_trusted(onnx_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in onnx_dir.iterdir():
        if p.name != MODEL_FILE:
            (copy / p.name).write_bytes(p.read_bytes())
    assert not onnx_ok(copy)  # the model is missing
    (copy / MODEL_FILE).symlink_to(onnx_dir / MODEL_FILE)
    assert onnx_ok(copy)
    assert not onnx_ok(copy, source_sha256="0" * 64)  # made from another folder
    config = copy / "encoder.json"
    config.write_text(config.read_text().replace('"query: "', '"QUERY: "'))
    assert onnx_ok(copy)  # same size: only the deep check sees it
    assert not onnx_ok(copy, deep=True)


def test_inference_imports_neither_torch_nor_sentence_transformers(onnx_dir: Path) -> None:
    script = (
        "import sys\n"
        "from models.intent import IntentClassifier\n"
        "from models.training import evaluate\n"
        "from models.dataset import EVAL_FILE, load_examples\n"
        "c = IntentClassifier.load(threads=2)\n"
        "print(c.classify(['já paguei ontem'])[0].label)\n"
        "print(round(evaluate(c, load_examples(EVAL_FILE)[:40]).report.accuracy, 3))\n"
        "heavy = ['torch', 'sentence_transformers', 'transformers', 'sklearn']\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print('heavy', heavy)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("COBRANCA_ENCODER", None)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "already_paid"
    assert lines[-1] == "heavy []"
