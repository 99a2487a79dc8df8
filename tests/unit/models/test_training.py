"""The pure parts of training: metrics, threshold calibration, a seeded head."""

from __future__ import annotations

import pytest
import torch

from models.dataset import LABELS
from models.training import TrainConfig, calibrate_threshold, fit_head, report


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
