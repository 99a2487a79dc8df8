"""The fast path (ADR 0030): the int8 encoder against the float one, and the cache of embedded
texts, which must bound itself and change no prediction."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from models.dataset import EVAL_FILE, load_examples
from models.encoder import (
    FLOAT_ENCODER_NAME,
    INT8_ENCODER_NAME,
    OnnxEncoder,
    encoder_name,
    encoder_precision,
    load_encoder,
)
from models.errors import ProvisionError
from models.export import ENCODER_CONFIG, MODEL_FILE, int8_ok, provision_int8
from models.intent import IntentClassifier
from models.provision import MANIFEST
from models.training import report

# ---------------------------------------------------------------------------------------------
# The int8 encoder
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def float_encoder(onnx_dir: Path) -> OnnxEncoder:
    return load_encoder(FLOAT_ENCODER_NAME, threads=2)


@pytest.fixture(scope="module")
def int8_encoder(int8_dir: Path) -> OnnxEncoder:
    return load_encoder(INT8_ENCODER_NAME, threads=2)


def test_the_int8_encoder_runs_by_default_and_says_so_in_the_version(
    classifier: IntentClassifier,
) -> None:
    assert encoder_precision({}) == "int8"
    assert classifier.encoder.name == INT8_ENCODER_NAME
    # The artifact is trained on the float encoder; its int8 quantization runs it.
    assert classifier.artifact.encoder == encoder_name({}) == FLOAT_ENCODER_NAME
    assert classifier.version == classifier.artifact.version + "-int8"
    on_float = IntentClassifier.load(precision="float", threads=2, cache_size=0)
    assert on_float.encoder.name == FLOAT_ENCODER_NAME
    assert on_float.version == classifier.artifact.version


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(ProvisionError, match="COBRANCA_ENCODER_PRECISION='int4'"):
        encoder_precision({"COBRANCA_ENCODER_PRECISION": "int4"})
    assert encoder_precision({"COBRANCA_ENCODER_PRECISION": " Float "}) == "float"


def test_int8_embeddings_are_close_to_the_float_ones(
    float_encoder: OnnxEncoder, int8_encoder: OnnxEncoder
) -> None:
    texts = [e.text for e in load_examples(EVAL_FILE)]
    cosines = (float_encoder.embed(texts) * int8_encoder.embed(texts)).sum(axis=1)
    # Measured: min 0.991, mean 0.997.
    assert cosines.min() > 0.98, texts[int(cosines.argmin())]
    assert cosines.mean() > 0.995


def test_the_head_agrees_on_eval_from_either_encoder(
    float_encoder: OnnxEncoder, classifier: IntentClassifier
) -> None:
    """ADR 0030's tolerance: the same head on float embeddings loses or gains at most half a
    point of macro-F1 and changes at most 1 % of the labels."""
    rows = load_examples(EVAL_FILE)
    texts, truth = [e.text for e in rows], [e.label for e in rows]
    on_float = IntentClassifier(float_encoder, classifier.artifact)
    fast = [p.label for p in classifier.classify(texts)]
    slow = [p.label for p in on_float.classify(texts)]
    assert sum(a != b for a, b in zip(fast, slow, strict=True)) <= len(texts) // 100
    assert abs(report(truth, fast).macro_f1 - report(truth, slow).macro_f1) <= 0.005


def test_an_int8_embedding_moves_little_with_its_batch(int8_encoder: OnnxEncoder) -> None:
    """Activations are quantized with one scale per batch, so a text's embedding depends a
    little on its batch-mates (the float encoder's does not: test_onnx_encoder)."""
    texts = [e.text for e in load_examples(EVAL_FILE)][:64]
    together = int8_encoder.embed(texts)
    alone = np.concatenate([int8_encoder.embed([t]) for t in texts])
    assert (together * alone).sum(axis=1).min() > 0.98


def test_the_int8_folder_is_cached_and_named_for_what_it_is(int8_dir: Path) -> None:
    again = provision_int8(int8_dir)
    assert again.built is False
    manifest = json.loads((int8_dir / MANIFEST).read_text())
    assert int8_ok(int8_dir, deep=True, source_sha256=manifest["source_manifest_sha256"])
    config = json.loads((int8_dir / ENCODER_CONFIG).read_text())
    assert (config["name"], config["precision"]) == (INT8_ENCODER_NAME, "int8")
    # int8 weights: a quarter of the float export's bytes.
    float_size = (int8_dir.parent / int8_dir.name.removesuffix("-int8") / MODEL_FILE).stat()
    assert (int8_dir / MODEL_FILE).stat().st_size < float_size.st_size / 3


def test_a_foreign_int8_folder_is_not_trusted(int8_dir: Path) -> None:
    assert not int8_ok(int8_dir, source_sha256="0" * 64)


# ---------------------------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------------------------


def test_the_cache_keeps_at_most_its_size_and_drops_the_least_recently_used(
    int8_dir: Path,
) -> None:
    encoder = OnnxEncoder(int8_dir, threads=2, cache_size=3)
    encoder.embed(["ok", "obrigado", "?"])
    encoder.embed(["ok"])  # now the most recently used
    encoder.embed(["sim", "não"])
    assert len(encoder._cache) == 3
    assert [k.removeprefix(encoder.config.prompt) for k in encoder._cache] == ["ok", "sim", "não"]
    assert (encoder.cache_hits, encoder.cache_misses) == (1, 5)
    encoder.embed(["sim", "sim", "talvez"])  # a repeat within a call is embedded once
    assert (encoder.cache_hits, encoder.cache_misses) == (3, 6)
    assert len(encoder._cache) == 3
    encoder.clear_cache()
    assert (len(encoder._cache), encoder.cache_hits, encoder.cache_misses) == (0, 0, 0)


def test_no_cache_keeps_nothing(int8_dir: Path) -> None:
    encoder = OnnxEncoder(int8_dir, threads=2)
    encoder.embed(["ok", "ok"])
    assert len(encoder._cache) == 0


def test_cached_answers_are_the_answers_without_a_cache(
    int8_dir: Path, classifier: IntentClassifier
) -> None:
    texts = [e.text for e in load_examples(EVAL_FILE)]
    plain = IntentClassifier(OnnxEncoder(int8_dir, threads=2), classifier.artifact)
    cached = IntentClassifier(
        OnnxEncoder(int8_dir, threads=2, cache_size=len(texts)), classifier.artifact
    )
    expected = plain.classify(texts)
    assert cached.classify(texts) == expected  # every text a miss: the same batches
    assert cached.classify(texts) == expected  # every text a hit
    assert cached.encoder.cache_hits == len(texts)
    # Shuffled and in small calls, hits and misses mixed: a hit answers as computed before.
    order = random.Random(30).sample(range(len(texts)), len(texts))
    for start in range(0, len(order), 7):
        chunk = order[start : start + 7]
        assert cached.classify([texts[i] for i in chunk]) == [expected[i] for i in chunk]


def test_the_float_encoder_with_a_cache_embeds_as_without(float_encoder: OnnxEncoder) -> None:
    texts = ["ok", "obrigado", "ok", "?", "já paguei ontem", "obrigado"] * 3
    cached = OnnxEncoder(float_encoder.folder, threads=2, cache_size=4)
    for _ in range(2):
        np.testing.assert_allclose(cached.embed(texts), float_encoder.embed(texts), atol=1e-5)


def test_idle_threads_sleep_unless_asked_to_spin(int8_dir: Path) -> None:
    key = "session.intra_op.allow_spinning"
    sleeping = OnnxEncoder(int8_dir, threads=2).session.get_session_options()
    assert sleeping.get_session_config_entry(key) == "0"
    spinning = OnnxEncoder(int8_dir, threads=2, spin=True).session.get_session_options()
    with pytest.raises(RuntimeError):  # unset: ONNX Runtime's default, spinning
        spinning.get_session_config_entry(key)
