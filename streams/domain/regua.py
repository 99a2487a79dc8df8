"""The collection policy (régua): which reminders a debt gets, and what happens when one is due.

Pure: the agent passes the time, the tenant's configuration and the current schedule, and
emits what these functions return. The state is a fold (`ScheduleBook.apply`) over the
RemindersScheduled events the régua itself wrote; the latest one per client is the schedule.

Rules (docs/adr/0004-regua.md):

- A debt gets one reminder per step of the tenant's régua, due `offset_days` after its due date
  at the step's time of day in the debtor's local time (`steps_for`). Request ids are uuid5 of
  (tenant, client, debt key, step): the debt key is the invoice id, else the due date, so
  re-importing the same debt keeps the ids, and what was requested is not requested again
  (the ledger also refuses a request id twice).
- A client's new debt (a new debt key) replaces the old schedule; the same debt re-imported
  keeps every step's status and takes the new values (phone, amount, Pix code...).
- When a step is due (`on_due`): inside the debtor's contact window it becomes SendRequested;
  outside, SendDeferred until the next open slot, and it is due again then. Never dropped.
- Of the steps due at one moment, the latest is sent and the earlier ones are SUPERSEDED: a
  debt imported 10 days late gets the D+7 message, not D-3, D0, D+3 and D+7 at once; a D0
  still deferred when D+3 comes due gives way to D+3. A step due before one already requested
  is superseded too.
- The text is rendered when the step goes out, with the tenant's templates at that moment.
  A change of configuration re-plans every schedule of the tenant: new steps are added,
  pending steps of removed ones are dropped, requested and superseded steps stay as they were.
- A tenant without configuration: the debt is kept, with no steps, and planned when the
  configuration arrives.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Final

from schemas.events import (
    ClientImported,
    DebtIndexed,
    DeferReason,
    EventHeader,
    RemindersScheduled,
    ReminderStatus,
    ScheduledReminder,
    SendDeferred,
    SendKind,
    SendRequested,
    caused_by,
    derived_id,
    new_header,
)
from streams.domain.brazil.calendar import due_relative, format_date_br, holiday_calendar
from streams.domain.brazil.ddd import DDD_UF
from streams.domain.brazil.money import format_brl
from streams.domain.brazil.states import UF_ZONES, zone_for
from streams.domain.chat_keys import chat_key
from streams.domain.contact_windows import local_instant, next_open_slot
from streams.domain.formatting import safe_name
from streams.domain.templates import Template
from streams.domain.tenant_config import ReguaStep, TenantConfig

SOURCE: Final = "streams.regua"
#: Namespace of the régua's request ids and of the event ids it derives: a replayed input
#: derives the same ids.
REGUA_IDS: Final = uuid.UUID("3c9f5a52-8d0e-4b8e-a7f1-5e2d9c6b0a17")
OPEN: Final = (ReminderStatus.PENDING, ReminderStatus.DEFERRED)

NextSlot = Callable[[datetime], datetime]
"""The first instant at or after the given one when the debtor may be contacted."""


@dataclass(frozen=True, slots=True)
class Debt:
    """What the régua knows of a client's debt: the fields templates and sends use."""

    tenant_id: str
    client_id: str
    import_id: str
    phone_e164: str
    uf: str
    name: str
    amount_centavos: int
    due_date: date
    invoice_id: str | None = None
    description: str | None = None
    pix_code: str | None = None
    boleto_line: str | None = None
    payment_url: str | None = None

    @property
    def key(self) -> str:
        """What identifies the debt across imports: the invoice id, else the due date."""
        return f"invoice:{self.invoice_id}" if self.invoice_id else f"due:{self.due_date}"


@dataclass(frozen=True, slots=True)
class ScheduledStep:
    """One step of the régua for one debt, before anything happened to it."""

    step: str
    request_id: str
    due_at: datetime
    """UTC."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the régua emits for one client: the sends, then its new schedule (None: unchanged)."""

    sends: tuple[SendRequested | SendDeferred, ...]
    schedule: RemindersScheduled | None


