"""Which intent classifier a worker loads.

The worker takes its classifier from a factory chosen at startup, so tests can plug in a
deterministic one and a deployment can run without a model:

- `set_classifier_factory(factory)` before the worker starts, or
- COBRANCA_INTENT_CLASSIFIER=module:callable (a zero-argument callable returning a classifier;
  dotted attributes work), by default `models.intent:IntentClassifier.load`, the trained model;
- COBRANCA_INTENT_CLASSIFIER=none: `unconfigured()` (streams/domain/intent.py), so every reply
  goes to a human.
"""

from __future__ import annotations

import importlib
import os
from typing import Final

from streams.domain.intent import ClassifierFactory, unconfigured

__all__ = ["DEFAULT", "ENV_VAR", "classifier_factory", "set_classifier_factory"]

ENV_VAR: Final = "COBRANCA_INTENT_CLASSIFIER"
DEFAULT: Final = "models.intent:IntentClassifier.load"

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
