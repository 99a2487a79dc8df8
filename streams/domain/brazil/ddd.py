"""Brazil's area codes (DDD): the two digits after +55 that say where a phone number is from.

Anatel assigns the 67 codes in use, each within one state (UF). A phone number's DDD tells
whether it can be Brazilian at all, and, when a debtor's state was not imported, which state's
contact window and holidays apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["DDD_UF"]

#: Every Brazilian area code (DDD) in use, with its state: 67 codes.
DDD_UF: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(("11", "12", "13", "14", "15", "16", "17", "18", "19"), "SP"),
        **dict.fromkeys(("21", "22", "24"), "RJ"),
        **dict.fromkeys(("27", "28"), "ES"),
        **dict.fromkeys(("31", "32", "33", "34", "35", "37", "38"), "MG"),
        **dict.fromkeys(("41", "42", "43", "44", "45", "46"), "PR"),
        **dict.fromkeys(("47", "48", "49"), "SC"),
        **dict.fromkeys(("51", "53", "54", "55"), "RS"),
        "61": "DF",
        **dict.fromkeys(("62", "64"), "GO"),
        "63": "TO",
        **dict.fromkeys(("65", "66"), "MT"),
        "67": "MS",
        "68": "AC",
        "69": "RO",
        **dict.fromkeys(("71", "73", "74", "75", "77"), "BA"),
        "79": "SE",
        **dict.fromkeys(("81", "87"), "PE"),
        "82": "AL",
        "83": "PB",
        "84": "RN",
        **dict.fromkeys(("85", "88"), "CE"),
        **dict.fromkeys(("86", "89"), "PI"),
        **dict.fromkeys(("91", "93", "94"), "PA"),
        **dict.fromkeys(("92", "97"), "AM"),
        "95": "RR",
        "96": "AP",
        **dict.fromkeys(("98", "99"), "MA"),
    }
)
