"""What the conversation agent needs from an intent classifier, and how a worker gets one.

The classifier itself lives in models/ (issue 5, section 1). The worker takes it from a factory
set at startup, so tests can plug in a deterministic one and a deployment can run without it:

- `set_classifier_factory(factory)` before the worker starts, or
- COBRANCA_INTENT_CLASSIFIER=module:callable (a zero-argument callable returning a classifier;
  dotted attributes work), by default `models.intent:IntentClassifier.load`, the trained model;
- COBRANCA_INTENT_CLASSIFIER=none: `unconfigured()`, every message reads as `other` with
  confidence 0, below any threshold, so every reply goes to a human.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from models.dataset import LABELS  # the labels, exactly these strings (issue 5)

__all__ = [
    "ENV_VAR",
    "LABELS",
    "Classification",
    "IntentClassifier",
    "Labelled",
    "Reading",
    "classifier_factory",
    "set_classifier_factory",
    "unconfigured",
]

ENV_VAR: Final = "COBRANCA_INTENT_CLASSIFIER"
DEFAULT: Final = "models.intent:IntentClassifier.load"


@dataclass(frozen=True, slots=True)
class Classification:
    """One text's reading: a label of LABELS and the probability the classifier gives it."""

    label: str
    confidence: float


class Labelled(Protocol):
    """A reading as an object (models.intent's Prediction is one)."""

    @property
    def label(self) -> str: ...

    @property
    def confidence(self) -> float: ...


Reading = tuple[str, float] | Labelled
"""One text's reading: a (label, confidence) pair or an object with both."""


@runtime_checkable
class IntentClassifier(Protocol):
    """A loaded classifier: classifies a batch of texts, in order."""

    @property
    def version(self) -> str:
        """Model and version, recorded on every IntentClassified."""
        ...

    @property
    def threshold(self) -> float:
        """Confidence below which a message goes to a human (calibrated with the model)."""
        ...

    def classify(self, texts: Sequence[str]) -> Sequence[Reading]:
        """A reading for each text, in order. Called off the event loop, one call at a time."""
        ...


ClassifierFactory = Callable[[], IntentClassifier]


@dataclass(frozen=True, slots=True)
class _Unconfigured:
    version: str = "none"
    threshold: float = 1.0

    def classify(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        return [("other", 0.0) for _ in texts]


def unconfigured() -> IntentClassifier:
    """The classifier of a worker without a model: everything goes to a human."""
    return _Unconfigured()


_factory: ClassifierFactory | None = None


def set_classifier_factory(factory: ClassifierFactory | None) -> None:
    """Use `factory` to load the classifier (None: back to the environment's choice)."""
    global _factory
    _factory = factory


def classifier_factory(env: dict[str, str] | None = None) -> ClassifierFactory:
    """The factory set at startup, else the one COBRANCA_INTENT_CLASSIFIER names (`none` for
    `unconfigured`), else the trained model's."""
    if _factory is not None:
        return _factory
    spec = (os.environ if env is None else env).get(ENV_VAR, "").strip() or DEFAULT
    if spec == "none":
        return unconfigured
    module, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"{ENV_VAR}={spec!r}: expected module:callable")
    found: object = importlib.import_module(module)
    for name in attr.split("."):
        found = getattr(found, name)
    if not callable(found):
        raise ValueError(f"{ENV_VAR}={spec!r} is not callable")
    factory: ClassifierFactory = found
    return factory
