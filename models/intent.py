"""The intent classifier: a sentence encoder (frozen) and a linear head trained in torch,
optionally averaged with a linear model over character n-grams (models.ngrams, ADR 0029).

At run time all of it is numpy and ONNX Runtime (models.encoder, ADR 0028): no torch.

The API the conversation agent uses:

    classifier = IntentClassifier.load()          # once: encoder + committed artifact
    for p in classifier.classify(["já paguei", "me manda o pix"]):
        p.label, p.confidence, p.needs_human      # needs_human: confidence below the threshold
    classifier.version                            # "intent-<hash>-int8", goes into IntentClassified

The artifact is small (the head, the label list, the calibrated threshold, the version and the
encoder it was trained on) and committed; the encoder comes from `models.encoder`, by default
the int8 quantization of the one the artifact was trained on (ADR 0030), and then the
classifier's version is the artifact's with "-int8".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from models.dataset import LABELS
from models.encoder import (
    OnnxEncoder,
    encoder_name,
    encoder_precision,
    load_encoder,
    runtime_encoder,
)
from models.errors import ArtifactError
from models.export import INT8_SUFFIX
from models.ngrams import NgramHead, NgramSpec
from models.provision import MANIFEST

Matrix = npt.NDArray[np.float32]

__all__ = [
    "CACHE_SIZE",
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
CACHE_SIZE: Final = 4096
"""Distinct texts whose embeddings the loaded classifier keeps (~1.5 KiB each, ~6 MiB):
replies like "ok" and "obrigado" repeat across debtors (ADR 0030)."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """One message's intent."""

    label: str
    confidence: float
    """The probability of `label`, 0.0-1.0: the head's, averaged with the n-gram model's when
    the artifact has one (docs/adr/0029)."""
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
    ngram: NgramHead | None = None
    """The ensemble's second model; None: the head alone decides."""

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
        tensors = {
            "head.weight": np.ascontiguousarray(self.weight, dtype=np.float32),
            "head.bias": np.ascontiguousarray(self.bias, dtype=np.float32),
        }
        if self.ngram is not None:
            spec = self.ngram.spec
            fields["ngram"] = {
                "min_n": spec.min_n,
                "max_n": spec.max_n,
                "buckets": spec.buckets,
                "input_scale": self.ngram.input_scale,
                "mix": self.ngram.mix,
            }
            tensors["ngram.weight"] = np.ascontiguousarray(self.ngram.weight, dtype=np.float32)
            tensors["ngram.bias"] = np.ascontiguousarray(self.ngram.bias, dtype=np.float32)
            tensors["ngram.idf"] = np.ascontiguousarray(self.ngram.idf, dtype=np.float32)
        # One metadata key: safetensors writes its metadata map in no fixed order, and the same
        # training run must write the same bytes.
        metadata = {"cobranca": json.dumps(fields, sort_keys=True)}
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
                ngram = None
                if "ngram" in fields:
                    n = fields["ngram"]
                    ngram = NgramHead(
                        spec=NgramSpec(int(n["min_n"]), int(n["max_n"]), int(n["buckets"])),
                        idf=fh.get_tensor("ngram.idf"),
                        weight=fh.get_tensor("ngram.weight"),
                        bias=fh.get_tensor("ngram.bias"),
                        input_scale=float(n["input_scale"]),
                        mix=float(n["mix"]),
                    )
            artifact = cls(
                weight=weight,
                bias=bias,
                labels=tuple(fields["labels"]),
                version=str(fields["version"]),
                encoder=str(fields["encoder"]),
                threshold=float(fields["threshold"]),
                input_scale=float(fields["input_scale"]),
                info=dict(fields.get("info", {})),
                ngram=ngram,
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


def blend(head: Matrix, ngram: Matrix, mix: float) -> Matrix:
    """The ensemble's probabilities: the head's and the n-gram model's, averaged with the n-gram
    model's share `mix` (ADR 0029)."""
    blended: Matrix = ((1.0 - mix) * head + mix * ngram).astype(np.float32)
    return blended


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
        precision: str | None = None,
        threads: int | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> IntentClassifier:
        """The committed artifact with the configured encoder; they must match. `precision`
        (default COBRANCA_ENCODER_PRECISION, else int8) picks the provisioned encoder's int8 or
        float folder; `cache_size`: distinct texts whose embeddings are kept (0: none)."""
        artifact = Artifact.load(artifact_path)
        name = encoder or encoder_name()
        if name != artifact.encoder:
            raise ArtifactError(
                f"{artifact_path} was trained on encoder {artifact.encoder!r}, but the "
                f"configured encoder is {name!r} (COBRANCA_ENCODER): retrain with "
                "`cobranca model train` for this encoder, or unset COBRANCA_ENCODER"
            )
        runtime = runtime_encoder(name, precision or encoder_precision())
        encoder_ = load_encoder(runtime, threads=threads, cache_size=cache_size)
        pinned = artifact.info.get("encoder_manifest_sha256")
        if pinned is not None:
            # A fine-tuned encoder's artifact pins the ONNX folder's manifest (every file's
            # SHA-256): the same name with other weights is refused (docs/adr/0031).
            manifest = encoder_.folder / MANIFEST
            try:
                actual = hashlib.sha256(manifest.read_bytes()).hexdigest()
            except OSError as exc:
                raise ArtifactError(f"{artifact_path}: cannot read {manifest} ({exc})") from exc
            if actual != pinned:
                raise ArtifactError(
                    f"{artifact_path} pins encoder manifest {pinned[:12]}…, but {manifest} is "
                    f"{actual[:12]}…: rebuild the encoder with `cobranca model train "
                    "--fine-tune` (same data and config) or retrain the artifact"
                )
        return cls(encoder_, artifact)

    @property
    def version(self) -> str:
        """The artifact's version, plus "-int8" when it runs on its encoder's int8 quantization:
        the same head answers a little differently there (ADR 0030), and events say which ran."""
        name = getattr(self.encoder, "name", None)  # tests score probabilities with no encoder
        quantized = name == self.artifact.encoder + INT8_SUFFIX
        return self.artifact.version + (INT8_SUFFIX if quantized else "")

    @property
    def threshold(self) -> float:
        return self.artifact.threshold

    @property
    def labels(self) -> tuple[str, ...]:
        return self.artifact.labels

    def embed(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> Matrix:
        return embed_texts(self.encoder, texts, batch_size)

    def probabilities(self, embeddings: Matrix, texts: Sequence[str]) -> Matrix:
        """The label probabilities, one row per text (`embeddings` are the texts'): the head's
        softmax, averaged with the n-gram model's when the artifact has one."""
        inputs = np.asarray(embeddings, dtype=np.float32) * np.float32(self.artifact.input_scale)
        logits: Matrix = (inputs @ self._weight_t + self._bias).astype(np.float32)
        head = softmax(logits)
        ngram = self.artifact.ngram
        if ngram is None:
            return head
        return blend(head, softmax(ngram.logits(texts)), ngram.mix)

    def classify(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> list[Prediction]:
        """One prediction per text, in order."""
        if not texts:
            return []
        return self.predict(self.probabilities(self.embed(texts, batch_size), texts))

    def predict(self, probabilities: Matrix) -> list[Prediction]:
        """Predictions from `probabilities` rows."""
        index = probabilities.argmax(axis=-1)
        confidence = probabilities[np.arange(len(index)), index]
        return [
            Prediction(self.labels[i], round(float(c), 4), float(c) < self.threshold)
            for c, i in zip(confidence.tolist(), index.tolist(), strict=True)
        ]