def uf_of(client: ClientImported) -> str:
    """The debtor's UF for contact windows: as imported when it is one, else the phone's DDD's."""
    imported = (client.uf or "").strip().upper()
    if imported in UF_ZONES:
        return imported
    return DDD_UF.get(client.phone_e164[3:5], "SP")


def debt_of(client: ClientImported) -> Debt:
    return Debt(
        tenant_id=client.header.tenant_id,
        client_id=client.client_id,
        import_id=client.import_id,
        phone_e164=client.phone_e164,
        uf=uf_of(client),
        name=client.name,
        amount_centavos=client.amount_centavos,
        due_date=client.due_date,
        invoice_id=client.invoice_id,
        description=client.description,
        pix_code=client.pix_code,
        boleto_line=client.boleto_line,
        payment_url=client.payment_url,
    )


def debt_in(schedule: RemindersScheduled) -> Debt:
    return Debt(
        tenant_id=schedule.header.tenant_id,
        client_id=schedule.client_id,
        import_id=schedule.import_id,
        phone_e164=schedule.phone_e164,
        uf=schedule.uf,
        name=schedule.name,
        amount_centavos=schedule.amount_centavos,
        due_date=schedule.due_date,
        invoice_id=schedule.invoice_id,
        description=schedule.description,
        pix_code=schedule.pix_code,
        boleto_line=schedule.boleto_line,
        payment_url=schedule.payment_url,
    )


def debt_index(client: ClientImported, now: datetime) -> DebtIndexed:
    """What the conversation agent answers the client's chat with (keyed tenant_id:chat_key,
    docs/adr/0010-conversation-agent.md): the latest import of the client wins."""
    return DebtIndexed(
        header=caused_by(
            "DebtIndexed",
            client,
            occurred_at=now,
            source=SOURCE,
            namespace=REGUA_IDS,
            correlation_id=client.import_id,
        ),
        client_id=client.client_id,
        chat_key=chat_key(client.phone_e164),
        import_id=client.import_id,
        phone_e164=client.phone_e164,
        name=client.name,
        amount_centavos=client.amount_centavos,
        due_date=client.due_date,
        invoice_id=client.invoice_id,
        description=client.description,
        pix_code=client.pix_code,
        boleto_line=client.boleto_line,
        payment_url=client.payment_url,
    )


def request_id_for(debt: Debt, step: str) -> str:
    name = f"{debt.tenant_id}|{debt.client_id}|{debt.key}|{step}"
    return str(uuid.uuid5(REGUA_IDS, name))


def steps_for(debt: Debt, config: TenantConfig) -> list[ScheduledStep]:
    """Every step of the tenant's régua for this debt, with when each is due, in due order."""
    zone = zone_for(debt.uf)
    return [
        ScheduledStep(
            step=step.label,
            request_id=request_id_for(debt, step.label),
            due_at=local_instant(
                debt.due_date + timedelta(days=step.offset_days), step.send_at, zone
            ),
        )
        for step in config.steps
    ]


def next_slot_for(debt: Debt, config: TenantConfig) -> NextSlot:
    """The debtor's contact windows under the tenant's rules."""
    calendar = holiday_calendar(debt.uf, config.contact.state_holidays)
    return partial(next_open_slot, uf=debt.uf, rules=config.contact, holidays=calendar)


def template_values(debt: Debt, config: TenantConfig, now: datetime) -> dict[str, str | None]:
    """Every template field for this debt, formatted as a debtor reads it when the message goes
    out at `now`."""
    shown = safe_name(debt.name)  # no link or formula reaches a debtor through a name
    words = shown.split()
    return {
        "name": shown,
        "first_name": words[0].capitalize() if words else shown,
        "amount": format_brl(debt.amount_centavos),
        "due_date": format_date_br(debt.due_date),
        "due_relative": due_relative(debt.due_date, now.astimezone(zone_for(debt.uf)).date()),
        "company": config.display_name,
        "invoice_id": debt.invoice_id,
        "description": debt.description,
        "pix_code": debt.pix_code,
        "boleto_line": debt.boleto_line,
        "payment_url": debt.payment_url,
    }


