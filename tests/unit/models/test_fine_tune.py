"""The encoder's contrastive fine-tuning: seeded, balanced pairs; a name that hashes what shapes
the weights; a few real steps that move the transformer layers, the same way twice."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from models.dataset import LABELS
from models.fine_tune import (
    FINE_TUNE_STEPS,
    FineTuneConfig,
    fine_tune_model,
    fine_tuned_name,
    sample_pairs,
)
from models.provision import DEFAULT_ENCODER_NAME

LABELLED = [LABELS[i % len(LABELS)] for i in range(9 * 5)] + ["other"] * 3
"""Five rows per label, eight for other: unbalanced on purpose."""


def test_pairs_are_seeded() -> None:
    assert sample_pairs(LABELLED, seed=1) == sample_pairs(LABELLED, seed=1)
    assert sample_pairs(LABELLED, seed=1) != sample_pairs(LABELLED, seed=2)


def test_each_batch_holds_one_pair_of_every_label() -> None:
    batches = sample_pairs(LABELLED, seed=3)
    assert len(batches) == 8  # the largest label's rows: each is an anchor once
    for batch in batches:
        assert sorted(LABELLED[a] for a, _ in batch) == sorted(LABELS)
        for anchor, positive in batch:
            assert anchor != positive
            assert LABELLED[anchor] == LABELLED[positive]


def test_every_row_is_an_anchor_each_epoch() -> None:
    anchors = Counter(a for batch in sample_pairs(LABELLED, seed=4, epochs=2) for a, _ in batch)
    assert set(anchors) == set(range(len(LABELLED)))
    others = [i for i, label in enumerate(LABELLED) if label == "other"]
    assert all(anchors[i] == 2 for i in others)  # the largest label: exactly `epochs` times
    assert sum(anchors.values()) == 16 * len(LABELS)


def test_a_label_with_one_row_makes_no_pairs() -> None:
    assert sorted(sample_pairs(["opt_out", "other", "other"], seed=5)) == [[(1, 2)], [(2, 1)]]
    assert sample_pairs(["opt_out"], seed=5) == []


def test_the_name_hashes_base_data_and_config() -> None:
    files = [("train.jsonl", b"a"), ("handwritten.jsonl", b"b")]
    name = fine_tuned_name("base", files, FineTuneConfig())
    assert name.startswith(f"{DEFAULT_ENCODER_NAME}-ft-")
    assert name == fine_tuned_name("base", files, FineTuneConfig())
    assert name != fine_tuned_name("other base", files, FineTuneConfig())
    assert name != fine_tuned_name("base", [("train.jsonl", b"a2"), files[1]], FineTuneConfig())
    assert name != fine_tuned_name("base", files, replace(FineTuneConfig(), learning_rate=1e-5))


def test_a_few_steps_move_the_layers_not_the_token_embeddings(encoder_dir: Path) -> None:
    """Two real steps on the provisioned encoder, twice from the same weights: the same losses
    and weights each time (seeded pairs and dropout, deterministic algorithms)."""
    torch = pytest.importorskip("torch")
    from sentence_transformers import SentenceTransformer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(2)
    model = SentenceTransformer(str(encoder_dir), device="cpu")
    transformer: Any = model[0].auto_model
    # Everything the steps may move (all but the token embeddings, which they must not).
    start = {
        k: v.clone() for k, v in transformer.state_dict().items() if "word_embeddings" not in k
    }
    tokens = transformer.get_input_embeddings().weight.clone()
    texts = [f"{label} resposta {i}" for i, label in enumerate(LABELLED)]
    config = replace(FineTuneConfig(), max_length=16, learning_rate=1e-4)

    first = fine_tune_model(model, texts, LABELLED, config, max_steps=2)
    after_first = {k: v.clone() for k, v in transformer.state_dict().items() if k in start}
    transformer.load_state_dict(start, strict=False)
    second = fine_tune_model(model, texts, LABELLED, config, max_steps=2)

    assert len(first) == 2 and first == second
    key = "encoder.layer.11.output.dense.weight"
    assert not torch.equal(after_first[key], start[key])
    assert all(torch.equal(after_first[k], transformer.state_dict()[k]) for k in start)
    assert torch.equal(transformer.get_input_embeddings().weight, tokens)
    assert model.max_seq_length == 512 and not model.training


def test_an_encoder_is_found_by_name_under_the_models_dir(
    onnx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an artifact trained on a fine-tuned encoder records is a name; the encoder loads it
    from `<COBRANCA_MODELS_DIR>/<name>-onnx` when that folder is complete, else says how."""
    from models.encoder import load_encoder
    from models.errors import ProvisionError
    from models.export import onnx_dir as named_onnx_dir
    from models.provision import MODELS_DIR_ENV

    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    name = f"{DEFAULT_ENCODER_NAME}-ft-000000000000"
    with pytest.raises(ProvisionError, match="no ONNX encoder"):
        load_encoder(name)
    folder = named_onnx_dir(name)
    folder.mkdir()
    for source in onnx_dir.iterdir():
        (folder / source.name).symlink_to(source)
    assert load_encoder(name).folder == folder


def test_a_fine_tuned_encoder_in_place_is_not_built_again(
    encoder_dir: Path, onnx_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name hashes everything that shapes the weights, so a complete `<name>-onnx` folder
    is the same encoder: `provision_fine_tuned` returns it without loading torch's model."""
    from models.export import onnx_dir as named_onnx_dir
    from models.fine_tune import provision_fine_tuned
    from models.provision import MANIFEST, MODELS_DIR_ENV

    models = tmp_path / "models"
    models.mkdir()
    (models / DEFAULT_ENCODER_NAME).symlink_to(encoder_dir)
    monkeypatch.setenv(MODELS_DIR_ENV, str(models))
    rows = tmp_path / "train.jsonl"
    rows.write_text('{"text": "já paguei", "label": "already_paid"}\n', encoding="utf-8")
    base = hashlib.sha256((encoder_dir / MANIFEST).read_bytes()).hexdigest()
    name = fine_tuned_name(base, [(rows.name, rows.read_bytes())], FineTuneConfig())
    folder = named_onnx_dir(name)
    folder.mkdir()
    for source in onnx_dir.iterdir():
        (folder / source.name).symlink_to(source)
    steps: list[tuple[int, int]] = []
    tuned = provision_fine_tuned(
        [rows], FineTuneConfig(), on_step=lambda done, total: steps.append((done, total))
    )
    assert (tuned.name, tuned.onnx_path, tuned.built) == (name, folder, False)
    assert steps == [(FINE_TUNE_STEPS, FINE_TUNE_STEPS)]


def test_an_artifact_refuses_an_encoder_whose_manifest_it_does_not_pin(
    onnx_dir: Path, tmp_path: Path
) -> None:
    from dataclasses import replace as replaced

    from models.errors import ArtifactError
    from models.intent import DEFAULT_ARTIFACT, Artifact, IntentClassifier

    pinned = tmp_path / "pinned.safetensors"
    artifact = Artifact.load(DEFAULT_ARTIFACT)
    replaced(artifact, info={"encoder_manifest_sha256": "0" * 64}).save(pinned)
    with pytest.raises(ArtifactError, match="pins encoder manifest 000000000000"):
        IntentClassifier.load(pinned, threads=1)
