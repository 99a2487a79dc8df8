"""Hand-offs in the log: list the open ones, resolve one, export the corrections they teach.

The rules are pure (streams/domain/handoffs.py); these functions read the committed log
(streams/runtime/log_reader.py) and produce (streams/runtime/producer.py) for
`cobranca handoffs …`.
"""

from __future__ import annotations

from collections.abc import Callable

from schemas.events import Event, HandoffResolved
from streams.base.topics import ACTIONS, CONVERSATIONS
from streams.domain.chat_keys import record_key
from streams.domain.errors import HandoffError
from streams.domain.handoffs import Handoff, corrections, handoffs_from, resolution_for
from streams.runtime.log_reader import Progress, read_events
from streams.runtime.producer import EventProducer

__all__ = ["Track", "export_corrections", "read_handoffs", "resolve"]

Track = Callable[[str], Progress]
"""`track(description)` → where reading one topic reports how far it is (the CLI's bars)."""


async def _read(bootstrap: str, topic: str, track: Track | None) -> list[Event]:
    on_progress = track(f"reading {topic}") if track else None
    return [p.event for p in await read_events(bootstrap, topic, on_progress=on_progress)]


async def read_handoffs(
    bootstrap: str,
    *,
    tenant: str | None = None,
    include_resolved: bool = False,
    track: Track | None = None,
) -> list[Handoff]:
    """The hand-offs in the committed log (open ones only unless `include_resolved`)."""
    actions, conversations = (
        await _read(bootstrap, ACTIONS.name, track),
        await _read(bootstrap, CONVERSATIONS.name, track),
    )
    return [
        h
        for h in handoffs_from(actions, conversations)
        if (tenant is None or h.tenant_id == tenant) and (include_resolved or h.is_open)
    ]


async def resolve(
    bootstrap: str,
    handoff_id: str,
    *,
    label: str,
    resume: bool = True,
    operator: str | None = None,
    note: str | None = None,
    track: Track | None = None,
) -> HandoffResolved:
    """Resolve an open hand-off: the HandoffResolved is stored when this returns."""
    found = [
        h
        for h in await read_handoffs(bootstrap, include_resolved=True, track=track)
        if h.handoff_id == handoff_id
    ]
    if not found:
        raise HandoffError(f"no hand-off {handoff_id} in the log")
    resolution = resolution_for(found[0], label, resume=resume, operator=operator, note=note)
    key = record_key(resolution.header.tenant_id, resolution.chat_id).decode()
    async with EventProducer(bootstrap) as producer:
        await producer.send(resolution, key=key)
    return resolution


async def export_corrections(
    bootstrap: str, *, tenant: str | None = None, track: Track | None = None
) -> list[dict[str, str]]:
    """`corrections` of the committed cobranca.conversations topic: hand-off resolutions and
    IntentCorrected events alike."""
    return corrections(await _read(bootstrap, CONVERSATIONS.name, track), tenant=tenant)
