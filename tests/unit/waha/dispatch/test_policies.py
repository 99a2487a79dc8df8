"""The dispatch policies, driven directly: times are plain numbers, jitter a seeded Random."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.waha.dispatch import (
    Backoff,
    BreakerState,
    ChatIdMemo,
    CircuitBreaker,
    SessionGate,
    SessionRateLimiter,
    direct_chat_id,
    needs_lookup,
    parse_retry_after,
)
from connectors.waha.dispatch.chat_ids import brazilian_mobile

# --- rate -------------------------------------------------------------------------------------


@given(
    rate=st.floats(0.1, 50),
    jitter=st.floats(0, 0.9),
    gaps=st.lists(st.floats(0, 5), min_size=1, max_size=50),
    seed=st.integers(0, 2**32),
)
def test_sends_of_a_session_are_spaced_by_the_jittered_interval(
    rate: float, jitter: float, gaps: list[float], seed: int
) -> None:
    limiter = SessionRateLimiter(rate, jitter, random.Random(seed))
    now, slots = 0.0, []
    for gap in gaps:
        now += gap
        wait = limiter.reserve("s", now)
        assert wait >= 0
        slots.append(now + wait)
    interval = 1 / rate
    for earlier, later in itertools.pairwise(slots):
        assert later - earlier >= interval * (1 - jitter) - 1e-9


def test_a_free_session_sends_at_once_and_sessions_do_not_slow_each_other() -> None:
    limiter = SessionRateLimiter(1.0, 0.2, random.Random(1))
    assert limiter.reserve("a", 10.0) == 0
    assert 0.8 <= limiter.reserve("a", 10.0) <= 1.2
    assert limiter.reserve("b", 10.0) == 0


def test_a_rate_of_zero_turns_the_limit_off() -> None:
    limiter = SessionRateLimiter(0, 0.2)
    assert [limiter.reserve("a", 1.0) for _ in range(100)] == [0.0] * 100


def test_jitter_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="jitter"):
        SessionRateLimiter(1, 1.5)


# --- backoff ----------------------------------------------------------------------------------


@given(attempt=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_backoff_doubles_up_to_its_cap_and_jitters_below_the_ceiling(
    attempt: int, seed: int
) -> None:
    backoff = Backoff(base_s=0.5, cap_s=30, jitter=0.5)
    ceiling = min(30.0, 0.5 * 2 ** (attempt - 1)) if attempt < 60 else 30.0
    assert backoff.ceiling(attempt) == pytest.approx(ceiling)
    delay = backoff.delay(attempt, random.Random(seed))
    assert ceiling * 0.5 - 1e-9 <= delay <= ceiling


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    backoff = Backoff(max_retry_after_s=60)
    rng = random.Random(0)
    assert backoff.delay(1, rng, retry_after=7) == 7
    assert backoff.delay(9, rng, retry_after=0) == 0
    assert backoff.delay(1, rng, retry_after=86_400) == 60


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Fri, 04 Dec 2026 12:00:30 GMT", now) == 30
    assert parse_retry_after("Fri, 04 Dec 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(
        (now + timedelta(seconds=5)).strftime("%a, %d %b %Y %H:%M:%S GMT"), now
    ) == pytest.approx(5)


# --- breaker ----------------------------------------------------------------------------------


def test_the_circuit_opens_after_consecutive_failures_and_closes_after_a_good_trial() -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_s=10)
    for t in (0, 1):
        assert breaker.wait_s(t) == 0
        breaker.record_failure(t)
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure(2)
    assert breaker.state is BreakerState.OPEN
    assert breaker.wait_s(5) == pytest.approx(7)
    # Half-open at 12: one trial, and only one.
    assert breaker.wait_s(12) == 0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.wait_s(12) > 0
    breaker.record_success(13)
    assert breaker.state is BreakerState.CLOSED
    assert [s for _, s in breaker.transitions] == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]
    assert breaker.times_opened == 1


def test_a_failed_trial_opens_the_circuit_again() -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_s=5)
    breaker.record_failure(0)
    assert breaker.wait_s(5) == 0
    breaker.record_failure(5)
    assert breaker.state is BreakerState.OPEN
    assert breaker.wait_s(6) == pytest.approx(4)
    assert breaker.times_opened == 2


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_s=5)
    for t in range(10):
        breaker.record_failure(t)
        breaker.record_failure(t)
        breaker.record_success(t)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.transitions == []


@given(st.lists(st.sampled_from(["ok", "fail", "ask"]), max_size=80))
def test_an_open_circuit_never_lets_a_call_through_before_its_time(ops: list[str]) -> None:
    breaker = CircuitBreaker(failure_threshold=2, open_s=3)
    for t, op in enumerate(ops):
        if op == "ask":
            wait = breaker.wait_s(float(t))
            if breaker.state is BreakerState.OPEN:
                assert wait > 0
                assert t < breaker.opened_at + 3
        elif op == "ok":
            breaker.record_success(float(t))
        else:
            breaker.record_failure(float(t))


# --- sessions ---------------------------------------------------------------------------------


def test_a_session_that_is_not_working_is_paused_until_a_check_finds_it_working() -> None:
    gate = SessionGate(check_interval_s=2)
    assert gate.is_open("s")
    gate.pause("s", "FAILED", now=10)
    assert not gate.is_open("s")
    assert gate.status("s") == "FAILED"
    assert gate.check_in("s", 11) == pytest.approx(1)
    assert gate.check_in("s", 12.5) == 0
    gate.observe("s", "STARTING", 12.5)
    assert not gate.is_open("s")
    assert gate.check_in("s", 13) == pytest.approx(1.5)
    assert gate.paused_for("s", 14) == pytest.approx(4)
    gate.observe("s", "WORKING", 15)
    assert gate.is_open("s") and gate.status("s") == "WORKING"


# --- the 9th digit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "lookup"),
    [
        ("+5511987654321", False),  # São Paulo: the 13-digit form is the id
        ("+5528987654321", False),
        ("+5531987654321", True),  # Belo Horizonte: may be an old 12-digit id
        ("+5585991203123", True),  # Fortaleza (WAHA_API.md's GOWS capture)
        ("+551133334444", False),  # a landline
        ("+553133334444", False),
        ("+14155550100", False),  # not Brazil
    ],
)
def test_which_numbers_need_check_exists(phone: str, lookup: bool) -> None:
    assert needs_lookup(phone) is lookup


def test_the_direct_chat_id_is_the_number_without_plus() -> None:
    assert direct_chat_id("+5511987654321") == "5511987654321@c.us"
    assert brazilian_mobile("+5585991203123") == (85, "991203123")
    with pytest.raises(ValueError, match=r"E\.164"):
        direct_chat_id("+55 11 98765-4321")


def test_the_memo_remembers_each_answer_once_and_forgets_the_oldest() -> None:
    memo = ChatIdMemo(max_entries=2)
    assert memo.lookup("+5511987654321") == (True, "5511987654321@c.us")
    assert memo.lookup("+5531987654321") == (False, None)
    memo.remember("+5531987654321", "553187654321@c.us")
    memo.remember("+5531900000000", None)
    assert memo.lookup("+5531987654321") == (True, "553187654321@c.us")
    assert memo.lookup("+5531900000000") == (True, None)
    memo.remember("+5541987654321", "5541987654321@c.us")
    assert len(memo) == 2
    # +5531987654321 was the least recently used.
    assert memo.lookup("+5531987654321") == (False, None)
    assert memo.lookup("+5531900000000") == (True, None)
