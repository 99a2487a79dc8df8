"""The reply policy, rule by rule, then its invariants over every label, confidence and state."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.events import (
    CollectionPaused,
    CollectionResumed,
    ConversationStateChanged,
    DebtIndexed,
    Event,
    HandoffRequested,
    InboundMessage,
    IntentClassified,
    OptedOut,
    PaymentClaimed,
    PaymentPromised,
    SendKind,
    SendRequested,
    WrongNumberReported,
)
from streams.domain.intent import LABELS, Classification
from streams.domain.reply_policy import (
    ConversationBook,
    Outcome,
    fold,
    handle_message,
    handle_resolution,
    on_inbound,
    reply_request_id,
    should_classify,
)
from tests.factories import (
    conversation_state_changed,
    debt_indexed,
    handoff_resolved,
    inbound_message,
)

NOW = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
# Wednesday 2 December 2026, 10:00 in São Paulo.
SENT = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
THRESHOLD = 0.6
PHONE = "+5511987654321"
MESSAGE_ID = "false_5511987654321@c.us_IN1"


def message(body: str | None = "oi", **changes: object) -> InboundMessage:
    m = inbound_message("acme", phone=PHONE, message_id=MESSAGE_ID, body=body or "", at=SENT)
    m.body = body
    m.header.event_id = "in-1"  # the same input each time: ids derive from it
    for name, value in changes.items():
        setattr(m, name, value)
    return m


def decide(
    body: str,
    label: str,
    confidence: float = 0.9,
    *,
    debt: DebtIndexed | None = None,
    state: ConversationStateChanged | None = None,
    msg: InboundMessage | None = None,
) -> Outcome:
    return on_inbound(
        msg or message(body),
        Classification(label, confidence),
        debt=debt,
        state=state,
        model_version="m-1",
        threshold=THRESHOLD,
        now=NOW,
    )


def types(outcome: Outcome) -> list[type[Event]]:
    return [type(e) for e in outcome.events]


def the(kind: type[Event], outcome: Outcome) -> Event:
    (found,) = [e for e in outcome.events if isinstance(e, kind)]
    return found


DEBT = debt_indexed("acme", phone=PHONE)


# --- what is classified ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"is_group": True}, {"from_me": True}, {"body": None}, {"body": "  "}],
    ids=["group", "from_me", "no text", "blank"],
)
def test_groups_own_and_empty_messages_cause_nothing(changes: dict[str, object]) -> None:
    m = message("me manda o pix")
    for name, value in changes.items():
        setattr(m, name, value)
    assert not should_classify(m)
    assert decide("", "request_payment_info", msg=m) == Outcome(())


def test_other_gets_only_the_classification() -> None:
    outcome = decide("bom dia", "other", 0.95, debt=DEBT)
    assert types(outcome) == [IntentClassified] and outcome.state is None
    intent = the(IntentClassified, outcome)
    assert isinstance(intent, IntentClassified)
    assert (intent.label, intent.confidence, intent.model_version) == ("other", 0.95, "m-1")
    assert intent.client_id == "c1" and intent.chat_id == "5511987654321@c.us"
    assert intent.waha_message_id == MESSAGE_ID
    assert intent.header.causation_id == message().header.event_id


# --- each intent -----------------------------------------------------------------------------


def test_payment_info_replies_with_the_pix_boleto_and_link() -> None:
    outcome = decide("me manda o pix", "request_payment_info", debt=DEBT)
    assert types(outcome) == [IntentClassified, SendRequested]
    reply = the(SendRequested, outcome)
    assert isinstance(reply, SendRequested)
    assert reply.text is not None
    assert DEBT.pix_code in reply.text and DEBT.boleto_line in reply.text  # type: ignore[operator]
    assert "https://pague.example.com/c1" in reply.text and "R$ 1.234,56" in reply.text
    assert reply.request_id == reply_request_id("acme", MESSAGE_ID)
    assert (reply.client_id, reply.phone_e164, reply.kind) == ("c1", PHONE, SendKind.TEXT)
    assert reply.step is None and reply.session == "default"
    assert reply.header.tenant_id == "acme"
    assert reply.header.causation_id == the(IntentClassified, outcome).header.event_id


def test_payment_info_without_payment_data_goes_to_a_person() -> None:
    bare = debt_indexed("acme", phone=PHONE, pix_code=None, boleto_line=None, payment_url=None)
    outcome = decide("me manda o boleto", "request_payment_info", debt=bare)
    assert types(outcome) == [IntentClassified, HandoffRequested, CollectionPaused, SendRequested]
    handoff = the(HandoffRequested, outcome)
    assert isinstance(handoff, HandoffRequested) and handoff.reason == "no_payment_info"


def test_a_promise_is_recorded_and_confirmed_with_its_date() -> None:
    outcome = decide("vou pagar sexta, 150 reais", "promise_to_pay", debt=DEBT)
    assert types(outcome) == [IntentClassified, PaymentPromised, SendRequested]
    intent = the(IntentClassified, outcome)
    promise = the(PaymentPromised, outcome)
    assert isinstance(intent, IntentClassified) and isinstance(promise, PaymentPromised)
    assert intent.promised_date == promise.promised_date == date(2026, 12, 4)
    assert intent.amount_centavos == promise.amount_centavos == 15_000
    assert (promise.client_id, promise.waha_message_id) == ("c1", MESSAGE_ID)
    reply = the(SendRequested, outcome)
    assert isinstance(reply, SendRequested) and reply.text is not None
    assert "04/12/2026" in reply.text and "R$ 150,00" in reply.text


def test_a_vague_promise_has_no_date_and_the_reply_asks_for_one() -> None:
    outcome = decide("vou pagar quando receber", "promise_to_pay", debt=DEBT)
    promise = the(PaymentPromised, outcome)
    assert isinstance(promise, PaymentPromised) and promise.promised_date is None
    reply = the(SendRequested, outcome)
    assert isinstance(reply, SendRequested) and "Qual dia" in (reply.text or "")


def test_promised_dates_are_only_read_for_promises() -> None:
    intent = the(IntentClassified, decide("já paguei sexta", "already_paid", debt=DEBT))
    assert isinstance(intent, IntentClassified) and intent.promised_date is None


def test_already_paid_claims_and_asks_for_the_receipt() -> None:
    outcome = decide("ja paguei", "already_paid", debt=DEBT)
    assert types(outcome) == [IntentClassified, PaymentClaimed, SendRequested]
    reply = the(SendRequested, outcome)
    assert isinstance(reply, SendRequested) and "comprovante" in (reply.text or "")


def test_opt_out_records_it_confirms_once_and_closes_the_chat() -> None:
    outcome = decide("parem de me mandar mensagem", "opt_out", debt=DEBT)
    assert types(outcome) == [IntentClassified, OptedOut, SendRequested]
    opted = the(OptedOut, outcome)
    assert isinstance(opted, OptedOut)
    assert (opted.phone_e164, opted.client_id, opted.waha_message_id) == (PHONE, "c1", MESSAGE_ID)
    assert outcome.state is not None and outcome.state.opted_out
    later = decide("me manda o pix", "request_payment_info", debt=DEBT, state=outcome.state)
    assert types(later) == [IntentClassified]


def test_wrong_person_stops_the_phone_without_a_reply() -> None:
    outcome = decide("nao conheço essa pessoa", "wrong_person", debt=DEBT)
    assert types(outcome) == [IntentClassified, WrongNumberReported]
    reported = the(WrongNumberReported, outcome)
    assert isinstance(reported, WrongNumberReported) and reported.phone_e164 == PHONE
    assert outcome.state is not None and outcome.state.wrong_number
    assert types(decide("oi", "promise_to_pay", debt=DEBT, state=outcome.state)) == [
        IntentClassified
    ]


def test_an_unknown_chat_opting_out_is_blocked_by_its_phone() -> None:
    outcome = decide("sair da lista", "opt_out", debt=None)
    assert types(outcome) == [IntentClassified, OptedOut]  # no client: nothing to reply with
    opted = the(OptedOut, outcome)
    assert isinstance(opted, OptedOut) and opted.phone_e164 == PHONE and opted.client_id is None


@pytest.mark.parametrize("label", ["dispute", "negotiate", "talk_to_human"])
def test_hand_offs_pause_the_client_and_tell_the_debtor(label: str) -> None:
    outcome = decide("...", label, debt=DEBT)
    assert types(outcome) == [IntentClassified, HandoffRequested, CollectionPaused, SendRequested]
    handoff = the(HandoffRequested, outcome)
    paused = the(CollectionPaused, outcome)
    assert isinstance(handoff, HandoffRequested) and isinstance(paused, CollectionPaused)
    assert (handoff.reason, handoff.intent, handoff.client_id) == (label, label, "c1")
    assert handoff.chat_id == "5511987654321@c.us" and handoff.waha_message_id == MESSAGE_ID
    assert (paused.client_id, paused.reason, paused.until) == ("c1", label, None)
    assert outcome.state is not None and outcome.state.open_handoff == handoff.header.event_id
    assert "atendente" in (the(SendRequested, outcome).text or "")  # type: ignore[attr-defined]


@pytest.mark.parametrize("label", LABELS)
def test_below_the_threshold_every_label_goes_to_a_person(label: str) -> None:
    outcome = decide("hmm", label, THRESHOLD - 0.01, debt=DEBT)
    handoff = the(HandoffRequested, outcome)
    assert isinstance(handoff, HandoffRequested)
    assert (handoff.reason, handoff.intent) == ("low_confidence", label)
    assert OptedOut not in types(outcome) and WrongNumberReported not in types(outcome)


def test_at_the_threshold_the_label_is_trusted() -> None:
    assert types(decide("pix", "request_payment_info", THRESHOLD, debt=DEBT)) == [
        IntentClassified,
        SendRequested,
    ]


@pytest.mark.parametrize("label", ["request_payment_info", "promise_to_pay", "already_paid"])
def test_a_chat_without_a_debt_goes_to_a_person_unpaused(label: str) -> None:
    outcome = decide("...", label, debt=None)
    assert types(outcome) == [IntentClassified, HandoffRequested]  # no client to pause or answer
    handoff = the(HandoffRequested, outcome)
    assert isinstance(handoff, HandoffRequested) and handoff.reason == "no_debt"


def test_while_a_person_handles_the_chat_only_stops_are_acted_on() -> None:
    open_ = conversation_state_changed("acme", phone=PHONE, open_handoff="h-1")
    assert types(decide("pix", "request_payment_info", debt=DEBT, state=open_)) == [
        IntentClassified
    ]
    assert types(decide("talvez", "other", 0.1, debt=DEBT, state=open_)) == [IntentClassified]
    stop = decide("parem", "opt_out", debt=DEBT, state=open_)
    assert types(stop) == [IntentClassified, OptedOut, SendRequested]
    assert stop.state is not None and stop.state.opted_out and stop.state.open_handoff == "h-1"


# --- resolutions -----------------------------------------------------------------------------


def test_resolving_the_open_handoff_resumes_collection_once() -> None:
    book = fold([DEBT])
    first = handle_message(
        book,
        message("quero parcelar"),
        Classification("negotiate", 0.9),
        model_version="m-1",
        threshold=THRESHOLD,
        now=NOW,
    )
    handoff = the(HandoffRequested, first)
    resolution = handoff_resolved("acme", handoff.header.event_id, label="negotiate")
    resumed = handle_resolution(book, resolution, now=NOW)
    assert types(resumed) == [CollectionResumed]
    event = the(CollectionResumed, resumed)
    assert isinstance(event, CollectionResumed)
    assert (event.client_id, event.handoff_id) == ("c1", handoff.header.event_id)
    assert resumed.state is not None and resumed.state.open_handoff is None
    assert handle_resolution(book, resolution, now=NOW) == Outcome(())  # twice: nothing


def test_a_resolution_can_keep_the_client_paused() -> None:
    state = conversation_state_changed("acme", phone=PHONE, open_handoff="h-1")
    book = fold([DEBT, state])
    outcome = handle_resolution(
        book, handoff_resolved("acme", "h-1", label="dispute", resume=False), now=NOW
    )
    assert outcome.events == () and outcome.state is not None
    assert outcome.state.open_handoff is None


def test_a_stale_resolution_changes_nothing() -> None:
    book = fold([conversation_state_changed("acme", phone=PHONE, open_handoff="h-2")])
    assert handle_resolution(book, handoff_resolved("acme", "h-1"), now=NOW) == Outcome(())


# --- the book --------------------------------------------------------------------------------


def test_a_message_is_handled_once() -> None:
    book = fold([DEBT])
    reading = Classification("request_payment_info", 0.9)
    args = {"model_version": "m-1", "threshold": THRESHOLD, "now": NOW}
    first = handle_message(book, message("pix"), reading, **args)  # type: ignore[arg-type]
    assert SendRequested in types(first)
    again = handle_message(book, message("pix"), reading, **args)  # type: ignore[arg-type]
    assert again == Outcome(())


def test_the_book_finds_the_debt_by_any_spelling_of_the_chat() -> None:
    debt = debt_indexed("acme", phone="+5531987654321")
    book = fold([debt])
    assert book.debt("acme", "553187654321@c.us") is debt
    assert book.debt("acme", "5531987654321@s.whatsapp.net") is debt
    assert book.debt("other", "553187654321@c.us") is None


def test_rebuilding_the_book_from_the_outputs_gives_the_same_state() -> None:
    live = fold([DEBT])
    emitted: list[Event] = [DEBT]
    for n, (body, label) in enumerate(
        [("pix", "request_payment_info"), ("parcelar", "negotiate"), ("parem", "opt_out")]
    ):
        m = message(body, waha_message_id=f"m{n}")
        m.header.event_id = f"e{n}"
        outcome = handle_message(
            live,
            m,
            Classification(label, 0.9),
            model_version="m-1",
            threshold=THRESHOLD,
            now=NOW,
        )
        emitted.extend(e for e in outcome.events if isinstance(e, IntentClassified))
        if outcome.state is not None:
            emitted.append(outcome.state)
    rebuilt = fold(emitted)
    assert rebuilt.classified == live.classified == {("acme", "m0"), ("acme", "m1"), ("acme", "m2")}
    assert rebuilt.states == live.states
    assert rebuilt.debts == live.debts


# --- invariants ------------------------------------------------------------------------------


@given(
    label=st.sampled_from(LABELS),
    confidence=st.floats(min_value=0, max_value=1),
    with_debt=st.booleans(),
    opted_out=st.booleans(),
    wrong_number=st.booleans(),
    open_handoff=st.sampled_from([None, "h-1"]),
    has_pix=st.booleans(),
)
def test_policy_invariants(
    label: str,
    confidence: float,
    with_debt: bool,
    opted_out: bool,
    wrong_number: bool,
    open_handoff: str | None,
    has_pix: bool,
) -> None:
    debt = (
        debt_indexed(
            "acme",
            phone=PHONE,
            pix_code="PIX" if has_pix else None,
            boleto_line=None,
            payment_url=None,
        )
        if with_debt
        else None
    )
    state = conversation_state_changed(
        "acme",
        phone=PHONE,
        opted_out=opted_out,
        wrong_number=wrong_number,
        open_handoff=open_handoff,
    )
    outcome = decide("texto", label, confidence, debt=debt, state=state)
    kinds = types(outcome)
    # always classified first, once
    assert kinds[0] is IntentClassified and kinds.count(IntentClassified) == 1
    # a closed chat gets nothing more
    if opted_out or wrong_number:
        assert kinds == [IntentClassified] and outcome.state is None
        return
    confident = confidence >= THRESHOLD
    # at most one reply, only with a debt, always the message's own request id, never a step
    replies = [e for e in outcome.events if isinstance(e, SendRequested)]
    assert len(replies) <= 1
    for reply in replies:
        assert debt is not None and reply.phone_e164 == debt.phone_e164
        assert reply.request_id == reply_request_id("acme", MESSAGE_ID) and reply.step is None
    # the debtor's stops are honoured whatever else holds
    assert (OptedOut in kinds) == (confident and label == "opt_out")
    assert (WrongNumberReported in kinds) == (confident and label == "wrong_person")
    # hand-offs: one at a time, and a pause only with a client
    handoffs = kinds.count(HandoffRequested)
    assert handoffs <= 1
    if open_handoff is not None:
        assert handoffs == 0
    elif not confident or label in ("dispute", "negotiate", "talk_to_human"):
        assert handoffs == 1
    assert kinds.count(CollectionPaused) == (handoffs if debt is not None else 0)
    if confident and label == "other":
        assert kinds == [IntentClassified]
    # the same input decides the same events, ids included (a replay derives the same ids)
    again = decide("texto", label, confidence, debt=debt, state=state)
    assert [e.header.event_id for e in again.events] == [e.header.event_id for e in outcome.events]
    assert all(e.header.tenant_id == "acme" for e in outcome.events)


def test_the_book_is_empty_at_first() -> None:
    book = ConversationBook()
    assert book.debt("acme", PHONE) is None and book.state("acme", PHONE) is None
