"""The committed classifier on the evaluation split (never trained on): the issue's bar.

This is the real model on models/data/eval.jsonl, a few seconds of inference; the figures
printed by `cobranca model eval` are the same ones.
"""

from __future__ import annotations

import pytest

from models.dataset import EVAL_FILE, load_examples
from models.intent import IntentClassifier
from models.training import Evaluation, evaluate


@pytest.fixture(scope="module")
def evaluation(classifier: IntentClassifier) -> Evaluation:
    return evaluate(classifier, load_examples(EVAL_FILE))


def test_macro_f1_at_least_090_and_no_label_below_080(evaluation: Evaluation) -> None:
    rep = evaluation.report
    per_label = {s.label: round(s.f1, 3) for s in rep.per_label}
    assert rep.macro_f1 >= 0.90, per_label
    assert min(per_label.values()) >= 0.80, per_label


def test_the_threshold_sends_the_unsure_to_a_person(
    classifier: IntentClassifier, evaluation: Evaluation
) -> None:
    assert 0.0 < classifier.threshold < 1.0
    assert evaluation.kept_accuracy >= 0.95  # what the threshold was calibrated for
    assert evaluation.kept_share >= 0.5


def test_the_api_the_conversation_agent_uses(classifier: IntentClassifier) -> None:
    predictions = classifier.classify(["já paguei ontem", "me manda o boleto", ""])
    assert [p.label for p in predictions[:2]] == ["already_paid", "request_payment_info"]
    assert all(0.0 <= p.confidence <= 1.0 for p in predictions)
    assert classifier.version.startswith("intent-")
    assert classifier.classify([]) == []
