"""Character n-gram features of a reply: hashed, TF-IDF weighted, unit length. Pure numpy.

The encoder reads meaning; these read spelling. WhatsApp replies are full of what a sentence
encoder trained on clean text has seldom seen ("vc", "pfv", "paguei ja", "nao reconheso"), and
character n-grams match such a reply to its training neighbours through the pieces they share
("pague", "recon", " vc "). A linear model over them, averaged with the head (ADR 0029), is the
ensemble.

The vocabulary is hashed (CRC-32 of the n-gram's UTF-8 bytes, modulo the bucket count) rather
than learned: no vocabulary to store or version, the same buckets in every process (Python's
`hash` is salted per process), and nothing from scikit-learn at run time.
"""

from __future__ import annotations

import unicodedata
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "NgramHead",
    "NgramSpec",
    "SparseRow",
    "densify",
    "document_frequencies",
    "fit_idf",
    "hashed_counts",
    "normalize",
    "tfidf_rows",
]

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class NgramSpec:
    """Which n-grams, into how many buckets (the defaults are TrainConfig's)."""

    min_n: int
    max_n: int
    buckets: int


@dataclass(frozen=True, slots=True)
class SparseRow:
    """One text's features: bucket indices (ascending, distinct) and their weights."""

    indices: npt.NDArray[np.int64]
    values: Vector


def normalize(text: str) -> str:
    """Lowercase, accents dropped, spaces collapsed, one space at each end: "Já PAGUEI" and
    "ja paguei" are the same text, and a word's first and last letters make their own n-grams
    (" pa", "ei "). A blank text stays empty: no n-grams, not a lone "  "."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    words = "".join(c for c in decomposed if not unicodedata.combining(c)).split()
    return f" {' '.join(words)} " if words else ""


def hashed_counts(text: str, spec: NgramSpec) -> Counter[int]:
    """How often each bucket occurs among the text's character n-grams (normalized text)."""
    padded = normalize(text)
    counts: Counter[int] = Counter()
    for n in range(spec.min_n, spec.max_n + 1):
        for start in range(len(padded) - n + 1):
            gram = padded[start : start + n].encode("utf-8")
            counts[zlib.crc32(gram) % spec.buckets] += 1
    return counts


def document_frequencies(texts: Sequence[str], spec: NgramSpec) -> npt.NDArray[np.int64]:
    """In how many texts each bucket occurs."""
    df = np.zeros(spec.buckets, dtype=np.int64)
    for text in texts:
        df[list(hashed_counts(text, spec))] += 1
    return df


def fit_idf(texts: Sequence[str], spec: NgramSpec) -> Vector:
    """Smoothed inverse document frequency, log((1 + n) / (1 + df)) + 1: a bucket no training
    text has gets the largest weight but, never having been trained on, moves no logit."""
    df = document_frequencies(texts, spec)
    idf: Vector = (np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0).astype(np.float32)
    return idf


def tfidf_rows(texts: Sequence[str], idf: Vector, spec: NgramSpec) -> list[SparseRow]:
    """Each text's (1 + log count) * idf, scaled to unit length; an empty text is all zeros."""
    rows = []
    for text in texts:
        counts = hashed_counts(text, spec)
        indices = np.array(sorted(counts), dtype=np.int64)
        tf = 1.0 + np.log(np.array([counts[i] for i in indices.tolist()], dtype=np.float64))
        weights = tf * idf[indices] if len(indices) else tf
        norm = float(np.sqrt((weights**2).sum()))
        values = (weights / norm if norm else weights).astype(np.float32)
        rows.append(SparseRow(indices, values))
    return rows


def densify(rows: Sequence[SparseRow], buckets: int) -> Vector:
    """The rows as a dense [len(rows), buckets] matrix (for training and small batches)."""
    dense = np.zeros((len(rows), buckets), dtype=np.float32)
    for i, row in enumerate(rows):
        dense[i, row.indices] = row.values
    return dense


@dataclass(frozen=True, slots=True)
class NgramHead:
    """A linear model over the n-gram features, and its share of the ensemble's average."""

    spec: NgramSpec
    idf: Vector  # [buckets]
    weight: Vector  # [labels, buckets]
    bias: Vector  # [labels]
    input_scale: float
    """The features are unit vectors; the model sees them times this, like the head."""
    mix: float
    """This model's share of the ensemble's probabilities (`models.intent.blend`)."""

    def logits(self, texts: Sequence[str]) -> Vector:
        """One row of label logits per text; only the buckets a text has are read."""
        weight_t = self.weight.T
        out = np.empty((len(texts), len(self.bias)), dtype=np.float32)
        for i, row in enumerate(tfidf_rows(texts, self.idf, self.spec)):
            out[i] = (row.values * np.float32(self.input_scale)) @ weight_t[row.indices]
        return out + self.bias
