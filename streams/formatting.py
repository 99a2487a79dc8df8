"""How a debtor reads money and dates: Brazilian Portuguese conventions."""

from __future__ import annotations

from datetime import date


def format_brl(centavos: int) -> str:
    """``123456`` → ``"R$ 1.234,56"``; negative amounts keep their sign before the symbol."""
    sign = "-" if centavos < 0 else ""
    reais, cents = divmod(abs(centavos), 100)
    grouped = f"{reais:,}".replace(",", ".")
    return f"{sign}R$ {grouped},{cents:02d}"


def format_date_br(day: date) -> str:
    """``date(2026, 3, 5)`` → ``"05/03/2026"``."""
    return day.strftime("%d/%m/%Y")
