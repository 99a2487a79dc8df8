"""Contrastive fine-tuning of the sentence encoder on the intent labels (issue 15 §3, ADR 0031).

SetFit's first stage, on the sentence-transformers model `cobranca model provision` builds:
pairs of replies with the same label are pulled together and the other labels' replies in the
batch pushed apart (a symmetric multiple-negatives ranking loss: each anchor must pick its
positive among the batch's positives, and the reverse). The head and the n-gram model are then
fitted on the fine-tuned encoder's embeddings by `models.training.train`, as on the frozen one.

- **Batches** (`sample_pairs`, pure, seeded): one (anchor, positive) pair per label per step,
  so no in-batch negative ever shares the anchor's label; every row is an anchor once per
  epoch (each label's rows shuffled and walked in turn; a smaller label's walk starts over),
  its positive drawn at random among the other rows of its label.
- **What is fine-tuned**: all but the 250,037-token embedding matrix, which stays
  frozen (96 M of the 118 M weights: with a few thousand short replies most of its rows would
  never see a gradient, and AdamW would update all of them at every step).
- **Which rows**: those of the training files other than `FineTuneConfig.held_out`
  (`handwritten.jsonl`), so the out-of-fold calibration of ADR 0029 stays out of fold: no model
  that predicts a hand-written fold (encoder, head or n-gram model) has seen it. Fine-tuning on
  the hand-written rows too would need one fine-tune per calibration fold (six in all).
- **Reproducible**: seeded pairs, seeded initialization of nothing new (the weights are the
  provisioned ones), seeded dropout, deterministic algorithms, CPU. The result is stored as a
  sentence-transformers folder `<models>/<name>` and exported to `<models>/<name>-onnx` by
  `models.export.export_onnx`, both with a manifest of file hashes; `<name>` is the base
  encoder's name plus a hash of the base folder's manifest, this config and the training files'
  bytes, so the intent artifact's version (which hashes the encoder's name) covers the
  fine-tuned weights' inputs, and a second run finds the folders in place.

Needs torch and sentence-transformers (the train extra); inference reads the ONNX folder only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from models.dataset import LABELS, load_examples
from models.errors import ProvisionError
from models.export import export_onnx, onnx_dir, onnx_ok
from models.provision import (
    DEFAULT_ENCODER_NAME,
    MANIFEST,
    default_encoder_dir,
    file_sha256,
    models_home,
    provision_encoder,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "FINE_TUNE_STEPS",
    "FineTuneConfig",
    "FineTuned",
    "fine_tune_model",
    "fine_tuned_name",
    "provision_fine_tuned",
    "sample_pairs",
]

FINE_TUNER_VERSION: Final = 1
"""Bump when what this module writes changes for the same config, so cached folders are redone."""


@dataclass(frozen=True, slots=True)
class FineTuneConfig:
    """Everything that shapes the fine-tuned encoder; hashed into its name.

    Chosen before any measurement (nothing measured on any evaluation set): SetFit's learning rate
    (2e-5) and warm-up share, sentence-transformers' loss scale (20), one epoch of anchors, a
    max length above every training reply's (58 tokens at most with the prompt, 14 the
    median) but far below 512, which bounds a batch's padding."""

    seed: int = 13
    epochs: int = 1
    """Every training row is an anchor this many times."""
    learning_rate: float = 2e-5
    weight_decay: float = 0.01
    warmup_share: float = 0.1
    """Linear warm-up over this share of the steps, then linear decay to 0."""
    scale: float = 20.0
    """Cosine similarities times this are the loss's logits (a temperature of 0.05)."""
    max_length: int = 64
    """Tokens per text while fine-tuning; the exported encoder keeps the base's 512."""
    max_grad_norm: float = 1.0
    held_out: str = "handwritten.jsonl"
    """The training file whose rows the encoder never sees (ADR 0029's calibration folds are
    made of them); "" fine-tunes on every training row and makes that calibration leak."""


FINE_TUNE_STEPS: Final = 4
"""The steps `provision_fine_tuned` reports: load, fine-tune, save, export."""

Pair = tuple[int, int]


def sample_pairs(labels: Sequence[str], seed: int, epochs: int = 1) -> list[list[Pair]]:
    """Batches of (anchor, positive) row indices: one pair per label with at least two rows,
    the same label in each pair, never two pairs of one label in a batch.

    Each label's rows are shuffled (seeded) and walked as anchors; there are as many batches as
    the largest label has rows (times `epochs`), so every row is an anchor `epochs` times and a
    smaller label starts a new shuffle when its walk ends. A positive is drawn uniformly among
    the anchor's label's other rows."""
    rng = np.random.default_rng(seed)
    column = np.array(labels, dtype=object)
    groups = [np.flatnonzero(column == label) for label in LABELS]
    groups = [g for g in groups if len(g) >= 2]
    if not groups:
        return []
    steps = max(len(g) for g in groups) * epochs
    walks: list[list[int]] = []
    for group in groups:
        walk: list[int] = []
        while len(walk) < steps:
            walk.extend(rng.permutation(group).tolist())
        walks.append(walk[:steps])
    batches: list[list[Pair]] = []
    for step in range(steps):
        batch: list[Pair] = []
        for group, walk in zip(groups, walks, strict=True):
            anchor = walk[step]
            others = group[group != anchor]
            batch.append((anchor, int(others[rng.integers(len(others))])))
        batches.append(batch)
    return batches