def render(step: ReguaStep, debt: Debt, config: TenantConfig, now: datetime) -> str:
    return step.template.render(template_values(debt, config, now))


def preview(
    template: Template,
    client: ClientImported,
    config: TenantConfig,
    *,
    step: str | None,
    now: datetime,
) -> str:
    """The message `template` makes for an imported client, exactly as the régua would send it
    under `config` (the console's preview): on the day `step` of the régua falls due, or at
    `now` for a template of no step."""
    debt = debt_of(client)
    at = next((s.due_at for s in steps_for(debt, config) if s.step == step), now)
    return template.render(template_values(debt, config, at))


def on_due(
    step: ScheduledStep,
    now: datetime,
    next_slot: NextSlot,
    *,
    debt: Debt,
    text: str,
    causation_id: str,
) -> SendRequested | SendDeferred:
    """A due step: the send now if the debtor's window is open, else deferred to when it opens."""
    opens = next_slot(now)
    if opens > now:
        return SendDeferred(
            header=_header(
                "SendDeferred", debt, now, causation_id, f"{step.request_id}|{opens.isoformat()}"
            ),
            request_id=step.request_id,
            until=opens,
            reason=DeferReason.OUTSIDE_CONTACT_WINDOW,
        )
    return SendRequested(
        header=_header("SendRequested", debt, now, causation_id, step.request_id),
        request_id=step.request_id,
        client_id=debt.client_id,
        phone_e164=debt.phone_e164,
        kind=SendKind.TEXT,
        text=text,
        step=step.step,
    )


def _header(
    event_type: str, debt: Debt, now: datetime, causation_id: str, name: str
) -> EventHeader:
    # Not `caused_by`: the tenant and correlation are the debt's, and the cause (an import or a
    # tick) is known here only by its id; the event id is named after `name`, not the cause.
    return new_header(
        event_type,
        tenant_id=debt.tenant_id,
        correlation_id=debt.import_id,
        causation_id=causation_id,
        source=SOURCE,
        occurred_at=now,
        event_id=derived_id(REGUA_IDS, f"{name}|{event_type}"),
    )


# --- the schedule of one client ------------------------------------------------------------


def plan(
    previous: Iterable[ScheduledReminder], debt: Debt, config: TenantConfig | None
) -> list[ScheduledReminder]:
    """The debt's steps under `config`, keeping what already happened to `previous` steps of the
    same debt: requested and superseded steps stay, deferred ones keep waiting."""
    before = {s.request_id: s for s in previous}
    steps: list[ScheduledReminder] = []
    for planned in steps_for(debt, config) if config is not None else []:
        old = before.pop(planned.request_id, None)
        if old is None or old.status is ReminderStatus.PENDING:
            steps.append(_pending(planned))
        elif old.status is ReminderStatus.DEFERRED:
            assert old.next_at is not None
            until = max(old.next_at, planned.due_at)
            steps.append(
                ScheduledReminder(
                    planned.step, planned.request_id, planned.due_at, old.status, until
                )
            )
        else:
            steps.append(old)
    # Steps no longer in the régua: what went out stays on record, what did not is dropped.
    steps.extend(s for s in before.values() if s.status not in OPEN)
    return sorted(steps, key=lambda s: (s.due_at, s.step))


def _pending(step: ScheduledStep) -> ScheduledReminder:
    return ScheduledReminder(
        step.step, step.request_id, step.due_at, ReminderStatus.PENDING, step.due_at
    )


