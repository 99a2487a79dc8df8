"""How a worker gets its classifier, and how the agent checks its answers."""

from __future__ import annotations

import pytest

from streams.agents import classifier
from streams.agents.conversation import readings
from streams.domain import intent
from tests.intent_rules import KeywordClassifier


def test_the_trained_model_is_the_default() -> None:
    from models.intent import IntentClassifier

    assert classifier.classifier_factory({}) == IntentClassifier.load


def test_without_a_model_everything_goes_to_a_person() -> None:
    model = classifier.classifier_factory({classifier.ENV_VAR: "none"})()
    assert isinstance(model, intent.IntentClassifier)
    assert model.classify(["me manda o pix", "oi"]) == [("other", 0.0), ("other", 0.0)]
    assert model.threshold > 0.0


def test_the_environment_names_a_factory() -> None:
    factory = classifier.classifier_factory({classifier.ENV_VAR: "tests.intent_rules:classifier"})
    model = factory()
    assert isinstance(model, KeywordClassifier)
    assert model.classify(["Me manda o PIX", "vou pagar sexta", "bom dia"]) == [
        ("request_payment_info", 0.94),
        ("promise_to_pay", 0.91),
        ("other", 0.9),
    ]
    with pytest.raises(ValueError, match="module:callable"):
        classifier.classifier_factory({classifier.ENV_VAR: "tests.intent_rules"})


def test_a_factory_set_at_startup_wins() -> None:
    classifier.set_classifier_factory(KeywordClassifier)
    try:
        assert classifier.classifier_factory({classifier.ENV_VAR: "x:y"}) is KeywordClassifier
    finally:
        classifier.set_classifier_factory(None)


def test_answers_are_checked() -> None:
    checked = readings([("opt_out", 1.2), ("no_such_label", 0.99)], 2)
    assert [(r.label, r.confidence) for r in checked] == [("opt_out", 1.0), ("other", 0.0)]
    with pytest.raises(RuntimeError, match="1 readings for 2 texts"):
        readings([("other", 0.5)], 2)


class _Prediction:
    """A reading as an object, as models.intent returns them."""

    def __init__(self, label: str, confidence: float) -> None:
        self.label, self.confidence, self.needs_human = label, confidence, confidence < 0.5


def test_readings_may_be_objects_with_a_label_and_a_confidence() -> None:
    checked = readings([_Prediction("dispute", 0.8), ("other", 0.4)], 2)
    assert [(r.label, r.confidence) for r in checked] == [("dispute", 0.8), ("other", 0.4)]


def test_a_dotted_attribute_names_a_class_method() -> None:
    factory = classifier.classifier_factory(
        {classifier.ENV_VAR: "tests.intent_rules:KeywordClassifier"}
    )
    assert isinstance(factory(), KeywordClassifier)
    nested = classifier.classifier_factory({classifier.ENV_VAR: "tests.intent_rules:RULES.__len__"})
    assert nested() == len(__import__("tests.intent_rules").intent_rules.RULES)
    with pytest.raises(ValueError, match="not callable"):
        classifier.classifier_factory({classifier.ENV_VAR: "tests.intent_rules:THRESHOLD"})