def fine_tuned_name(
    base_manifest_sha256: str, train_files: Sequence[tuple[str, bytes]], config: FineTuneConfig
) -> str:
    """`<base name>-ft-<hash>`: the hash of the base folder's manifest, the training files
    (names and bytes) and the config, so any change to what shapes the weights renames them."""
    digest = hashlib.sha256(f"v{FINE_TUNER_VERSION}\0{base_manifest_sha256}\0".encode())
    for name, data in train_files:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    return f"{DEFAULT_ENCODER_NAME}-ft-{digest.hexdigest()[:12]}"


def fine_tune_model(
    model: SentenceTransformer,
    texts: Sequence[str],
    labels: Sequence[str],
    config: FineTuneConfig,
    *,
    max_steps: int | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> list[float]:
    """Fine-tune `model` in place on `texts` (the encoder's prompt prepended, as inference
    does) with the pairs of `sample_pairs`; returns each step's loss. `max_steps` stops early
    (tests); the learning-rate schedule is the full run's either way."""
    import torch

    torch.use_deterministic_algorithms(True)
    torch.manual_seed(config.seed)
    prompt = model.prompts.get(model.default_prompt_name or "") or ""
    transformer: Any = model[0].auto_model
    for parameter in transformer.get_input_embeddings().parameters():
        parameter.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    batches = sample_pairs(labels, config.seed, config.epochs)
    total = len(batches)
    warmup = max(1, round(total * config.warmup_share))

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    saved_length = model.max_seq_length
    model.max_seq_length = config.max_length
    losses: list[float] = []
    steps = total if max_steps is None else min(total, max_steps)
    model.train()
    try:
        for step, batch in enumerate(batches[:steps]):
            anchors = [prompt + texts[a] for a, _ in batch]
            positives = [prompt + texts[p] for _, p in batch]
            features = model.preprocess(anchors + positives)
            embeddings = model(dict(features))["sentence_embedding"]
            a, b = embeddings[: len(batch)], embeddings[len(batch) :]
            scores = a @ b.T * config.scale
            target = torch.arange(len(batch))
            loss = (
                torch.nn.functional.cross_entropy(scores, target)
                + torch.nn.functional.cross_entropy(scores.T, target)
            ) / 2
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
            if on_step is not None:
                on_step(step + 1, steps)
    finally:
        model.max_seq_length = saved_length
        model.eval()
    return losses


@dataclass(frozen=True, slots=True)
class FineTuned:
    """A fine-tuned encoder: its name (what the intent artifact records) and ONNX folder."""

    name: str
    onnx_path: Path
    built: bool


def _files(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        str(p.relative_to(folder)): {"size": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def provision_fine_tuned(
    train_files: Sequence[Path],
    config: FineTuneConfig,
    *,
    threads: int | None = None,
    on_step: Callable[[int, int], None] | None = None,
    on_train_step: Callable[[int, int], None] | None = None,
) -> FineTuned:
    """The encoder fine-tuned on the rows of `train_files` (but `config.held_out`'s), as an
    ONNX folder under COBRANCA_MODELS_DIR; built unless a folder of that name (the hash of
    everything that shapes it) is in place with its files' sizes (`models.export.onnx_ok`)."""
    step = on_step or (lambda done, total: None)
    base = provision_encoder(default_encoder_dir())
    base_sha = file_sha256(base.path / MANIFEST)
    files = [(path.name, path.read_bytes()) for path in train_files]
    name = fine_tuned_name(base_sha, files, config)
    target = onnx_dir(name)
    if onnx_ok(target):
        step(FINE_TUNE_STEPS, FINE_TUNE_STEPS)
        return FineTuned(name, target, built=False)
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ProvisionError(
            f"fine-tuning the encoder needs the train extra (torch): {exc}"
        ) from exc
    from models.provision import quiet_transformers

    quiet_transformers()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if threads:
        torch.set_num_threads(threads)
    rows = [e for path in train_files if path.name != config.held_out for e in load_examples(path)]
    if not rows:
        raise ProvisionError(
            f"no rows to fine-tune on: every training file is the held-out {config.held_out!r}"
        )
    model = SentenceTransformer(str(base.path), device="cpu")
    step(1, FINE_TUNE_STEPS)
    losses = fine_tune_model(
        model, [e.text for e in rows], [e.label for e in rows], config, on_step=on_train_step
    )
    step(2, FINE_TUNE_STEPS)
    folder = models_home() / name
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{name}-") as tmp:
        out = Path(tmp) / "st"
        model.save(str(out))
        manifest = {
            "fine_tuner": FINE_TUNER_VERSION,
            "base": DEFAULT_ENCODER_NAME,
            "base_manifest_sha256": base_sha,
            "config": asdict(config),
            "train_files": {n: hashlib.sha256(data).hexdigest() for n, data in files},
            "rows": len(rows),
            "steps": len(losses),
            "loss_first_last": [round(losses[0], 4), round(losses[-1], 4)] if losses else [],
            "torch": torch.__version__,
            "files": _files(out),
        }
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(out, folder)
    step(3, FINE_TUNE_STEPS)
    export_onnx(
        folder,
        target,
        name=name,
        extra_manifest={
            "source_manifest_sha256": file_sha256(folder / MANIFEST),
            "fine_tuned_from": DEFAULT_ENCODER_NAME,
        },
    )
    step(FINE_TUNE_STEPS, FINE_TUNE_STEPS)
    return FineTuned(name, target, built=True)
