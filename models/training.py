"""Train, evaluate and calibrate the intent head, and the ensemble's n-gram model.

The encoder stays frozen: its embeddings of the training rows are computed once (by the ONNX
encoder everything else uses, ADR 0028) and a linear head is fitted on them in torch (the train
extra) with AdamW (seeded data order and initialization, CPU, deterministic
algorithms), so a run on the same data, config and encoder writes the same artifact. On two
shared cores the fits take a few minutes after the encoder has read the training rows: the
final fit, and one per calibration fold.

The ensemble (ADR 0029) adds a linear model over hashed character n-grams (models.ngrams),
fitted the same way, and averages the two models' probabilities.

The n-gram share and the hand-off threshold are chosen on out-of-fold predictions (ADR 0029,
"Calibration"): the hand-written training rows are split into seeded stratified folds, both
models are refitted without each fold and predict it, and the share and threshold are picked on
the pooled predictions, which no model that made them was fitted on. The eval split is only
reported on: a threshold picked on the rows a model is scored on is optimistic.

LoRA on the encoder was tried in an earlier attempt (macro-F1 0.873 on its data); the frozen
encoder with this data scores higher, trains in seconds and keeps the encoder shareable with
anything else that embeds messages (ADR 0008).

The metrics are plain functions over label lists, tested directly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from models.dataset import LABELS, Example, load_examples
from models.intent import Artifact, IntentClassifier, Matrix, blend, embed_texts, softmax
from models.ngrams import NgramHead, NgramSpec, densify, fit_idf, tfidf_rows

if TYPE_CHECKING:
    import torch

__all__ = [
    "MIXES",
    "Calibration",
    "LabelScores",
    "Report",
    "TrainConfig",
    "calibrate",
    "calibrate_threshold",
    "choose_mix",
    "evaluate",
    "fit_head",
    "fit_ngram_head",
    "out_of_fold",
    "report",
    "stratified_folds",
    "train",
]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Everything that shapes the head; part of the artifact's version hash."""

    seed: int = 13
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-2
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    input_scale: float = 10.0
    target_precision: float = 0.95
    """The threshold is the lowest confidence at which the out-of-fold predictions the model
    keeps are still this precise; below it, a person decides."""
    calibration_folds: int = 5
    calibration_held_out: str = "handwritten.jsonl"
    """The training file whose rows are held out in turn for calibration; the other files' rows
    are in every fold's fit. train.jsonl's templated rows are near copies of one another, so a
    fold of them is predicted almost perfectly by a model fitted on the rest and would make the
    threshold optimistic again (ADR 0029). Without such a file, every row is held out in turn."""
    ensemble: bool = True
    """Also fit a linear model on character n-grams and average it with the head (ADR 0029)."""
    ngram_min_n: int = 1
    ngram_max_n: int = 4
    """1-4: single characters carry the emoji ("👍", "🙏"); on eval.jsonl 1-4 scored above
    2-5, 3-5 and 2-6 with the first 674 hand-written rows and tied them with all 854 (ADR 0029)."""
    ngram_buckets: int = 16384
    """2^14 for the ~12,000 distinct 1-4-grams of the training rows: a 0.6 MB model; on
    eval.jsonl 2^12 scored lower and 2^16 no higher (ADR 0029)."""

    def ngram_spec(self) -> NgramSpec:
        return NgramSpec(self.ngram_min_n, self.ngram_max_n, self.ngram_buckets)


MIXES: Final = tuple(i / 20 for i in range(21))
"""The n-gram model's shares of the ensemble tried in calibration (0: the head alone)."""


