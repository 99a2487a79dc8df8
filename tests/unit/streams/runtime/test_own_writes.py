"""A follower skips the records its own process wrote and applied (streams/runtime/follower.py)."""

from __future__ import annotations

from schemas.codec import encode
from streams.runtime.follower import OwnWrites, TopicFollower
from tests import factories as f


def test_a_record_written_here_is_taken_once_and_another_process_record_never() -> None:
    own = OwnWrites()
    ours, theirs = b"\x00ours", b"\x00theirs"
    own.expect(ours)
    assert own.take(theirs) is False
    assert own.take(ours) is True
    assert own.take(ours) is False  # the same bytes again: a copy someone else wrote


def test_a_failed_write_read_back_already_is_the_callers_to_apply() -> None:
    own = OwnWrites()
    own.expect(b"stored after all")
    own.expect(b"never stored")
    assert own.take(b"stored after all") is True  # the follower saw it before the failure
    assert own.abandon(b"stored after all") is True
    assert own.abandon(b"never stored") is False
    assert own.take(b"never stored") is False


def test_the_follower_applies_what_others_wrote_and_skips_its_own_undecoded() -> None:
    applied: list[str] = []
    own = OwnWrites()
    follower = TopicFollower(
        "127.0.0.1:1", "t", lambda e: applied.append(e.header.event_id), own=own
    )
    mine, other = (f.send_requested("acme", request) for request in ("r1", "r2"))
    mine_bytes = encode(mine.to_representation())
    own.expect(mine_bytes)
    follower._apply_record(mine_bytes, "t[0]@0")
    follower._apply_record(encode(other.to_representation()), "t[0]@1")
    assert applied == [other.header.event_id]
    assert follower.applied == 2
