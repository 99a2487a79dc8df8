"""Hand-offs for operators: which are open, resolving one, and the corrections they teach.

A hand-off is a HandoffRequested on cobranca.actions (its event_id is the hand-off's id). An
operator resolves it with a HandoffResolved on cobranca.conversations, keyed like the chat, so
the conversation agent sees it in order with the chat's messages: it closes the chat's hand-off
and, unless the operator keeps the client paused, emits CollectionResumed. The label the
operator gives is a correction of the classifier: `corrections` turns the resolutions, and the
IntentCorrected an operator writes for any other classified message (the API's "correct the
label"), into training rows, with the text of the message from the same topic.

Pure: functions over events. `cobranca handoffs …` reads the log and produces through
streams/ops/handoffs.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from schemas.events import (
    Event,
    HandoffRequested,
    HandoffResolved,
    InboundMessage,
    IntentCorrected,
    new_header,
)
from streams.domain.errors import HandoffError
from streams.domain.intent import LABELS

__all__ = ["SOURCE", "Handoff", "corrections", "handoffs_from", "resolution_for"]

SOURCE = "streams.handoffs"


@dataclass(frozen=True, slots=True)
class Handoff:
    """One hand-off, with the message that caused it and its resolution, if any."""

    request: HandoffRequested
    text: str | None
    resolution: HandoffResolved | None

    @property
    def handoff_id(self) -> str:
        return self.request.header.event_id

    @property
    def tenant_id(self) -> str:
        return self.request.header.tenant_id

    @property
    def opened_at(self) -> datetime:
        return self.request.header.occurred_at

    @property
    def is_open(self) -> bool:
        return self.resolution is None


def _texts(conversations: Iterable[Event]) -> dict[tuple[str, str], str]:
    return {
        (e.header.tenant_id, e.waha_message_id): e.body
        for e in conversations
        if isinstance(e, InboundMessage) and e.body
    }


def handoffs_from(actions: Iterable[Event], conversations: Iterable[Event]) -> list[Handoff]:
    """Every hand-off in the log, oldest first, each with its first resolution."""
    conversation_events = list(conversations)
    texts = _texts(conversation_events)
    resolutions: dict[str, HandoffResolved] = {}
    for event in conversation_events:
        if isinstance(event, HandoffResolved):
            resolutions.setdefault(event.handoff_id, event)
    found = [
        Handoff(
            request=event,
            text=texts.get((event.header.tenant_id, event.waha_message_id or "")),
            resolution=resolutions.get(event.header.event_id),
        )
        for event in actions
        if isinstance(event, HandoffRequested)
    ]
    return sorted(found, key=lambda h: h.opened_at)


def resolution_for(
    handoff: Handoff,
    label: str,
    *,
    resume: bool = True,
    operator: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> HandoffResolved:
    """The operator's resolution of an open hand-off, with the label the message really had."""
    if label not in LABELS:
        raise HandoffError(f"unknown label {label!r}; one of: {', '.join(LABELS)}")
    if not handoff.is_open:
        raise HandoffError(f"hand-off {handoff.handoff_id} is resolved already")
    request = handoff.request
    return HandoffResolved(
        header=new_header(
            "HandoffResolved",
            tenant_id=request.header.tenant_id,
            correlation_id=request.chat_id,
            causation_id=request.header.event_id,
            source=SOURCE,
            occurred_at=now,
        ),
        handoff_id=request.header.event_id,
        chat_id=request.chat_id,
        label=label,
        resume=resume,
        client_id=request.client_id,
        waha_message_id=request.waha_message_id,
        operator=operator,
        note=note,
    )


def corrections(
    conversations: Iterable[Event], *, tenant: str | None = None
) -> list[dict[str, str]]:
    """Training rows {"text", "label"} from operators' resolutions and corrections: one per
    message (its latest word, in log order), in the order messages were first corrected;
    messages without text are left out."""
    events = list(conversations)
    texts = _texts(events)
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for event in events:
        if not isinstance(event, HandoffResolved | IntentCorrected):
            continue
        if event.waha_message_id is None:
            continue
        if tenant is not None and event.header.tenant_id != tenant:
            continue
        key = (event.header.tenant_id, event.waha_message_id)
        text = texts.get(key)
        if text is not None:
            rows[key] = {"text": text, "label": event.label}
    return list(rows.values())
