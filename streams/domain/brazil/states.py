"""Brazil's 27 federative units (UF) and the time zone each one keeps.

Brazil has four time zones (and had daylight saving time until 2019); a state keeps its
capital's, which is what a debtor's wall clock shows as far as contact windows go: Manaus is
an hour behind São Paulo, so 08:00 there is 09:00 in São Paulo.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["UF_ZONES", "zone_for"]

#: Every UF, with the IANA zone of its capital.
UF_ZONES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "AC": "America/Rio_Branco",
        "AL": "America/Maceio",
        "AM": "America/Manaus",
        "AP": "America/Belem",
        "BA": "America/Bahia",
        "CE": "America/Fortaleza",
        "DF": "America/Sao_Paulo",
        "ES": "America/Sao_Paulo",
        "GO": "America/Sao_Paulo",
        "MA": "America/Fortaleza",
        "MG": "America/Sao_Paulo",
        "MS": "America/Campo_Grande",
        "MT": "America/Cuiaba",
        "PA": "America/Belem",
        "PB": "America/Fortaleza",
        "PE": "America/Recife",
        "PI": "America/Fortaleza",
        "PR": "America/Sao_Paulo",
        "RJ": "America/Sao_Paulo",
        "RN": "America/Fortaleza",
        "RO": "America/Porto_Velho",
        "RR": "America/Boa_Vista",
        "RS": "America/Sao_Paulo",
        "SC": "America/Sao_Paulo",
        "SE": "America/Maceio",
        "SP": "America/Sao_Paulo",
        "TO": "America/Araguaina",
    }
)


def zone_for(uf: str) -> ZoneInfo:
    """The debtor's time zone: their UF capital's."""
    try:
        return _zone(UF_ZONES[uf])
    except KeyError:
        raise ValueError(f"unknown UF {uf!r}; expected one of {', '.join(UF_ZONES)}") from None


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
