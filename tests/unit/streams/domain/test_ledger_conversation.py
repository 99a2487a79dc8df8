"""What the ledger does with the conversation's actions: pauses hold reminders until resumed,
an opt-out blocks its phone and client but lets its own confirmation through."""

from __future__ import annotations

from schemas.events import SendRejectReason
from streams.domain.ledger import LedgerBook
from streams.domain.reply_policy import reply_request_id
from tests.factories import (
    collection_paused,
    collection_resumed,
    opted_out,
    send_requested,
    wrong_number_reported,
)

PHONE = "+5511987654321"


def test_a_pause_holds_reminders_but_not_replies_nor_a_persons_until_resumed() -> None:
    book = LedgerBook()
    book.apply(collection_paused("acme", "c1"))
    reminder = send_requested("acme", "r1", client_id="c1", step="D0")
    reply = send_requested("acme", "r2", client_id="c1", step=None)
    person = send_requested("acme", "r3", client_id="c1", step="operator")
    api_send = send_requested("acme", "r4", client_id="c1", step="api")
    assert book.block(reminder) is SendRejectReason.PAUSED
    assert book.block(api_send) is SendRejectReason.PAUSED  # a tenant's systems are automated
    assert book.block(reply) is None
    assert book.block(person) is None  # a hand-off pauses the client so that a person answers
    assert book.block(send_requested("other", "r1", client_id="c1", step="D0")) is None
    book.apply(collection_resumed("acme", "c1"))
    assert book.block(reminder) is None


def test_resuming_never_lifts_an_opt_out() -> None:
    book = LedgerBook()
    book.apply(opted_out("acme", phone=PHONE, client_id="c1"))
    book.apply(collection_paused("acme", "c1"))
    book.apply(collection_resumed("acme", "c1"))
    other_phone = send_requested("acme", "r1", client_id="c1", phone="+5511900000000", step="D0")
    assert book.block(other_phone) is SendRejectReason.OPTED_OUT  # the client opted out
    assert book.block(send_requested("acme", "r2", client_id="c9", phone=PHONE)) is (
        SendRejectReason.OPTED_OUT
    )  # and so did the phone, whoever it is imported for


def test_an_opt_out_lets_exactly_its_own_confirmation_through() -> None:
    event = opted_out("acme", phone=PHONE, client_id="c1")
    assert event.waha_message_id is not None
    book = LedgerBook()
    book.apply(event)
    confirmation = send_requested(
        "acme", reply_request_id("acme", event.waha_message_id), client_id="c1", phone=PHONE
    )
    assert book.block(confirmation) is None
    assert book.block(send_requested("acme", "r-later", client_id="c1", phone=PHONE)) is (
        SendRejectReason.OPTED_OUT
    )


def test_a_wrong_number_lets_nothing_through() -> None:
    book = LedgerBook()
    book.apply(wrong_number_reported("acme", phone=PHONE, client_id="c1"))
    request = send_requested("acme", reply_request_id("acme", "x"), phone=PHONE)
    assert book.block(request) is SendRejectReason.WRONG_NUMBER
