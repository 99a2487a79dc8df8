"""A real, deterministic intent classifier for tests: keyword rules, in tests only.

The worker loads it with COBRANCA_INTENT_CLASSIFIER=tests.intent_rules:classifier. The first
rule whose words occur in the lower-cased text wins, with that rule's confidence; no rule:
`other` at 0.9. Confidence below THRESHOLD on purpose for "talvez" (maybe), so tests can reach
the low-confidence hand-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

THRESHOLD = 0.6

RULES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("other", ("talvez",), 0.3),
    ("wrong_person", ("numero errado", "não conheço", "nao conheco"), 0.95),
    ("already_paid", ("já paguei", "ja paguei"), 0.93),
    ("opt_out", ("parem", "para de mandar", "não quero mais", "sair da lista"), 0.97),
    ("dispute", ("não devo", "nao devo", "não é meu", "nao e meu"), 0.9),
    ("negotiate", ("parcelar", "desconto"), 0.88),
    ("talk_to_human", ("atendente", "humano"), 0.92),
    ("request_payment_info", ("pix", "boleto", "link", "2 via", "2ª via"), 0.94),
    ("promise_to_pay", ("vou pagar", "pago amanhã", "pago sexta"), 0.91),
)


@dataclass(frozen=True, slots=True)
class KeywordClassifier:
    version: str = "keyword-rules-1"
    threshold: float = THRESHOLD

    def classify(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        return [self._one(text.lower()) for text in texts]

    @staticmethod
    def _one(text: str) -> tuple[str, float]:
        for label, words, confidence in RULES:
            if any(word in text for word in words):
                return label, confidence
        return "other", 0.9


def classifier() -> KeywordClassifier:
    return KeywordClassifier()
