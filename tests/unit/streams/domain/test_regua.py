"""The régua as given events → decision → expected events, with no broker and no clock."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import decode, encode
from schemas.events import (
    ClientImported,
    RemindersScheduled,
    ReminderStatus,
    SendDeferred,
    SendKind,
    SendRequested,
)
from streams.domain import regua
from streams.domain.tenant_config import TenantConfig, parse_tenant_config
from tests.factories import client_imported

SP = ZoneInfo("America/Sao_Paulo")
TENANT = "acme"


def config(**changes: Any) -> TenantConfig:
    data: dict[str, Any] = {
        "tenant": TENANT,
        "name": "ACME",
        "waha": {"sessions": [{"name": "acme"}]},
        "regua": {
            "send_at": "09:00",
            "steps": [
                {"when": "D-3", "template": "D-3 {first_name}: {amount} em {due_date}"},
                {"when": "D0", "template": "D0 {first_name}\nPix: {pix_code}"},
                {"when": "D+3", "at": "10:00", "template": "D+3 {name} ({company})"},
                {"when": "D+7", "template": "D+7 {amount}\nLink: {payment_url}"},
            ],
        },
    }
    data.update(changes)
    return parse_tenant_config(data)


CONFIG = config()


def client(n: int = 1, **changes: Any) -> ClientImported:
    """Due Saturday 5 Dec 2026, phone in São Paulo (DDD 11)."""
    event = client_imported(TENANT, n)
    for key, value in changes.items():
        setattr(event, key, value)
    return event


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP).astimezone(UTC)  # type: ignore[misc]


def statuses(schedule: RemindersScheduled | None) -> dict[str, str]:
    assert schedule is not None
    return {s.step: s.status.value for s in schedule.steps}


def tick(book: regua.ScheduleBook, at: datetime, cfg: TenantConfig | None = CONFIG) -> list[Any]:
    outcomes = regua.handle_tick(book, lambda tenant: cfg, at, f"tick-{at.isoformat()}")
    return [send for outcome in outcomes for send in outcome.sends]


# --- steps_for and on_due --------------------------------------------------------------------


def test_steps_are_due_at_their_local_time_of_day_in_the_debtors_state() -> None:
    debt = regua.debt_of(client())
    steps = regua.steps_for(debt, CONFIG)

    assert [(s.step, s.due_at) for s in steps] == [
        ("D-3", sp(2026, 12, 2, 9, 0)),
        ("D0", sp(2026, 12, 5, 9, 0)),
        ("D+3", sp(2026, 12, 8, 10, 0)),
        ("D+7", sp(2026, 12, 12, 9, 0)),
    ]
    manaus = regua.debt_of(client(uf="AM"))
    assert regua.steps_for(manaus, CONFIG)[0].due_at == sp(2026, 12, 2, 10, 0)


def test_the_uf_comes_from_the_import_else_from_the_phone() -> None:
    assert regua.uf_of(client(uf="rj")) == "RJ"
    assert regua.uf_of(client(uf="São Paulo", phone_e164="+5571987654321")) == "BA"
    assert regua.uf_of(client()) == "SP"


def test_request_ids_follow_the_debt_not_the_import() -> None:
    first = regua.debt_of(client(import_id="imp-1"))
    again = regua.debt_of(client(import_id="imp-2", amount_centavos=1))
    other_invoice = regua.debt_of(client(invoice_id="F-other"))
    no_invoice = regua.debt_of(client(invoice_id=None))

    assert regua.request_id_for(first, "D0") == regua.request_id_for(again, "D0")
    assert regua.request_id_for(first, "D0") != regua.request_id_for(first, "D+3")
    assert regua.request_id_for(first, "D0") != regua.request_id_for(other_invoice, "D0")
    assert no_invoice.key == "due:2026-12-05"


def test_on_due_inside_the_window_requests_the_send() -> None:
    debt = regua.debt_of(client())
    step = regua.steps_for(debt, CONFIG)[1]
    now = sp(2026, 12, 5, 9, 0)

    sent = regua.on_due(
        step, now, regua.next_slot_for(debt, CONFIG), debt=debt, text="oi", causation_id="c"
    )

    assert isinstance(sent, SendRequested)
    assert (sent.request_id, sent.step, sent.kind, sent.text) == (
        step.request_id,
        "D0",
        SendKind.TEXT,
        "oi",
    )
    assert (sent.phone_e164, sent.client_id) == (debt.phone_e164, debt.client_id)
    assert sent.header.tenant_id == TENANT
    assert sent.header.correlation_id == "imp-1"
    assert sent.header.causation_id == "c"
    assert sent.header.occurred_at == now


def test_on_due_outside_the_window_defers_to_the_next_open_slot() -> None:
    debt = regua.debt_of(client())
    step = regua.steps_for(debt, CONFIG)[1]
    saturday_evening = sp(2026, 12, 5, 14, 0)

    deferred = regua.on_due(
        step,
        saturday_evening,
        regua.next_slot_for(debt, CONFIG),
        debt=debt,
        text="oi",
        causation_id="c",
    )

    assert isinstance(deferred, SendDeferred)
    assert deferred.until == sp(2026, 12, 7, 8, 0)  # Monday
    assert deferred.reason == "outside_contact_window"
    assert deferred.request_id == step.request_id


# --- a client's schedule over time ----------------------------------------------------------


def test_an_import_ahead_of_time_plans_every_step_and_sends_nothing() -> None:
    book = regua.ScheduleBook()
    outcome = regua.handle_import(book, client(), CONFIG, sp(2026, 11, 20, 10, 0))

    assert outcome.sends == ()
    assert statuses(outcome.schedule) == dict.fromkeys(("D-3", "D0", "D+3", "D+7"), "PENDING")
    assert outcome.schedule is not None
    assert outcome.schedule.config_digest == CONFIG.digest
    assert outcome.schedule.uf == "SP"
    assert book.get(TENANT, "c000001") is outcome.schedule


def test_steps_go_out_as_they_come_due_rendered_then() -> None:
    book = regua.ScheduleBook()
    regua.handle_import(book, client(pix_code="PIX-123"), CONFIG, sp(2026, 11, 20, 10, 0))

    assert tick(book, sp(2026, 12, 2, 8, 59)) == []
    (d3,) = tick(book, sp(2026, 12, 2, 9, 0))
    (d0,) = tick(book, sp(2026, 12, 5, 9, 1))
    (d3_after,) = tick(book, sp(2026, 12, 8, 10, 0))

    assert d3.text == "D-3 Maria: R$ 1.234,57 em 05/12/2026"
    assert d0.text == "D0 Maria\nPix: PIX-123"
    assert d3_after.text == "D+3 maria da silva (ACME)"
    assert statuses(book.get(TENANT, "c000001")) == {
        "D-3": "REQUESTED",
        "D0": "REQUESTED",
        "D+3": "REQUESTED",
        "D+7": "PENDING",
    }


def test_a_missing_optional_field_leaves_its_line_out() -> None:
    book = regua.ScheduleBook()
    regua.handle_import(book, client(pix_code=None), CONFIG, sp(2026, 12, 5, 9, 30))

    sent = book.get(TENANT, "c000001")
    assert statuses(sent)["D0"] == "REQUESTED"
    assert tick(book, sp(2026, 12, 12, 9, 0))[0].text == "D+7 R$ 1.234,57"


def test_a_client_without_a_document_is_reminded_like_any_other() -> None:
    # issue 15: the document is in no template, no key and no id; a debtor without one gets
    # the same schedule, request ids and texts
    with_document, without = regua.ScheduleBook(), regua.ScheduleBook()
    now = sp(2026, 11, 20, 10, 0)
    planned = regua.handle_import(with_document, client(), CONFIG, now)
    bare = regua.handle_import(without, client(document=None, document_kind=None), CONFIG, now)

    assert bare.schedule is not None and planned.schedule is not None
    assert [s.request_id for s in bare.schedule.steps] == [
        s.request_id for s in planned.schedule.steps
    ]
    assert [s.text for s in tick(without, sp(2026, 12, 2, 9, 0))] == [
        s.text for s in tick(with_document, sp(2026, 12, 2, 9, 0))
    ]


def test_a_late_import_sends_only_the_latest_due_step() -> None:
    book = regua.ScheduleBook()
    outcome = regua.handle_import(book, client(), CONFIG, sp(2026, 12, 9, 11, 0))

    (sent,) = outcome.sends
    assert isinstance(sent, SendRequested) and sent.step == "D+3"
    assert statuses(outcome.schedule) == {
        "D-3": "SUPERSEDED",
        "D0": "SUPERSEDED",
        "D+3": "REQUESTED",
        "D+7": "PENDING",
    }


def test_a_step_due_outside_the_window_is_deferred_then_sent_never_dropped() -> None:
    book = regua.ScheduleBook()
    d3_saturday = config(
        regua={"send_at": "15:00", "steps": [{"when": "D0", "template": "D0 {amount}"}]}
    )
    regua.handle_import(book, client(), d3_saturday, sp(2026, 11, 20, 10, 0))

    (deferred,) = tick(book, sp(2026, 12, 5, 15, 0), d3_saturday)  # Saturday after 14:00
    assert isinstance(deferred, SendDeferred)
    assert deferred.until == sp(2026, 12, 7, 8, 0)
    assert statuses(book.get(TENANT, "c000001")) == {"D0": "DEFERRED"}
    assert tick(book, sp(2026, 12, 6, 12, 0), d3_saturday) == []  # Sunday: nothing, once
    (sent,) = tick(book, sp(2026, 12, 7, 8, 0, 30), d3_saturday)
    assert isinstance(sent, SendRequested) and sent.request_id == deferred.request_id
    assert statuses(book.get(TENANT, "c000001")) == {"D0": "REQUESTED"}


def test_a_message_deferred_past_its_day_says_when_the_debt_fell_due_as_of_its_send() -> None:
    book = regua.ScheduleBook()
    d0 = config(
        regua={
            "send_at": "15:00",
            "steps": [{"when": "D0", "template": "O débito {due_relative} ({due_date})."}],
        }
    )
    regua.handle_import(book, client(), d0, sp(2026, 11, 20, 10, 0))

    tick(book, sp(2026, 12, 5, 15, 0), d0)  # due Saturday 5 December, after the window
    (sent,) = tick(book, sp(2026, 12, 7, 8, 0, 30), d0)  # sent on Monday

    assert isinstance(sent, SendRequested)
    assert sent.text == "O débito venceu há 2 dias (05/12/2026)."


def test_a_deferred_step_gives_way_to_a_later_one_that_comes_due() -> None:
    book = regua.ScheduleBook()
    tight = config(
        regua={
            "steps": [
                {"when": "D0", "at": "21:00", "template": "D0 {amount}"},
                {"when": "D+2", "at": "08:30", "template": "D+2 {amount}"},
            ]
        }
    )
    regua.handle_import(book, client(), tight, sp(2026, 11, 20, 10, 0))
    (deferred,) = tick(book, sp(2026, 12, 5, 21, 0), tight)  # to Monday 08:00
    assert isinstance(deferred, SendDeferred)

    (sent,) = tick(book, sp(2026, 12, 7, 8, 30), tight)  # D+2 due as well by now

    assert sent.step == "D+2"
    assert statuses(book.get(TENANT, "c000001")) == {"D0": "SUPERSEDED", "D+2": "REQUESTED"}


def test_the_same_debt_re_imported_keeps_what_happened_and_takes_new_values() -> None:
    book = regua.ScheduleBook()
    regua.handle_import(book, client(), CONFIG, sp(2026, 12, 2, 9, 30))  # D-3 goes out

    again = regua.handle_import(
        book, client(import_id="imp-2", amount_centavos=99_00), CONFIG, sp(2026, 12, 3, 9, 0)
    )

    assert again.sends == ()
    assert again.schedule is not None
    assert statuses(again.schedule)["D-3"] == "REQUESTED"
    assert (again.schedule.import_id, again.schedule.amount_centavos) == ("imp-2", 99_00)
    (d0,) = tick(book, sp(2026, 12, 5, 9, 0))
    assert "R$ 99,00" not in d0.text  # the D0 template shows no amount
    (d3,) = tick(book, sp(2026, 12, 8, 10, 0))
    assert d3.header.correlation_id == "imp-2"


def test_a_new_debt_replaces_the_schedule() -> None:
    book = regua.ScheduleBook()
    regua.handle_import(book, client(), CONFIG, sp(2026, 12, 2, 9, 30))

    new = regua.handle_import(
        book, client(invoice_id="F-2", due_date=date(2027, 1, 15)), CONFIG, sp(2026, 12, 3, 9, 0)
    )

    assert new.schedule is not None
    assert new.schedule.debt_key == "invoice:F-2"
    assert set(statuses(new.schedule).values()) == {"PENDING"}


def test_re_importing_the_same_row_changes_nothing() -> None:
    book = regua.ScheduleBook()
    regua.handle_import(book, client(), CONFIG, sp(2026, 11, 20, 10, 0))

    assert regua.handle_import(book, client(), CONFIG, sp(2026, 11, 21, 10, 0)) == regua.Outcome(
        (), None
    )


def test_a_configuration_change_re_plans_on_the_next_tick() -> None:
    book = regua.ScheduleBook()
    regua.handle_import(book, client(), CONFIG, sp(2026, 12, 2, 9, 30))  # D-3 requested
    changed = config(
        regua={
            "steps": [
                {"when": "D-3", "template": "novo D-3 {amount}"},
                {"when": "D+1", "template": "novo D+1 {amount}"},
                {"when": "D+3", "template": "novo D+3 {amount}"},
            ]
        }
    )

    assert tick(book, sp(2026, 12, 3, 9, 0), changed) == []
    schedule = book.get(TENANT, "c000001")
    assert statuses(schedule) == {"D-3": "REQUESTED", "D+1": "PENDING", "D+3": "PENDING"}
    assert schedule is not None and schedule.config_digest == changed.digest
    (d1,) = tick(book, sp(2026, 12, 7, 9, 0), changed)
    assert d1.text == "novo D+1 R$ 1.234,57"


def test_a_tenant_without_configuration_is_planned_when_it_arrives() -> None:
    book = regua.ScheduleBook()
    waiting = regua.handle_import(book, client(), None, sp(2026, 12, 2, 9, 30))
    assert waiting.sends == ()
    assert waiting.schedule is not None and waiting.schedule.steps == []
    assert waiting.schedule.config_digest is None
    assert tick(book, sp(2026, 12, 2, 9, 31), None) == []

    (sent,) = tick(book, sp(2026, 12, 2, 9, 32))

    assert sent.step == "D-3"


def test_a_tick_with_nothing_due_emits_nothing() -> None:
    book = regua.ScheduleBook()
    regua.handle_import(book, client(), CONFIG, sp(2026, 11, 20, 10, 0))
    assert regua.handle_tick(book, lambda t: CONFIG, sp(2026, 11, 21, 10, 0), "t") == []


def test_replays_derive_the_same_event_ids() -> None:
    row = client()
    first = regua.handle_import(regua.ScheduleBook(), row, CONFIG, sp(2026, 12, 9, 11, 0))
    again = regua.handle_import(regua.ScheduleBook(), row, CONFIG, sp(2026, 12, 9, 11, 5))

    assert [s.header.event_id for s in first.sends] == [s.header.event_id for s in again.sends]
    assert first.schedule is not None and again.schedule is not None
    assert first.schedule.header.event_id == again.schedule.header.event_id


# --- the fold ------------------------------------------------------------------------------


def _avro(schedule: RemindersScheduled) -> RemindersScheduled:
    return RemindersScheduled.from_data(decode(encode(schedule.to_representation())))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_folding_the_written_schedules_rebuilds_the_live_book(seed: int) -> None:
    """Whatever happened, a book rebuilt from what the régua wrote (through Avro) acts the same."""
    rng = random.Random(seed)
    live = regua.ScheduleBook()
    written: list[RemindersScheduled] = []
    now = sp(2026, 11, 25, 7, 0)
    for _ in range(30):
        now += timedelta(hours=rng.randint(1, 40))
        if rng.random() < 0.4:
            n = rng.randint(1, 5)
            due = date(2026, 12, 1) + timedelta(days=rng.randint(0, 20))
            outcome = regua.handle_import(
                live, client(n, due_date=due, uf=rng.choice(("SP", "RJ", "AM"))), CONFIG, now
            )
            outcomes = [outcome]
        else:
            outcomes = regua.handle_tick(live, lambda t: CONFIG, now, f"t{now}")
        written += [o.schedule for o in outcomes if o.schedule is not None]
    rebuilt = regua.fold(_avro(s) for s in written)

    assert len(rebuilt) == len(live)
    for schedule in live:
        again = rebuilt.get(TENANT, schedule.client_id)
        assert again is not None
        assert regua._content(again) == regua._content(schedule)
    later = now + timedelta(days=30)
    sent_live = [s.request_id for s in tick(live, later)]
    sent_rebuilt = [s.request_id for s in tick(rebuilt, later)]
    assert sent_live == sent_rebuilt
    for schedule in live:
        assert all(
            s.status is not ReminderStatus.PENDING or s.next_at > later for s in schedule.steps
        )
