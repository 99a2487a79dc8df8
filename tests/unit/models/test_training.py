"""The pure parts of training: metrics, threshold calibration, out-of-fold calibration, a
seeded head."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from models.dataset import LABELS
from models.training import (
    Index,
    TrainConfig,
    calibrate,
    calibrate_threshold,
    fit_head,
    out_of_fold,
    report,
    stratified_folds,
)


def test_report_scores_each_label_and_builds_the_confusion_matrix() -> None:
    truth = ["opt_out", "opt_out", "other", "dispute"]
    predicted = ["opt_out", "other", "other", "dispute"]
    rep = report(truth, predicted)
    scores = {s.label: s for s in rep.per_label}
    assert scores["opt_out"].precision == 1.0
    assert scores["opt_out"].recall == 0.5
    assert scores["other"].precision == 0.5
    assert scores["dispute"].f1 == 1.0
    assert scores["negotiate"].support == 0 and scores["negotiate"].f1 == 0.0
    assert rep.accuracy == 0.75
    assert rep.confusion[LABELS.index("opt_out")][LABELS.index("other")] == 1
    assert rep.macro_f1 == pytest.approx(sum(s.f1 for s in rep.per_label) / len(LABELS))


def test_threshold_is_the_lowest_confidence_that_keeps_the_target_precision() -> None:
    confidences = [0.99, 0.95, 0.90, 0.80, 0.70, 0.60]
    correct = [True, True, True, True, False, False]
    assert calibrate_threshold(confidences, correct, 0.95) == 0.80
    assert calibrate_threshold(confidences, correct, 0.60) == 0.60
    assert calibrate_threshold([0.9, 0.8], [False, False], 0.5) == 1.0


def test_threshold_never_splits_a_tie() -> None:
    # At 0.9 the four tied rows are 50% right: no cut between them.
    assert (
        calibrate_threshold([0.99, 0.9, 0.9, 0.9, 0.9], [True, True, True, False, False], 0.9)
        == 0.99
    )


def test_fit_head_is_reproducible() -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.nn.functional.normalize(torch.randn(90, 16, generator=generator), dim=1)
    y = torch.arange(90) % len(LABELS)
    config = TrainConfig(epochs=3)
    w1, b1 = fit_head(x, y, config)
    w2, b2 = fit_head(x, y, config)
    assert torch.equal(w1, w2) and torch.equal(b1, b2)
    assert w1.shape == (len(LABELS), 16)


def test_stratified_folds_spread_every_label_and_are_seeded() -> None:
    truth = [LABELS[i % 3] for i in range(14)] + [LABELS[5]] * 4
    folds = stratified_folds(truth, 4, seed=3)
    assert sorted(Counter(folds.tolist()).values()) == [4, 4, 5, 5]
    for label in set(truth):
        per_fold = Counter(f for f, t in zip(folds.tolist(), truth, strict=True) if t == label)
        assert max(per_fold.values()) - min(per_fold.get(k, 0) for k in range(4)) <= 1
    assert np.array_equal(folds, stratified_folds(truth, 4, seed=3))
    assert not np.array_equal(folds, stratified_folds(truth, 4, seed=4))


def test_out_of_fold_predicts_each_held_out_row_once_by_a_fit_without_it() -> None:
    truth = [LABELS[i % len(LABELS)] for i in range(36)]
    held_out = [i % 4 != 0 for i in range(36)]  # rows 0, 4, 8, ...: always fitted on
    predicted: list[int] = []

    def fit_predict(fit_rows: Index, predict_rows: Index) -> tuple[np.ndarray, ...]:
        assert not set(fit_rows.tolist()) & set(predict_rows.tolist())
        assert set(fit_rows.tolist()) | set(predict_rows.tolist()) == set(range(36))
        predicted.extend(predict_rows.tolist())
        # Each row's "probabilities" carry its index, to check they come back aligned.
        return (np.repeat(predict_rows[:, None], 2, axis=1).astype(np.float32),)

    rows, (probabilities,) = out_of_fold(truth, held_out, 3, 7, fit_predict)
    assert rows.tolist() == [i for i in range(36) if held_out[i]]
    assert sorted(predicted) == rows.tolist()
    assert probabilities[:, 0].tolist() == rows.tolist()


def test_calibrate_picks_the_smallest_best_share_then_the_threshold() -> None:
    # The head is sure of the first nine rows and wrong (0.6) on the last nine; the n-gram
    # model the reverse. Every share in (0.2, 0.8) gets all eighteen right; 0.25 is the
    # smallest tried, where the last nine are the least sure, at 0.4 + 0.5 * 0.25 = 0.525.
    truth = [LABELS[i % 9] for i in range(18)]
    head = np.zeros((18, 9), dtype=np.float32)
    ngram = np.zeros((18, 9), dtype=np.float32)
    for i in range(18):
        right, wrong = i % 9, (i + 1) % 9
        sure, unsure = (head, ngram) if i < 9 else (ngram, head)
        sure[i, right], sure[i, wrong] = 0.9, 0.1
        unsure[i, right], unsure[i, wrong] = 0.4, 0.6
    both = calibrate(truth, head, ngram, 0.95)
    assert both.mix == 0.25
    assert both.threshold == pytest.approx(0.525)
    assert (both.rows, both.macro_f1, both.kept_share, both.kept_accuracy) == (18, 1.0, 1.0, 1.0)
    alone = calibrate(truth, head, None, 0.95)  # keeps only the nine it is sure of
    assert alone.threshold == pytest.approx(0.9)
    assert (alone.mix, alone.kept_share, alone.kept_accuracy) == (0.0, 0.5, 1.0)
