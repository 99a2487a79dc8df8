"""The intent classifier: a sentence encoder (frozen) and a linear head trained in torch.

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
from typing import TYPE_CHECKING, Any, Final

from models.dataset import LABELS
from models.encoder import encoder_name, load_encoder
from models.errors import ArtifactError

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

__all__ = ["DEFAULT_ARTIFACT", "Artifact", "IntentClassifier", "Prediction", "embed_texts"]

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

    weight: torch.Tensor  # [labels, dim]
    bias: torch.Tensor  # [labels]
    labels: tuple[str, ...]
    version: str
    encoder: str
    threshold: float
    input_scale: float
    """Embeddings are unit vectors; the head sees them times this (a fixed temperature)."""
    info: dict[str, Any] = field(default_factory=dict)
    """Config, data hashes and eval figures, for people and `cobranca model eval`."""

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

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
        tensors = {"head.weight": self.weight.contiguous(), "head.bias": self.bias.contiguous()}
        save_file(tensors, str(path), metadata=metadata)

    @classmethod
    def load(cls, path: Path) -> Artifact:
        from safetensors import safe_open

        if not path.is_file():
            raise ArtifactError(f"{path}: no intent artifact; run `cobranca model train`")
        try:
            with safe_open(str(path), framework="pt") as fh:
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
    encoder: SentenceTransformer, texts: Sequence[str], batch_size: int = ENCODE_BATCH
) -> torch.Tensor:
    """Unit-length sentence embeddings (the encoder's default prompt, "query: ", applied)."""
    import torch

    with torch.inference_mode():
        out = encoder.encode(
            list(texts), batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True
        )
    return out.float()


class IntentClassifier:
    """Load once, classify batches. Thread-compatible, not thread-safe (torch module state)."""

    def __init__(self, encoder: SentenceTransformer, artifact: Artifact) -> None:
        import torch

        self.encoder = encoder
        self.artifact = artifact
        self._head = torch.nn.Linear(artifact.weight.shape[1], artifact.weight.shape[0])
        with torch.no_grad():
            self._head.weight.copy_(artifact.weight)
            self._head.bias.copy_(artifact.bias)
        self._head.eval()

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

    def embed(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> torch.Tensor:
        return embed_texts(self.encoder, texts, batch_size)

    def probabilities(self, embeddings: torch.Tensor) -> torch.Tensor:
        import torch

        with torch.inference_mode():
            return torch.softmax(self._head(embeddings * self.artifact.input_scale), dim=-1)

    def classify(self, texts: Sequence[str], batch_size: int = ENCODE_BATCH) -> list[Prediction]:
        """One prediction per text, in order."""
        if not texts:
            return []
        return self.predict(self.probabilities(self.embed(texts, batch_size)))

    def predict(self, probabilities: torch.Tensor) -> list[Prediction]:
        """Predictions from `probabilities` rows."""
        confidence, index = probabilities.max(dim=-1)
        return [
            Prediction(self.labels[i], round(float(c), 4), float(c) < self.threshold)
            for c, i in zip(confidence.tolist(), index.tolist(), strict=True)
        ]
