"""The worker: one Faust app with every agent, built by `create_worker(settings)`.

Nothing is constructed at import time: `create_worker` builds the app, its channels, the
directory of tenants, the clock and each agent (one module per agent in this package, each a
thin shell around the pure rules of streams/domain/), and registers them with the app. Agents
that keep state keep it as a fold of what they wrote (streams/runtime/state.py).

| agent | reads | module |
|---|---|---|
| regua | clients, clock ticks | streams/agents/regua.py |
| ledger | send requests, credits, dispatch failures, actions | streams/agents/ledger.py |
| dispatch | send decisions | streams/agents/dispatch.py |
| normalizer | WAHA callbacks (acks, session statuses) | streams/agents/normalizer.py |
| messages | WAHA callbacks (debtors' messages) | streams/agents/normalizer.py |
| conversation | conversations, debts indexed for chats | streams/agents/conversation.py |
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import faust

from streams.agents.conversation import ConversationAgent, LazyClassifier
from streams.agents.dispatch import DispatchAgent
from streams.agents.ledger import LedgerAgent
from streams.agents.normalizer import NormalizerAgent
from streams.agents.regua import ReguaAgent
from streams.base.settings import Settings
from streams.base.topics import SEND_DECISIONS, WAHA_CALLBACKS, WAHA_MESSAGES
from streams.domain.ledger import LedgerPolicy
from streams.runtime.app import create_app
from streams.runtime.channels import Channels
from streams.runtime.clock import Clock, now_source
from streams.runtime.tenants import TenantDirectory

__all__ = ["Worker", "create_worker"]

DEFAULT_POLICY = LedgerPolicy()


@dataclass(frozen=True, slots=True)
class Worker:
    """A worker's app with its agents registered, and what the process starting it needs."""

    app: faust.App
    settings: Settings
    classifier: LazyClassifier
    """The conversation agent's model, which `cobranca worker` loads before joining the group."""


def create_worker(settings: Settings) -> Worker:
    """The app for these settings with every agent, task and timer of the worker."""
    app = create_app(settings)
    channels = Channels(app)
    tenants = TenantDirectory(settings.kafka_bootstrap)
    clock = Clock(settings.kafka_bootstrap)

    async def follow_tenants() -> None:
        """Every tenant's configuration, for the régua, the ledger's prices and the sessions."""
        await tenants.run()

    async def tick() -> None:
        await clock.tick()

    def stop_clock(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> Awaitable[None]:
        return clock.stop()

    app.task(follow_tenants)
    app.timer(interval=settings.clock_interval_s, on_leader=True)(tick)
    # mode's SignalHandlerT is a union of callables mypy cannot match any handler against.
    app.on_before_shutdown.connect(stop_clock)  # type: ignore[arg-type]

    # The régua alone decides by the time of day (contact windows), so it alone may run on a
    # simulated clock (Settings.clock_start).
    regua = ReguaAgent(app, settings, channels, tenants, now_source(settings.clock_start))
    app.agent(channels.regua_input, name="regua")(regua.run)

    def policy(tenant: str) -> LedgerPolicy:
        """The tenant's prices and threshold; the defaults until it is configured."""
        config = tenants.get(tenant)
        return config.ledger_policy if config is not None else DEFAULT_POLICY

    ledger = LedgerAgent(app, settings, channels, policy)

    async def run_ledger(stream: faust.StreamT[Any]) -> None:
        await tenants.ready.wait()
        await ledger.run(stream)

    app.agent(channels.ledger, name="ledger")(run_ledger)

    conversation = ConversationAgent(app, settings, channels)
    app.agent(channels.conversation_input, name="conversation")(conversation.run)

    def first_session(tenant: str) -> str | None:
        config = tenants.get(tenant)
        return config.sessions[0].name if config is not None and config.sessions else None

    dispatch = DispatchAgent(app, settings, channels, session_for=first_session)

    async def run_dispatch(stream: faust.StreamT[Any]) -> None:
        await tenants.ready.wait()  # an approval without a session uses the tenant's
        await dispatch.run(stream)

    app.agent(channels[SEND_DECISIONS], name="dispatch")(run_dispatch)

    normalizer = NormalizerAgent(app, settings, channels)
    app.task(normalizer.follow_dispatches)
    # One body, two lanes, each an agent with its own queue: a reply is normalized while a
    # backlog of acks waits in the other lane (docs/adr/0032).
    app.agent(channels[WAHA_CALLBACKS], name="normalizer")(normalizer.lane("normalizer"))
    app.agent(channels[WAHA_MESSAGES], name="messages")(normalizer.lane("messages"))

    return Worker(app=app, settings=settings, classifier=conversation.classifier)
