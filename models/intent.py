"""The intent classifier: a sentence encoder (frozen) and a linear head trained in torch.

At run time both are numpy and ONNX Runtime (models.encoder, ADR 0028): no torch.

The API the conversation agent uses:

    classifier = IntentClassifier.load()          # once: encoder + committed artifact
    for p in classifier.classify(["já paguei", "me manda o pix"]):
        p.label, p.confidence, p.needs_human      # needs_human: confidence below the threshold
    classifier.version                            # "intent-<hash>", goes into IntentClassified

The artifact is small (the head, the label list, the calibrated threshold, the version and the
encoder it was trained on) and committed; the encoder comes from `models.encoder`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from models.dataset import LABELS
from models.encoder import OnnxEncoder, encoder_name, load_encoder
from models.errors import ArtifactError

Matrix = npt.NDArray[np.float32]

__all__ = [
    "DEFAULT_ARTIFACT",
    "Artifact",
    "IntentClassifier",
    "Prediction",
    "embed_texts",
    "softmax",
]

DEFAULT_ARTIFACT: Final = Path(__file__).parent / "artifacts" / "intent.safetensors"
ENCODE_BATCH: Final = 32
"""Texts per encoder forward pass: measured fastest on 2 cores (bench/classify_bench.py)."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """One message's intent."""

    label: str
    confidence: float
    """The head's softmax probability of `label`, 0.0-1.0."""
    needs_human: bool
    """Confidence below the calibrated threshold: route the message to a person."""


@dataclass(frozen=True, slots=True)
class Artifact:
    """What `cobranca model train` writes: a linear head over the encoder's embeddings."""

    weight: Matrix  # [labels, dim], float32
    bias: Matrix  # [labels], float32
    labels: tuple[str, ...]
    version: str
    encoder: str
    threshold: float
    input_scale: float
    """Embeddings are unit vectors; the head sees them times this (a fixed temperature)."""
    info: dict[str, Any] = field(default_factory=dict)
    """Config, data hashes and eval figures, for people and `cobranca model eval`."""

    def save(self, path: Path) -> None:
        from safetensors.numpy import save_file

        path.parent.mkdir(parents=True, exist_ok=True)
        fields = {
            "labels": list(self.labels),
            "version": self.version,
            "encoder": self.encoder,
            "threshold": self.threshold,
            "input_scale": self.input_scale,
            "info": self.info,
        }
        # One metadata key: safetensors writes its metadata map in no fixed order, and the same
        # training run must write the same bytes.
        metadata = {"cobranca": json.dumps(fields, sort_keys=True)}
        tensors = {
            "head.weight": np.ascontiguousarray(self.weight, dtype=np.float32),
            "head.bias": np.ascontiguousarray(self.bias, dtype=np.float32),
        }
        save_file(tensors, str(path), metadata=metadata)

    @classmethod
    def load(cls, path: Path) -> Artifact:
        from safetensors import safe_open

        if not path.is_file():
            raise ArtifactError(f"{path}: no intent artifact; run `cobranca model train`")
        try:
            with safe_open(str(path), framework="numpy") as fh:
                meta = fh.metadata() or {}
                weight, bias = fh.get_tensor("head.weight"), fh.get_tensor("head.bias")
            fields = json.loads(meta["cobranca"])
            artifact = cls(
                weight=weight,
                bias=bias,
                labels=tuple(fields["labels"]),
                version=str(fields["version"]),
                encoder=str(fields["encoder"]),
                threshold=float(fields["threshold"]),
                input_scale=float(fields["input_scale"]),
                info=dict(fields.get("info", {})),
            )
        except (KeyError, ValueError, OSError) as exc:
            raise ArtifactError(f"{path}: not a readable intent artifact ({exc})") from exc
        if set(artifact.labels) != set(LABELS):
            raise ArtifactError(f"{path}: labels {artifact.labels} are not {LABELS}")
        return artifact


def embed_texts(
    encoder: OnnxEncoder, texts: Sequence[str], batch_size: int = ENCODE_BATCH
) -> Matrix:
    """Unit-length sentence embeddings (the encoder's default prompt, "query: ", applied)."""
    return encoder.embed(texts, batch_size)


def softmax(logits: Matrix) -> Matrix:
    """Row-wise softmax, shifted by each row's maximum so large logits cannot overflow."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    probabilities: Matrix = (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)
    return probabilities


class IntentClassifier:
    """Load once, classify batches. Thread-compatible, not thread-safe (the encoder's state)."""

    def __init__(self, encoder: OnnxEncoder, artifact: Artifact) -> None:
        self.encoder = encoder
        self.artifact = artifact
        self._weight_t = np.ascontiguousarray(np.asarray(artifact.weight, dtype=np.float32).T)
        self._bias = np.asarray(artifact.bias, dtype=np.float32)

    @classmethod
    def load(
        cls,
        artifact_path: Path = DEFAULT_ARTIFACT,
        *,
        encoder: str | None = None,
        threads: int | None = None,
    ) -> IntentClassifier:
        """The committed artifact with the configured encoder; they must match."""
        artifact = Artifact.load(artifact_path)
        name = encoder or encoder_name()
        if name != artifact.encoder:
            raise ArtifactError(
                f"{artifact_path} was trained on encoder {artifact.encoder!r}, but the "
                f"configured encoder is {name!r} (COBRANCA_ENCODER): retrain with "
                "`cobranca model train` for this encoder, or unset COBRANCA_ENCODER"
            )
        return cls(load_encoder(name, threads=threads), artifact)

    @property
    def version(self) -> str:
        return self.artifact.version

    @property
    def threshold(self) -> float:
        return self.artifact.threshold

    @property
    def labels(self) -> tuple[str, ...]:
        return self.artifact.labels

    def embed(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> Matrix:
        return embed_texts(self.encoder, texts, batch_size)

    def probabilities(self, embeddings: Matrix) -> Matrix:
        """The head's softmax over the labels, one row per embedding."""
        inputs = np.asarray(embeddings, dtype=np.float32) * np.float32(self.artifact.input_scale)
        logits: Matrix = (inputs @ self._weight_t + self._bias).astype(np.float32)
        return softmax(logits)

    def classify(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> list[Prediction]:
        """One prediction per text, in order."""
        if not texts:
            return []
        return self.predict(self.probabilities(self.embed(texts, batch_size)))

    def predict(self, probabilities: Matrix) -> list[Prediction]:
        """Predictions from `probabilities` rows."""
        index = probabilities.argmax(axis=-1)
        confidence = probabilities[np.arange(len(index)), index]
        return [
            Prediction(self.labels[i], round(float(c), 4), float(c) < self.threshold)
            for c, i in zip(confidence.tolist(), index.tolist(), strict=True)
        ]
