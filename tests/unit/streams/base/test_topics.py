"""The catalogue's promises: every event has one home (a webhook one of two lanes); audit
topics never expire."""

from __future__ import annotations

import pytest

from schemas.events import EVENT_TYPES
from streams.base.topics import (
    CATALOGUE,
    WAHA_CALLBACKS,
    WAHA_MESSAGES,
    TopicKind,
    topic_for_event,
)


def test_every_event_type_lives_on_exactly_one_topic_but_webhooks_on_two_lanes() -> None:
    homes = [event for spec in CATALOGUE for event in spec.events]
    assert sorted(homes) == sorted([*EVENT_TYPES, "WahaCallbackReceived"])
    assert topic_for_event("WahaCallbackReceived") is WAHA_CALLBACKS
    assert (WAHA_MESSAGES.key, WAHA_MESSAGES.kind) == (WAHA_CALLBACKS.key, WAHA_CALLBACKS.kind)


def test_topic_names_are_unique() -> None:
    names = [spec.name for spec in CATALOGUE]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("spec", [s for s in CATALOGUE if s.kind is TopicKind.AUDIT], ids=str)
def test_audit_topics_keep_everything_and_are_never_compacted(spec: object) -> None:
    config = spec.config()  # type: ignore[attr-defined]
    assert config["retention.ms"] == "-1"
    assert config["retention.bytes"] == "-1"
    assert config["cleanup.policy"] == "delete"


def test_the_ledger_is_keyed_by_tenant_alone() -> None:
    # Each tenant's balance is decided in order: all its requests share one partition.
    assert topic_for_event("SendRequested").key == "tenant_id"
    assert topic_for_event("TokensDebited").key == "tenant_id"


def test_unknown_event_type_names_the_catalogue() -> None:
    with pytest.raises(KeyError, match=r"streams/base/topics\.py"):
        topic_for_event("NoSuchEvent")
