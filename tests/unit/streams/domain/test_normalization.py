"""The normalizer's rules, given callbacks → expected conversation events (no broker), read
by the WAHA connector as the agent reads them; and the monotonic ack rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.waha.errors import WahaWireError
from connectors.waha.normalize import WAHA_IDS, read_webhook
from schemas.codec import decode, encode
from schemas.events import (
    DeliveryStatusChanged,
    InboundMessage,
    MessageDispatched,
    SessionStatusChanged,
    WahaCallbackReceived,
    new_header,
)
from streams.domain.errors import InvalidAck
from streams.domain.normalization import (
    ConversationBook,
    DispatchLinks,
    Outcome,
    handle,
    next_ack,
)
from streams.domain.normalized import Ack
from streams.runtime.log_reader import event_from
from tests.unit.waha.envelopes import ack, envelope, message, raw
from tests.unit.waha.shared_fixtures import fixture_bytes

CHAT = "5511988887777@c.us"
SENT_ID = f"true_{CHAT}_3EB0BBBB"
T0 = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # the envelopes' message timestamp


def callback(body: bytes, tenant: str = "acme") -> WahaCallbackReceived:
    return WahaCallbackReceived(
        header=new_header(
            "WahaCallbackReceived",
            tenant_id=tenant,
            correlation_id="c",
            causation_id=None,
            source="tests",
        ),
        body=body,
        headers={},
        received_at=datetime.now(UTC),
        session="tenant-a",
    )


def dispatched(request_id: str, message_id: str, at: datetime, chat: str = CHAT) -> Any:
    return MessageDispatched(
        header=new_header(
            "MessageDispatched",
            tenant_id="acme",
            correlation_id=request_id,
            causation_id=None,
            source="tests",
            occurred_at=at,
        ),
        request_id=request_id,
        session="tenant-a",
        chat_id=chat,
        waha_message_id=message_id,
        attempt=1,
    )


def decide(book: ConversationBook, links: DispatchLinks, callback: WahaCallbackReceived) -> Outcome:
    """What the agent does with one callback: the connector reads it, the rules decide."""
    reading = read_webhook(callback.body, source=f"callback {callback.header.event_id}")
    return handle(book, links, callback, reading)


class Agent:
    """What the agent does with the pure rule: handle, emit, apply."""

    def __init__(self, links: DispatchLinks | None = None) -> None:
        self.book = ConversationBook(WAHA_IDS)
        self.links = links or DispatchLinks(WAHA_IDS)
        self.emitted: list[Any] = []

    def feed(self, body: bytes) -> Outcome:
        outcome = decide(self.book, self.links, callback(body))
        for event in outcome.events:
            self.book.apply(event)
            self.emitted.append(event)
        return outcome


def _ack_body(level: int | None, name: str | None, event_id: str, **fields: Any) -> bytes:
    return raw(envelope("message.ack", ack(level, name, id=SENT_ID, **fields), id=event_id))


def test_an_inbound_message_becomes_one_inbound_message() -> None:
    agent = Agent()
    body = raw(envelope("message", message()))
    outcome = agent.feed(body)
    (event,) = outcome.events
    assert isinstance(event, InboundMessage)
    assert (event.chat_id, event.body, event.from_me) == (CHAT, "Vou pagar amanhã", False)
    assert event.waha_event_id == "evt_01jq0000000000000000000099"
    assert event.header.tenant_id == "acme"
    assert event.header.source == "streams.normalization"
    assert event.header.correlation_id == CHAT  # no request to link to
    assert outcome.unlinked


def test_retries_and_message_any_are_duplicates() -> None:
    agent = Agent()
    body = raw(envelope("message", message()))
    agent.feed(body)
    assert agent.feed(body).duplicate
    other = raw(envelope("message.any", message(), id="evt_01jq0000000000000000000100"))
    assert agent.feed(other).duplicate
    assert len(agent.emitted) == 1


def test_dedupe_survives_a_rebuild_from_the_outputs() -> None:
    agent = Agent()
    first = raw(envelope("message", message()))
    agent.feed(first)
    agent.feed(raw(envelope("session.status", {"status": "WORKING"}, id="evt_01jq00000000000001")))
    rebuilt = ConversationBook(WAHA_IDS)
    for event in agent.emitted:
        # through the wire, as the rebuild reads them
        rebuilt.apply(event_from(encode(event.to_representation())))
    assert rebuilt == agent.book
    assert decide(rebuilt, DispatchLinks(WAHA_IDS), callback(first)).duplicate
    # the same envelope id alone marks a duplicate, even if the payload differed
    retried = raw(envelope("message", message(id=f"false_{CHAT}_OTHER")))
    assert decide(rebuilt, DispatchLinks(WAHA_IDS), callback(retried)).duplicate


def test_event_ids_are_derived_from_the_webhook() -> None:
    body = raw(envelope("message", message()))
    first = decide(ConversationBook(WAHA_IDS), DispatchLinks(WAHA_IDS), callback(body)).events[0]
    again = decide(ConversationBook(WAHA_IDS), DispatchLinks(WAHA_IDS), callback(body)).events[0]
    assert first.header.event_id == again.header.event_id
    assert first.header.causation_id != again.header.causation_id  # two callbacks


def test_acks_are_monotonic_whatever_their_order() -> None:
    agent = Agent()
    agent.feed(_ack_body(3, "READ", "evt_a3"))
    assert agent.feed(_ack_body(1, "SERVER", "evt_a1")).stale_ack
    assert agent.feed(_ack_body(2, "DEVICE", "evt_a2")).stale_ack
    assert agent.feed(_ack_body(4, "PLAYED", "evt_a4")).events
    assert agent.feed(_ack_body(-1, "ERROR", "evt_ae")).events
    assert not agent.feed(_ack_body(4, "PLAYED", "evt_a5")).events  # a duplicate of evt_a4
    assert [e.ack for e in agent.emitted] == [3, 4, -1]
    assert all(isinstance(e, DeliveryStatusChanged) for e in agent.emitted)


def test_null_and_unknown_acks_are_ignored() -> None:
    agent = Agent()
    assert agent.feed(_ack_body(None, None, "evt_n")).ignored is not None
    assert agent.feed(_ack_body(0, "UNKNOWN", "evt_u")).ignored is not None
    assert agent.emitted == []


def test_an_ack_is_linked_to_the_request_whose_message_it_acknowledges() -> None:
    links = DispatchLinks(WAHA_IDS)
    # GOWS may answer a send with a `_<me>` suffix its acks do not carry
    links.apply(dispatched("req-7", f"{SENT_ID}_5511900000000@c.us", T0))
    agent = Agent(links)
    outcome = agent.feed(_ack_body(1, "SERVER", "evt_s"))
    (event,) = outcome.events
    assert event.request_id == "req-7"
    assert event.header.correlation_id == "req-7"
    assert not outcome.unlinked


def test_an_unknown_message_is_unlinked() -> None:
    outcome = Agent().feed(_ack_body(1, "SERVER", "evt_s"))
    assert outcome.unlinked
    assert outcome.events[0].request_id is None


def test_a_reply_names_the_latest_request_sent_to_its_chat_before_it() -> None:
    links = DispatchLinks(WAHA_IDS)
    links.apply(dispatched("req-old", f"true_{CHAT}_A", T0 - timedelta(days=2)))
    links.apply(dispatched("req-new", f"true_{CHAT}_B", T0 - timedelta(hours=1)))
    links.apply(dispatched("req-later", f"true_{CHAT}_C", T0 + timedelta(hours=1)))
    other = "5511911112222@c.us"
    links.apply(dispatched("req-other-chat", f"true_{other}_D", T0, chat=other))
    (event,) = Agent(links).feed(raw(envelope("message", message()))).events
    assert event.request_id == "req-new"


def test_a_reply_from_a_number_resolved_by_the_9th_digit_check_is_linked() -> None:
    links = DispatchLinks(WAHA_IDS)
    # dispatched to the number as imported; WhatsApp's id names the chat without the 9th digit
    links.apply(dispatched("req-1", "true_551188887777@c.us_A", T0, chat="5511988887777@c.us"))
    body = raw(envelope("message", message(id="false_551188887777@c.us_R")))
    assert Agent(links).feed(body).events[0].request_id == "req-1"


def test_group_messages_are_never_linked_to_a_request() -> None:
    body = raw(
        envelope(
            "message",
            message(id="false_120363@g.us_G_5511988887777@c.us", participant=CHAT),
        )
    )
    outcome = Agent().feed(body)
    assert outcome.events[0].is_group
    assert not outcome.unlinked


def test_a_session_status_becomes_a_session_status_change() -> None:
    agent = Agent()
    body = fixture_bytes("13_session_status_working.json")
    (event,) = agent.feed(body).events
    assert isinstance(event, SessionStatusChanged)
    assert event.status == "WORKING"
    assert agent.feed(body).duplicate


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("01_message_text_inbound_webjs.json", "InboundMessage"),
        ("03_message_image_inbound.json", "InboundMessage"),
        ("04_message_document_pdf_inbound.json", "InboundMessage"),
        ("07_message_ack_device_gows.json", "DeliveryStatusChanged"),
        ("08_message_ack_read_gows.json", "DeliveryStatusChanged"),
        ("11_message_ack_device_webjs.json", "DeliveryStatusChanged"),
        ("12_message_ack_read_webjs.json", "DeliveryStatusChanged"),
        ("13_session_status_working.json", "SessionStatusChanged"),
        ("14_session_status_scan_qr_code.json", "SessionStatusChanged"),
        ("16_message_reaction_webjs.json", None),
    ],
)
def test_every_fixture_normalizes_to_an_encodable_event(name: str, expected: str | None) -> None:
    outcome = Agent().feed(fixture_bytes(name))
    if expected is None:
        assert outcome.ignored is not None and not outcome.events
        return
    (event,) = outcome.events
    assert event.header.event_type == expected
    assert decode(encode(event.to_representation()))["header"]["event_type"] == expected


def test_a_body_that_is_not_a_webhook_raises_for_the_dead_letters() -> None:
    with pytest.raises(WahaWireError):
        Agent().feed(b"{}")
    with pytest.raises(WahaWireError):
        Agent().feed(raw(envelope("message", {"body": "no id"})))


def test_ack_levels_used_here_are_waha_levels() -> None:
    assert {int(a) for a in Ack} == {-1, 0, 1, 2, 3, 4}


# --- acks are monotonic ---------------------------------------------------------------------

LEVELS = st.sampled_from([int(level) for level in Ack])


def _fold(acks: list[int]) -> tuple[int | None, list[int]]:
    """The stored ack after `acks`, and every value next_ack told the agent to emit."""
    state: int | None = None
    emitted: list[int] = []
    for incoming in acks:
        new = next_ack(state, incoming)
        if new is not None:
            state = new
            emitted.append(new)
    return state, emitted


def _rank(level: int) -> int:
    return 99 if level == Ack.ERROR else level


@given(st.lists(LEVELS, max_size=12))
def test_the_stored_ack_is_error_if_any_else_the_max(acks: list[int]) -> None:
    state, _ = _fold(acks)
    if not acks:
        assert state is None
    elif Ack.ERROR in acks:
        assert state == Ack.ERROR
    else:
        assert state == max(acks)


@given(st.lists(LEVELS, max_size=12), st.randoms(use_true_random=False))
def test_arrival_order_does_not_change_the_stored_ack(acks: list[int], rnd: Any) -> None:
    shuffled = list(acks)
    rnd.shuffle(shuffled)
    assert _fold(acks)[0] == _fold(shuffled)[0]


@given(st.lists(LEVELS, max_size=12))
def test_emitted_acks_only_move_forward(acks: list[int]) -> None:
    _, emitted = _fold(acks)
    ranks = [_rank(level) for level in emitted]
    assert ranks == sorted(set(ranks))


@given(st.one_of(st.none(), LEVELS), LEVELS)
def test_a_repeated_ack_changes_nothing(current: int | None, incoming: int) -> None:
    new = next_ack(current, incoming)
    state = current if new is None else new
    assert next_ack(state, incoming) is None


@given(LEVELS)
def test_error_is_terminal(incoming: int) -> None:
    assert next_ack(Ack.ERROR, incoming) is None


def test_next_ack_examples() -> None:
    assert next_ack(None, Ack.SERVER) == 1
    assert next_ack(1, 3) == 3
    assert next_ack(3, 2) is None  # DEVICE after READ: late, ignored
    assert next_ack(3, -1) == -1
    assert next_ack(None, -1) == -1


@pytest.mark.parametrize(("current", "incoming"), [(None, 5), (None, -2), (9, 1)])
def test_next_ack_refuses_levels_outside_the_range(current: int | None, incoming: int) -> None:
    with pytest.raises(InvalidAck, match="is not a WAHA ack level"):
        next_ack(current, incoming)
