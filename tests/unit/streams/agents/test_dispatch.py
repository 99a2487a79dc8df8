"""The dispatcher agent's pure parts: what an approval becomes, and the fold of its outputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.waha.client import SentMessage
from connectors.waha.dispatcher import AttemptFailure, Outcome
from schemas.events import DispatchFailed, MessageDispatched, SendKind
from streams.agents.dispatch import DispatchBook, order_for, outcome_events, policy_from
from streams.base.errors import SettingsError
from streams.base.settings import DispatchSettings, Settings
from tests.factories import send_approved

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_an_approval_becomes_an_order_through_the_chosen_session() -> None:
    text = order_for(send_approved("acme", "r1"), "acme-waha")
    assert (text.session, text.phone_e164, text.text, text.file) == (
        "acme-waha",
        "+5511987654321",
        "Olá!",
        None,
    )
    approved = send_approved("acme", "r2", kind=SendKind.FILE)
    approved.file_mimetype = "application/pdf"
    approved.file_name = "boleto.pdf"
    order = order_for(approved, "s")
    assert order.file is not None and order.file.mimetype == "application/pdf"


def test_a_file_approval_without_a_mimetype_is_refused() -> None:
    with pytest.raises(ValueError, match="file_mimetype"):
        order_for(send_approved("acme", "r2", kind=SendKind.FILE), "s")


def test_a_sent_message_is_dispatched_after_its_retried_failures() -> None:
    approved = send_approved("acme", "r1")
    sent = SentMessage("true_5511987654321@s.whatsapp.net_3EB0AA", "5511987654321@c.us", {})
    failures = (AttemptFailure(1, True, "503", 503), AttemptFailure(2, True, "timeout"))
    events = outcome_events(approved, "s", Outcome(3, sent=sent, failures=failures), NOW)
    assert [type(e) for e in events] == [DispatchFailed, DispatchFailed, MessageDispatched]
    dispatched = events[-1]
    assert isinstance(dispatched, MessageDispatched)
    # The id in its engine-independent form: the normalizer links acks and replies with it.
    assert dispatched.waha_message_id == "true_5511987654321@c.us_3EB0AA"
    assert (dispatched.attempt, dispatched.session, dispatched.request_id) == (3, "s", "r1")
    assert all(e.header.causation_id == approved.header.event_id for e in events)
    assert len({e.header.event_id for e in events}) == 3
    # A replay derives the same ids.
    again = outcome_events(approved, "s", Outcome(3, sent=sent, failures=failures), NOW)
    assert [e.header.event_id for e in again] == [e.header.event_id for e in events]


def test_a_permanent_failure_is_one_non_retryable_dispatch_failed() -> None:
    approved = send_approved("acme", "r1")
    outcome = Outcome(1, permanent=AttemptFailure(1, False, "400 bad", 400))
    (failed,) = outcome_events(approved, "s", outcome, NOW)
    assert isinstance(failed, DispatchFailed)
    assert (failed.retryable, failed.status_code, failed.error) == (False, 400, "400 bad")


def test_the_book_knows_which_requests_are_finished() -> None:
    book = DispatchBook()
    approved = send_approved("acme", "r1")
    retried = outcome_events(
        approved, "s", Outcome(1, permanent=None, failures=(AttemptFailure(1, True, "x"),)), NOW
    )
    for event in retried:
        book.apply(event)
    assert not book.is_finished("acme", "r1")
    sent = SentMessage("true_5511987654321@c.us_A", "5511987654321@c.us", {})
    for event in outcome_events(approved, "s", Outcome(1, sent=sent), NOW):
        book.apply(event)
    assert book.is_finished("acme", "r1")
    assert not book.is_finished("other", "r1")


def test_dispatch_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "WAHA_SESSION": "acme",
            "COBRANCA_DISPATCH_RATE": "0",
            "COBRANCA_DISPATCH_BREAKER_FAILURES": "3",
            "COBRANCA_DISPATCH_BREAKER_OPEN_S": "2.5",
        }
    )
    assert settings.dispatch.session == "acme"
    policy = policy_from(settings.dispatch)
    assert (policy.rate_per_s, policy.breaker_failures, policy.breaker_open_s) == (0, 3, 2.5)
    assert Settings.from_env({}).dispatch == DispatchSettings()
    assert DispatchSettings().rate_per_s == 1.0


def test_what_is_in_flight_comes_from_the_environment() -> None:
    settings = Settings.from_env(
        {"COBRANCA_DISPATCH_BATCH": "32", "COBRANCA_DISPATCH_PER_SESSION": "4"}
    )
    assert (settings.dispatch.batch, policy_from(settings.dispatch).per_session) == (32, 4)
    assert (DispatchSettings().batch, DispatchSettings().per_session) == (256, 16)
    for bad in ("0", "-1", "many"):
        with pytest.raises(SettingsError, match="COBRANCA_DISPATCH_BATCH"):
            Settings.from_env({"COBRANCA_DISPATCH_BATCH": bad})
