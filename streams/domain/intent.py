"""What the conversation agent needs from an intent classifier: the labels, a reading, the port.

The classifier itself lives in models/ (issue 5, section 1); which one a worker loads is chosen
in streams/agents/classifier.py. `unconfigured()` is the classifier of a worker without a model:
every message reads as `other` with confidence 0, below any threshold, so every reply goes to a
human.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from models.dataset import LABELS  # the labels, exactly these strings (issue 5)

__all__ = [
    "LABELS",
    "Classification",
    "ClassifierFactory",
    "IntentClassifier",
    "Labelled",
    "Reading",
    "unconfigured",
]


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
