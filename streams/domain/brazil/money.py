"""Money and numbers as Brazilians write and read them.

Amounts are integer centavos everywhere in cobranca (no floats near money). A number reads
with dots between thousands (``1.234.567``) and money with a comma before the centavos
(``R$ 1.234,56``), which is how messages show it (`format_brl`). What people type is looser:
`parse_amount_centavos` takes the usual Brazilian and international forms of an amount in
reais with integer arithmetic only, and refuses what it cannot read for certain (``1.234``:
a thousand, or one and a bit?).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from streams.domain.brazil.errors import InvalidValue, Problem
from streams.domain.brazil.text import excerpt

__all__ = ["MAX_AMOUNT_CENTAVOS", "format_brl", "parse_amount_centavos", "thousands"]

#: Largest amount: what an Avro `long` holds.
MAX_AMOUNT_CENTAVOS: Final = 2**63 - 1


def thousands(number: int) -> str:
    """``1234567`` → ``"1.234.567"``: how a number reads in Portuguese."""
    return f"{number:,}".replace(",", ".")


def format_brl(centavos: int) -> str:
    """``123456`` → ``"R$ 1.234,56"``; negative amounts keep their sign before the symbol."""
    sign = "-" if centavos < 0 else ""
    reais, cents = divmod(abs(centavos), 100)
    return f"{sign}R$ {thousands(reais)},{cents:02d}"


# The accepted forms as one alternation, tried in this order (the first that matches the
# whole text wins); each has a group for the reais and, after a decimal mark, one for the
# centavos. `_AMOUNT_GROUPS` maps the match's last group to (reais group, centavos group or
# None, thousands separator or None).
_AMOUNT_FORM: Final = re.compile(
    r"(\d+)"  # 150
    r"|(\d+),(\d{1,2})"  # 1234,56
    r"|(\d{1,3}(?:\.\d{3})+),(\d{1,2})"  # 1.234,56
    r"|(\d{1,3}(?:\.\d{3}){2,})"  # 1.234.567
    r"|(\d+)\.(\d{1,2})"  # 1234.56
    r"|(\d{1,3}(?:,\d{3})+)\.(\d{1,2})"  # 1,234.56
    r"|(\d{1,3}(?:,\d{3}){2,})"  # 1,234,567
)
_AMOUNT_GROUPS: Final[Mapping[int, tuple[int, int | None, str | None]]] = MappingProxyType(
    {
        1: (1, None, None),
        3: (2, 3, None),
        5: (4, 5, "."),
        6: (6, None, "."),
        8: (7, 8, None),
        10: (9, 10, ","),
        11: (11, None, ","),
    }
)
_PLAIN_AMOUNT = re.compile(r"[\d.,]+")  # no currency, spaces or sign: nothing to strip
_AMBIGUOUS_AMOUNT = re.compile(r"\d{1,3}[.,]\d{3}")  # 1.234 / 1,234: thousands or decimals?
_CURRENCY = re.compile(r"^R\$", re.IGNORECASE)
_AMOUNT_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_MAX_AMOUNT_DIGITS = len(str(MAX_AMOUNT_CENTAVOS))


def parse_amount_centavos(value: object) -> int:
    """An amount in reais → integer centavos, > 0; raises `InvalidValue` otherwise.

    Integer arithmetic only. ``1.234,56``, ``R$ 1.234,56``, ``1234,5``, ``1234.56``,
    ``1,234.56``, ``150``; JSON numbers arrive as `int` or `Decimal`. ``1.234`` and ``1,234``
    are refused as ambiguous (thousands or decimals?).
    """
    if type(value) is str:  # CSV: always; the other types below are JSON's
        return _text_centavos(value)
    if isinstance(value, bool):
        raise InvalidValue(Problem.INVALID_AMOUNT, f"valor {value!r} não é um número")
    if isinstance(value, int):
        return _positive_centavos(value * 100, str(value))
    if isinstance(value, float):
        value = Decimal(repr(value))  # the shortest text of the float; no float arithmetic
    if isinstance(value, Decimal):
        return _decimal_centavos(value)
    if not isinstance(value, str):
        raise InvalidValue(Problem.INVALID_AMOUNT, "valor deve ser um número ou um texto")
    return _text_centavos(value)


def _text_centavos(value: str) -> int:
    text = value.strip()
    if not _PLAIN_AMOUNT.fullmatch(text):  # digits and marks only: nothing to strip or check
        text = _AMOUNT_SPACES.sub("", _CURRENCY.sub("", text))
        if text.startswith("-") or text.endswith("-") or (text[:1] == "(" and text[-1:] == ")"):
            raise InvalidValue(
                Problem.INVALID_AMOUNT, f"valor {excerpt(value)!r} é negativo; deve ser > 0"
            )
    if len(text) > _MAX_AMOUNT_DIGITS + 8:
        raise InvalidValue(Problem.INVALID_AMOUNT, f"valor {excerpt(value)!r} é grande demais")
    # No ambiguous text (below) fits a form, so the forms are tried first: the common case
    # costs one match.
    if form := _AMOUNT_FORM.fullmatch(text):
        assert form.lastindex is not None
        reais_at, cents_at, thousands_mark = _AMOUNT_GROUPS[form.lastindex]
        reais = form.group(reais_at)
        if thousands_mark:
            reais = reais.replace(thousands_mark, "")
        cents = form.group(cents_at).ljust(2, "0") if cents_at else "0"
        centavos = int(reais) * 100 + int(cents)
        if 0 < centavos <= MAX_AMOUNT_CENTAVOS:
            return centavos
        return _positive_centavos(centavos, excerpt(value))  # raises
    if _AMBIGUOUS_AMOUNT.fullmatch(text):
        raise InvalidValue(
            Problem.INVALID_AMOUNT,
            f"valor {excerpt(value)!r} é ambíguo (milhar ou decimal?); use vírgula nos "
            "centavos: 1.234,00 ou 1,23",
        )
    raise InvalidValue(
        Problem.INVALID_AMOUNT,
        f"valor {excerpt(value)!r} não é um valor em reais (use 1.234,56, R$ 1.234,56 ou 1234.56)",
    )


def _decimal_centavos(value: Decimal) -> int:
    if not value.is_finite():
        raise InvalidValue(Problem.INVALID_AMOUNT, f"valor {value} não é um número")
    if value.adjusted() >= _MAX_AMOUNT_DIGITS:
        raise InvalidValue(Problem.INVALID_AMOUNT, f"valor {value:.3g} é grande demais")
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    digits = "".join(map(str, digit_tuple))
    shift = exponent + 2  # centavos = digits * 10**(exponent + 2)
    if shift >= 0:
        centavos = int(digits) * 10**shift
    else:
        whole, fraction = digits[:shift] or "0", digits[shift:]
        if fraction.strip("0"):
            raise InvalidValue(
                Problem.INVALID_AMOUNT, f"valor {value} tem mais de duas casas decimais"
            )
        centavos = int(whole)
    return _positive_centavos(-centavos if sign else centavos, str(value))


def _positive_centavos(centavos: int, shown: str) -> int:
    if centavos <= 0:
        raise InvalidValue(Problem.INVALID_AMOUNT, f"valor {shown!r} deve ser maior que zero")
    if centavos > MAX_AMOUNT_CENTAVOS:
        raise InvalidValue(Problem.INVALID_AMOUNT, f"valor {shown!r} é grande demais")
    return centavos