def advance(
    steps: list[ScheduledReminder],
    debt: Debt,
    config: TenantConfig | None,
    now: datetime,
    causation_id: str,
) -> tuple[list[ScheduledReminder], tuple[SendRequested | SendDeferred, ...]]:
    """Act on what is due at `now`: the latest due step goes out (or is deferred), earlier
    open steps are superseded."""
    due = [s for s in steps if s.status in OPEN and s.next_at is not None and s.next_at <= now]
    if not due or config is None:
        return steps, ()
    chosen = max(due, key=lambda s: s.due_at)
    requested = [s.due_at for s in steps if s.status is ReminderStatus.REQUESTED]
    cutoff = max([chosen.due_at - timedelta(microseconds=1), *requested])
    sends: list[SendRequested | SendDeferred] = []
    after: list[ScheduledReminder] = []
    for step in steps:
        if step.status in OPEN and step.due_at <= cutoff:
            step = ScheduledReminder(
                step.step, step.request_id, step.due_at, ReminderStatus.SUPERSEDED, None
            )
        elif step is chosen:
            regua_step = next(s for s in config.steps if s.label == step.step)
            decision = on_due(
                ScheduledStep(step.step, step.request_id, step.due_at),
                now,
                next_slot_for(debt, config),
                debt=debt,
                text=render(regua_step, debt, config, now),
                causation_id=causation_id,
            )
            sends.append(decision)
            if isinstance(decision, SendDeferred):
                step = ScheduledReminder(
                    step.step, step.request_id, step.due_at, ReminderStatus.DEFERRED, decision.until
                )
            else:
                step = ScheduledReminder(
                    step.step, step.request_id, step.due_at, ReminderStatus.REQUESTED, None
                )
        after.append(step)
    return after, tuple(sends)


def schedule_record(
    debt: Debt,
    steps: list[ScheduledReminder],
    config: TenantConfig | None,
    now: datetime,
    input_id: str,
) -> RemindersScheduled:
    return RemindersScheduled(
        header=_header("RemindersScheduled", debt, now, input_id, f"{input_id}|{debt.client_id}"),
        client_id=debt.client_id,
        import_id=debt.import_id,
        debt_key=debt.key,
        phone_e164=debt.phone_e164,
        uf=debt.uf,
        name=debt.name,
        amount_centavos=debt.amount_centavos,
        due_date=debt.due_date,
        steps=steps,
        invoice_id=debt.invoice_id,
        description=debt.description,
        pix_code=debt.pix_code,
        boleto_line=debt.boleto_line,
        payment_url=debt.payment_url,
        config_digest=config.digest if config is not None else None,
    )


def on_client_imported(
    current: RemindersScheduled | None,
    client: ClientImported,
    config: TenantConfig | None,
    now: datetime,
) -> Outcome:
    """A new version of a client: (re)plan its debt and act on what is due already."""
    debt = debt_of(client)
    same_debt = current is not None and current.debt_key == debt.key
    steps = plan(current.steps if current is not None and same_debt else [], debt, config)
    cause = client.header.event_id
    steps, sends = advance(steps, debt, config, now, cause)
    return _outcome(current, debt, steps, sends, config, now, cause)


def on_tick(
    current: RemindersScheduled, config: TenantConfig | None, now: datetime, tick_id: str
) -> Outcome:
    """Time passed, or the tenant's configuration changed: act on the client's schedule."""
    debt = debt_in(current)
    steps = list(current.steps)
    if current.config_digest != (config.digest if config is not None else None):
        steps = plan(steps, debt, config)
    steps, sends = advance(steps, debt, config, now, current.header.event_id)
    return _outcome(current, debt, steps, sends, config, now, tick_id)


def _outcome(
    current: RemindersScheduled | None,
    debt: Debt,
    steps: list[ScheduledReminder],
    sends: tuple[SendRequested | SendDeferred, ...],
    config: TenantConfig | None,
    now: datetime,
    input_id: str,
) -> Outcome:
    record = schedule_record(debt, steps, config, now, input_id)
    if current is not None and _content(current) == _content(record):
        return Outcome(sends, None)
    return Outcome(sends, record)


def _content(schedule: RemindersScheduled) -> dict[str, object]:
    content = schedule.asdict()
    del content["header"]
    content["steps"] = [s.asdict() for s in schedule.steps]
    return content


def next_action(schedule: RemindersScheduled) -> datetime | None:
    """When the schedule needs the régua next: its earliest open step's next_at."""
    return min(
        (s.next_at for s in schedule.steps if s.status in OPEN and s.next_at is not None),
        default=None,
    )


# --- the state: a fold over RemindersScheduled ----------------------------------------------