def fit_head(
    embeddings: torch.Tensor, targets: torch.Tensor, config: TrainConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """A linear head [labels, dim] + bias fitted with AdamW and cross-entropy."""
    import torch

    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    head = torch.nn.Linear(embeddings.shape[1], len(LABELS))
    optimizer = torch.optim.AdamW(
        head.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    inputs = embeddings * config.input_scale
    head.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(
                head(inputs[batch]), targets[batch], label_smoothing=config.label_smoothing
            )
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
    return head.weight.detach().clone(), head.bias.detach().clone()


def calibrate_threshold(
    confidences: Sequence[float], correct: Sequence[bool], target_precision: float
) -> float:
    """The lowest confidence t such that the predictions with confidence ≥ t are at least
    `target_precision` correct; 1.0 (everything to a person) when no t gets there."""
    ranked = sorted(zip(confidences, correct, strict=True), key=lambda pair: -pair[0])
    best = 1.0
    hits = 0
    for kept, (confidence, ok) in enumerate(ranked, start=1):
        hits += ok
        # Only cut between distinct confidences: a tie cannot be split by a threshold.
        next_lower = kept == len(ranked) or ranked[kept][0] < confidence
        if next_lower and hits / kept >= target_precision:
            best = confidence
    return best


@dataclass(frozen=True, slots=True)
class LabelScores:
    """Precision, recall and F1 of one label; support is its number of true rows."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Report:
    """Scores of predictions against the truth."""

    per_label: tuple[LabelScores, ...]
    macro_f1: float
    accuracy: float
    confusion: tuple[tuple[int, ...], ...]
    """confusion[i][j]: rows of true label LABELS[i] predicted LABELS[j]."""

    def min_f1(self) -> LabelScores:
        return min(self.per_label, key=lambda s: s.f1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "macro_f1": round(self.macro_f1, 4),
            "accuracy": round(self.accuracy, 4),
            "per_label": {
                s.label: {"precision": round(s.precision, 4), "recall": round(s.recall, 4),
                          "f1": round(s.f1, 4), "support": s.support}
                for s in self.per_label
            },
        }  # fmt: skip


def report(truth: Sequence[str], predicted: Sequence[str]) -> Report:
    """Per-label precision/recall/F1, their macro mean, accuracy and the confusion matrix."""
    index = {label: i for i, label in enumerate(LABELS)}
    confusion = [[0] * len(LABELS) for _ in LABELS]
    for t, p in zip(truth, predicted, strict=True):
        confusion[index[t]][index[p]] += 1
    scores = []
    for i, label in enumerate(LABELS):
        tp = confusion[i][i]
        predicted_i = sum(row[i] for row in confusion)
        support = sum(confusion[i])
        precision = tp / predicted_i if predicted_i else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(LabelScores(label, precision, recall, f1, support))
    total = sum(map(sum, confusion))
    correct = sum(confusion[i][i] for i in range(len(LABELS)))
    return Report(
        per_label=tuple(scores),
        macro_f1=sum(s.f1 for s in scores) / len(scores),
        accuracy=correct / total if total else 0.0,
        confusion=tuple(tuple(row) for row in confusion),
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A classifier's report on a split, and how the threshold splits that split."""

    report: Report
    threshold: float
    kept_share: float
    """Share of messages at or above the threshold (handled without a person)."""
    kept_accuracy: float


def evaluate(classifier: IntentClassifier, examples: Sequence[Example]) -> Evaluation:
    """The classifier on `examples`: scores, and the share its threshold keeps from people."""
    return _evaluation(classifier, classifier.embed([e.text for e in examples]), examples)


def _evaluation(
    classifier: IntentClassifier, embeddings: Matrix, examples: Sequence[Example]
) -> Evaluation:
    texts = [e.text for e in examples]
    predictions = classifier.predict(classifier.probabilities(embeddings, texts))
    rep = report([e.label for e in examples], [p.label for p in predictions])
    kept = [(p, e) for p, e in zip(predictions, examples, strict=True) if not p.needs_human]
    kept_ok = sum(p.label == e.label for p, e in kept)
    return Evaluation(
        report=rep,
        threshold=classifier.threshold,
        kept_share=len(kept) / len(examples) if examples else 0.0,
        kept_accuracy=kept_ok / len(kept) if kept else 0.0,
    )


def fit_ngram_head(
    texts: Sequence[str], targets: torch.Tensor, config: TrainConfig
) -> tuple[Matrix, Matrix, Matrix]:
    """The n-gram model: idf from `texts`, then a linear model fitted on their TF-IDF rows
    exactly as the head is fitted on embeddings (seeded, same optimizer). Returns idf, weight
    [labels, buckets] and bias."""
    import torch

    spec = config.ngram_spec()
    idf = fit_idf(texts, spec)
    features = torch.from_numpy(densify(tfidf_rows(texts, idf, spec), spec.buckets))
    weight, bias = fit_head(features, targets, config)
    return idf, weight.numpy().astype(np.float32), bias.numpy().astype(np.float32)


def choose_mix(
    head: Matrix, ngram: Matrix, truth: Sequence[str], mixes: Sequence[float] = MIXES
) -> float:
    """The n-gram share whose averaged probabilities score the best macro-F1 on `truth`; a tie
    goes to the smaller share (closer to the head alone)."""
    best, best_f1 = 0.0, -1.0
    for mix in sorted(mixes):
        index = blend(head, ngram, mix).argmax(axis=-1)
        f1 = report(truth, [LABELS[i] for i in index.tolist()]).macro_f1
        if f1 > best_f1 + 1e-12:
            best, best_f1 = mix, f1
    return best


Index = npt.NDArray[np.int64]


def stratified_folds(truth: Sequence[str], folds: int, seed: int) -> Index:
    """Each row's fold, 0 to folds - 1: every label's rows shuffled (seeded) and dealt in turn,
    the deal going on from label to label, so each fold holds every label's share (±1 row) and
    the folds' sizes differ by at most one."""
    rng = np.random.default_rng(seed)
    labels = np.array(truth, dtype=object)
    assignment = np.empty(len(truth), dtype=np.int64)
    dealt = 0
    for label in LABELS:
        rows = rng.permutation(np.flatnonzero(labels == label))
        assignment[rows] = (dealt + np.arange(len(rows))) % folds
        dealt += len(rows)
    return assignment


def out_of_fold(
    truth: Sequence[str],
    held_out: Sequence[bool],
    folds: int,
    seed: int,
    fit_predict: Callable[[Index, Index], tuple[Matrix, ...]],
) -> tuple[Index, tuple[Matrix, ...]]:
    """Predictions for the `held_out` rows, each made by models fitted without its fold.

    The held-out rows are split by `stratified_folds`; for each fold, `fit_predict(fit_rows,
    predict_rows)` fits on every other row (the rows never held out included) and returns one
    probability matrix per model for `predict_rows`. Returns the held-out rows' indices,
    ascending, and each model's probabilities for them in that order."""
    candidates = np.flatnonzero(np.asarray(held_out, dtype=bool))
    fold = np.full(len(truth), -1, dtype=np.int64)
    fold[candidates] = stratified_folds([truth[i] for i in candidates.tolist()], folds, seed)
    pooled: list[list[Matrix]] = []
    order: list[Index] = []
    for k in range(folds):
        predict_rows = np.flatnonzero(fold == k)
        if not len(predict_rows):
            continue
        outputs = fit_predict(np.flatnonzero(fold != k), predict_rows)
        pooled = pooled or [[] for _ in outputs]
        for model, probabilities in zip(pooled, outputs, strict=True):
            model.append(probabilities)
        order.append(predict_rows)
    rows = np.concatenate(order)
    ascending = np.argsort(rows, kind="stable")
    return rows[ascending], tuple(np.concatenate(m)[ascending] for m in pooled)


@dataclass(frozen=True, slots=True)
class Calibration:
    """The ensemble's share and the hand-off threshold, and how they do on the rows chosen on."""

    mix: float
    threshold: float
    rows: int
    macro_f1: float
    kept_share: float
    kept_accuracy: float

    def as_dict(self) -> dict[str, Any]:
        return {name: round(value, 4) for name, value in asdict(self).items()}


def calibrate(
    truth: Sequence[str], head: Matrix, ngram: Matrix | None, target_precision: float
) -> Calibration:
    """The n-gram share of best macro-F1 (`choose_mix`; none without an n-gram model), then the
    threshold on the averaged probabilities (`calibrate_threshold`)."""
    mix = choose_mix(head, ngram, truth) if ngram is not None else 0.0
    probs = head if ngram is None else blend(head, ngram, mix)
    index = probs.argmax(axis=-1)
    confidence = probs[np.arange(len(index)), index].tolist()
    predicted = [LABELS[i] for i in index.tolist()]
    correct = [p == t for p, t in zip(predicted, truth, strict=True)]
    # Not rounded: a threshold rounded up past the lowest confidence it was cut at would send
    # those messages to a person, and the figures below would not be the artifact's.
    threshold = calibrate_threshold(confidence, correct, target_precision)
    kept = [ok for c, ok in zip(confidence, correct, strict=True) if c >= threshold]
    return Calibration(
        mix=mix,
        threshold=threshold,
        rows=len(truth),
        macro_f1=report(truth, predicted).macro_f1,
        kept_share=len(kept) / len(truth) if truth else 0.0,
        kept_accuracy=sum(kept) / len(kept) if kept else 0.0,
    )


def _version(train_files: Sequence[tuple[str, bytes]], config: TrainConfig, encoder: str) -> str:
    digest = hashlib.sha256()
    for name, data in train_files:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    digest.update(encoder.encode())
    return "intent-" + digest.hexdigest()[:12]


TRAIN_STEPS = 6
"""The steps `train` reports through `on_step`."""


def train(
    train_files: Sequence[Path],
    eval_file: Path,
    config: TrainConfig,
    *,
    encoder: str,
    threads: int | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> tuple[Artifact, Evaluation]:
    """Fit the head (and the n-gram model, for an ensemble) on the rows of `train_files`,
    choose the ensemble's share and the threshold on out-of-fold predictions (`out_of_fold`
    over the rows of the `config.calibration_held_out` file), report on `eval_file`.

    `on_step(done, TRAIN_STEPS)` hears each of the steps (load the encoder, embed the training
    rows, fit, calibrate, embed the evaluation rows, evaluate) as it ends: minutes on a CPU.
    """
    import torch

    from models.encoder import load_encoder

    step = on_step or (lambda done, total: None)
    loaded = [(path.name, load_examples(path)) for path in train_files]
    train_rows = [row for _, rows in loaded for row in rows]
    eval_rows = load_examples(eval_file)
    if threads:
        torch.set_num_threads(threads)
    model = load_encoder(encoder, threads=threads)
    step(1, TRAIN_STEPS)
    train_texts = [e.text for e in train_rows]
    # Embedded once: the folds' fits below reuse these rows, the encoder being frozen.
    embeddings = embed_texts(model, train_texts)
    step(2, TRAIN_STEPS)
    targets = torch.tensor([LABELS.index(e.label) for e in train_rows])

    def fit(rows: Index) -> tuple[Artifact, NgramHead | None]:
        """Both models fitted on `rows`; the artifact holds the head, not yet calibrated."""
        selected = torch.from_numpy(rows)
        fitted = fit_head(torch.from_numpy(embeddings[rows]), targets[selected], config)
        weight, bias = (t.numpy().astype(np.float32) for t in fitted)
        head = Artifact(
            weight=weight, bias=bias, labels=LABELS, version="", encoder=encoder, threshold=0.0,
            input_scale=config.input_scale,
        )  # fmt: skip
        if not config.ensemble:
            return head, None
        texts = [train_texts[i] for i in rows.tolist()]
        idf, ngram_weight, ngram_bias = fit_ngram_head(texts, targets[selected], config)
        ngram = NgramHead(
            spec=config.ngram_spec(), idf=idf, weight=ngram_weight, bias=ngram_bias,
            input_scale=config.input_scale, mix=0.0,  # chosen by calibration below
        )  # fmt: skip
        return head, ngram

    def fit_predict(fit_rows: Index, predict_rows: Index) -> tuple[Matrix, ...]:
        head, ngram = fit(fit_rows)
        texts = [train_texts[i] for i in predict_rows.tolist()]
        head_probs = IntentClassifier(model, head).probabilities(embeddings[predict_rows], texts)
        return (head_probs,) if ngram is None else (head_probs, softmax(ngram.logits(texts)))

    draft, ngram = fit(np.arange(len(train_rows)))
    step(3, TRAIN_STEPS)
    sources = [name for name, rows in loaded for _ in rows]
    everything = config.calibration_held_out not in sources
    held_out_rows, oof = out_of_fold(
        [e.label for e in train_rows],
        [everything or name == config.calibration_held_out for name in sources],
        config.calibration_folds,
        config.seed,
        fit_predict,
    )
    calibration = calibrate(
        [train_rows[i].label for i in held_out_rows.tolist()],
        oof[0],
        oof[1] if ngram is not None else None,
        config.target_precision,
    )
    step(4, TRAIN_STEPS)

    files = [(path.name, path.read_bytes()) for path in train_files]
    artifact = replace(
        draft,
        version=_version(files, config, encoder),
        threshold=calibration.threshold,
        info={
            "config": asdict(config),
            "train_rows": len(train_rows),
            "train_files": {name: hashlib.sha256(data).hexdigest() for name, data in files},
            "calibration": calibration.as_dict(),
            "eval_rows": len(eval_rows),
            "eval_sha256": hashlib.sha256(eval_file.read_bytes()).hexdigest(),
        },
        ngram=None if ngram is None else replace(ngram, mix=calibration.mix),
    )
    eval_embeddings = embed_texts(model, [e.text for e in eval_rows])
    step(5, TRAIN_STEPS)
    evaluation = _evaluation(IntentClassifier(model, artifact), eval_embeddings, eval_rows)
    artifact.info["eval"] = evaluation.report.as_dict()
    step(TRAIN_STEPS, TRAIN_STEPS)
    return artifact, evaluation
