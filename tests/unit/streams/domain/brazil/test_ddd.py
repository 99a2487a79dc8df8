"""The area codes: every DDD in use, in its state, and none that is not."""

from __future__ import annotations

from streams.domain.brazil.ddd import DDD_UF


def test_there_are_67_area_codes_in_27_states() -> None:
    assert len(DDD_UF) == 67
    assert len(set(DDD_UF.values())) == 27
    assert DDD_UF["11"] == "SP" and DDD_UF["21"] == "RJ" and DDD_UF["99"] == "MA"
    for unassigned in ("10", "20", "23", "25", "26", "29", "30", "36", "39", "40", "50", "52"):
        assert unassigned not in DDD_UF