class ScheduleBook:
    """The schedules of one partition: the latest RemindersScheduled per client, indexed by
    when each needs the régua next and by tenant.

    `apply` is the fold; it mutates the book in place (a partition may hold millions of
    clients) and is all there is to rebuilding it from the schedules topic.
    """

    def __init__(self) -> None:
        self._schedules: dict[tuple[str, str], RemindersScheduled] = {}
        self._by_tenant: dict[str, set[str]] = {}
        self._wakeups: list[tuple[datetime, str, str]] = []
        self._planned_with: dict[str, str | None] = {}
        """Tenants whose schedules all follow this configuration digest (checked)."""

    def apply(self, schedule: RemindersScheduled) -> ScheduleBook:
        tenant = schedule.header.tenant_id
        self._schedules[(tenant, schedule.client_id)] = schedule
        self._by_tenant.setdefault(tenant, set()).add(schedule.client_id)
        wakeup = next_action(schedule)
        if wakeup is not None:
            heapq.heappush(self._wakeups, (wakeup, tenant, schedule.client_id))
        if self._planned_with.get(tenant, schedule.config_digest) != schedule.config_digest:
            del self._planned_with[tenant]
        return self

    def get(self, tenant: str, client_id: str) -> RemindersScheduled | None:
        return self._schedules.get((tenant, client_id))

    def __len__(self) -> int:
        return len(self._schedules)

    def __iter__(self) -> Iterator[RemindersScheduled]:
        return iter(self._schedules.values())

    def tenants(self) -> list[str]:
        return sorted(self._by_tenant)

    def due(self, now: datetime) -> list[RemindersScheduled]:
        """Schedules with a step to act on at `now`, each once, in wake-up order."""
        found: dict[tuple[str, str], RemindersScheduled] = {}
        while self._wakeups and self._wakeups[0][0] <= now:
            wakeup, tenant, client_id = heapq.heappop(self._wakeups)
            schedule = self._schedules[(tenant, client_id)]
            # An entry left by an older version of the schedule is stale: skip it.
            if next_action(schedule) == wakeup:
                found[(tenant, client_id)] = schedule
        return list(found.values())

    def planned_with_other(self, tenant: str, digest: str | None) -> list[RemindersScheduled]:
        """The tenant's schedules that follow another configuration than `digest`."""
        if self._planned_with.get(tenant, "") == digest:
            return []
        stale = [
            schedule
            for client_id in sorted(self._by_tenant.get(tenant, ()))
            if (schedule := self._schedules[(tenant, client_id)]).config_digest != digest
        ]
        self._planned_with[tenant] = digest
        return stale


def fold(schedules: Iterable[RemindersScheduled]) -> ScheduleBook:
    """The book a partition's schedules topic describes, read in offset order."""
    book = ScheduleBook()
    for schedule in schedules:
        book.apply(schedule)
    return book


def handle_import(
    book: ScheduleBook, client: ClientImported, config: TenantConfig | None, now: datetime
) -> Outcome:
    """A ClientImported: the outcome to emit, already applied to the book."""
    current = book.get(client.header.tenant_id, client.client_id)
    outcome = on_client_imported(current, client, config, now)
    if outcome.schedule is not None:
        book.apply(outcome.schedule)
    return outcome


def handle_tick(
    book: ScheduleBook,
    config_of: Callable[[str], TenantConfig | None],
    now: datetime,
    tick_id: str,
) -> list[Outcome]:
    """A clock tick: re-plan the schedules of tenants whose configuration changed, then act
    on every due step. The outcomes are already applied to the book."""
    outcomes = []
    for tenant in book.tenants():
        config = config_of(tenant)
        digest = config.digest if config is not None else None
        for schedule in book.planned_with_other(tenant, digest):
            outcomes.append(on_tick(schedule, config, now, tick_id))
            if outcomes[-1].schedule is not None:
                book.apply(outcomes[-1].schedule)
    for schedule in book.due(now):
        outcome = on_tick(schedule, config_of(schedule.header.tenant_id), now, tick_id)
        outcomes.append(outcome)
        if outcome.schedule is not None:
            book.apply(outcome.schedule)
    return [o for o in outcomes if o.sends or o.schedule is not None]
