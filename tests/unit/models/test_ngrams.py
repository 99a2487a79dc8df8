"""The character n-gram features (pure) and the ensemble built on them: same input, same
numbers, in any process."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from models.dataset import LABELS
from models.intent import Artifact, IntentClassifier, softmax
from models.ngrams import (
    NgramHead,
    NgramSpec,
    densify,
    document_frequencies,
    fit_idf,
    hashed_counts,
    normalize,
    tfidf_rows,
)
from models.training import TrainConfig, choose_mix, fit_ngram_head

SPEC = NgramSpec(min_n=2, max_n=3, buckets=64)
TEXTS = ["já paguei ontem", "me manda o pix", "pago sexta", "nao conheço", "para de mandar"] * 2


def test_normalize_folds_case_accents_and_spaces_and_pads_the_ends() -> None:
    assert normalize("  Já   PAGUEI ") == " ja paguei "
    assert normalize("Não\tconheço") == " nao conheco "
    assert normalize("👍") == " 👍 "
    assert normalize("   ") == ""


def test_hashed_counts_are_crc32_buckets_of_every_n_gram() -> None:
    counts = hashed_counts("Aa", SPEC)
    grams = [" a", "aa", "a ", " aa", "aa "]  # of " aa ": three 2-grams, two 3-grams
    expected: dict[int, int] = {}
    for gram in grams:
        bucket = zlib.crc32(gram.encode()) % SPEC.buckets
        expected[bucket] = expected.get(bucket, 0) + 1
    assert dict(counts) == expected
    assert sum(counts.values()) == 5
    # Pinned: Python's salted hash() would change these between processes.
    assert hashed_counts("pix", NgramSpec(2, 2, 1 << 14)) == {
        zlib.crc32(b" p") % (1 << 14): 1,
        zlib.crc32(b"pi") % (1 << 14): 1,
        zlib.crc32(b"ix") % (1 << 14): 1,
        zlib.crc32(b"x ") % (1 << 14): 1,
    }
    assert hashed_counts("", SPEC) == {}


def test_idf_weighs_rare_buckets_up() -> None:
    texts = ["aa", "aa", "bb"]
    df = document_frequencies(texts, SPEC)
    idf = fit_idf(texts, SPEC)
    common = zlib.crc32(b"aa") % SPEC.buckets
    rare = zlib.crc32(b"bb") % SPEC.buckets
    assert df[common] == 2 and df[rare] == 1
    assert idf[rare] > idf[common] >= 1.0


def test_tfidf_rows_are_unit_length_and_fold_spelling_variants_together() -> None:
    idf = fit_idf(TEXTS, SPEC)
    rows = tfidf_rows(["Já PAGUEI", "ja paguei", ""], idf, SPEC)
    assert np.array_equal(rows[0].indices, rows[1].indices)
    assert np.array_equal(rows[0].values, rows[1].values)
    assert np.linalg.norm(rows[0].values) == pytest.approx(1.0, abs=1e-6)
    assert (np.diff(rows[0].indices) > 0).all()  # ascending, distinct
    assert len(rows[2].indices) == 0
    dense = densify(rows, SPEC.buckets)
    assert dense.shape == (3, SPEC.buckets)
    assert dense[0, rows[0].indices].tolist() == rows[0].values.tolist()
    assert not dense[2].any()


def _ngram_head(mix: float) -> NgramHead:
    targets = torch.tensor([i % len(LABELS) for i in range(len(TEXTS))])
    config = TrainConfig(
        epochs=3, ngram_min_n=SPEC.min_n, ngram_max_n=SPEC.max_n, ngram_buckets=SPEC.buckets
    )
    idf, weight, bias = fit_ngram_head(TEXTS, targets, config)
    return NgramHead(config.ngram_spec(), idf, weight, bias, config.input_scale, mix)


def test_the_n_gram_model_is_reproducible_and_its_logits_read_only_a_texts_buckets() -> None:
    first, second = _ngram_head(0.5), _ngram_head(0.5)
    for a, b in [(first.idf, second.idf), (first.weight, second.weight)]:
        assert np.array_equal(a, b)
    assert np.array_equal(first.bias, second.bias)
    assert first.weight.shape == (len(LABELS), SPEC.buckets)
    rows = tfidf_rows(TEXTS[:3], first.idf, SPEC)
    dense = densify(rows, SPEC.buckets) * first.input_scale
    expected = dense @ first.weight.T + first.bias
    assert np.allclose(first.logits(TEXTS[:3]), expected, atol=1e-5)


def _artifact(ngram: NgramHead | None) -> Artifact:
    rng = np.random.default_rng(0)
    return Artifact(
        weight=rng.standard_normal((len(LABELS), 8)).astype(np.float32),
        bias=np.zeros(len(LABELS), dtype=np.float32),
        labels=LABELS,
        version="intent-test",
        encoder="test-encoder",
        threshold=0.5,
        input_scale=10.0,
        ngram=ngram,
    )


def test_the_ensemble_artifact_writes_the_same_bytes_and_reads_back_the_same_model(
    tmp_path: Path,
) -> None:
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    _artifact(_ngram_head(0.4)).save(one)
    _artifact(_ngram_head(0.4)).save(two)
    assert one.read_bytes() == two.read_bytes()
    loaded = Artifact.load(one)
    assert loaded.ngram is not None and loaded.ngram.mix == 0.4
    assert loaded.ngram.spec == SPEC

    embeddings = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    texts = TEXTS[:3]
    # The encoder is not used: probabilities take the texts' embeddings as given.
    ensemble = IntentClassifier(None, loaded)  # type: ignore[arg-type]
    head_alone = IntentClassifier(None, _artifact(None))  # type: ignore[arg-type]
    head = head_alone.probabilities(embeddings, texts)
    ngram = softmax(loaded.ngram.logits(texts))
    mixed = ensemble.probabilities(embeddings, texts)
    assert np.allclose(mixed, 0.6 * head + 0.4 * ngram, atol=1e-6)
    assert np.allclose(mixed.sum(axis=1), 1.0, atol=1e-5)


def test_choose_mix_takes_the_best_share_and_the_smaller_on_a_tie() -> None:
    truth = ["opt_out", "other"]
    opt_out, other = LABELS.index("opt_out"), LABELS.index("other")
    head = np.full((2, len(LABELS)), 0.01, dtype=np.float32)
    ngram = head.copy()
    head[0, opt_out] = head[1, opt_out] = 0.9  # right on the first row only
    ngram[0, opt_out], ngram[1, other] = 0.6, 0.95  # right on both
    assert 0.0 < choose_mix(head, ngram, truth) <= 1.0
    assert choose_mix(head, head, truth) == 0.0  # nothing to gain: the head alone
