"""`caused_by` and `derived_id` (schemas/events.py): a derived event's header, from its cause."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas.events import (
    EVENT_TYPES,
    SendKind,
    SendRequested,
    caused_by,
    derived_id,
    new_header,
)

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
CAUSE_ID = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
NAMESPACE = uuid.UUID("0c0b7d1e-5f8a-4f55-9d0e-3b1a2f6c8e41")


def _cause(event_id: str = CAUSE_ID) -> SendRequested:
    return SendRequested(
        header=new_header(
            "SendRequested",
            tenant_id="acme",
            correlation_id="req-1",
            causation_id="evt-0",
            source="tests",
            occurred_at=NOW - timedelta(minutes=5),
            event_id=event_id,
        ),
        request_id="req-1",
        client_id="c1",
        phone_e164="+5511987654321",
        kind=SendKind.TEXT,
        text="Olá!",
    )


def test_the_header_carries_the_causes_lineage() -> None:
    header = caused_by(
        "SendApproved", _cause(), occurred_at=NOW, source="streams.ledger", namespace=NAMESPACE
    )

    assert header.event_type == "SendApproved"
    assert header.schema_version == EVENT_TYPES["SendApproved"].SCHEMA_VERSION
    assert header.tenant_id == "acme"
    assert header.correlation_id == "req-1"
    assert header.causation_id == CAUSE_ID
    assert header.source == "streams.ledger"
    assert header.occurred_at == NOW
    assert header.event_id == str(uuid.uuid5(NAMESPACE, f"{CAUSE_ID}|SendApproved"))


def test_a_replay_derives_the_same_header() -> None:
    def derive() -> object:
        return caused_by(
            "TokensDebited", _cause(), occurred_at=NOW, source="s", namespace=NAMESPACE
        ).asdict()

    assert derive() == derive()


def test_ids_differ_by_cause_event_type_namespace_and_key() -> None:
    def event_id(
        cause_id: str = CAUSE_ID,
        event_type: str = "TokensDebited",
        namespace: uuid.UUID = NAMESPACE,
        key: str | None = None,
    ) -> str:
        cause = _cause(cause_id)
        return caused_by(
            event_type, cause, occurred_at=NOW, source="s", namespace=namespace, key=key
        ).event_id

    ids = {
        event_id(),
        event_id(cause_id="5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e30"),
        event_id(event_type="SendApproved"),
        event_id(namespace=uuid.UUID("8a0c8c52-9e4f-4d0b-9a57-3f1d0c5b7e21")),
        event_id(key="another key"),
    }

    assert len(ids) == 5


def test_an_explicit_key_and_correlation_override_the_defaults() -> None:
    header = caused_by(
        "DebtIndexed",
        _cause(),
        occurred_at=NOW,
        source="s",
        namespace=NAMESPACE,
        key="named|DebtIndexed",
        correlation_id="imp-1",
    )

    assert header.event_id == derived_id(NAMESPACE, "named|DebtIndexed")
    assert header.correlation_id == "imp-1"
    assert header.tenant_id == "acme" and header.causation_id == CAUSE_ID


def test_the_time_is_taken_as_new_header_takes_it() -> None:
    sao_paulo = timezone(timedelta(hours=-3))
    at = datetime(2025, 3, 14, 12, 0, 0, 123999, tzinfo=sao_paulo)

    header = caused_by("OptedOut", _cause(), occurred_at=at, source="s", namespace=NAMESPACE)

    assert header.occurred_at == datetime(2025, 3, 14, 15, 0, 0, 123000, tzinfo=UTC)
    with pytest.raises(ValueError, match="has no time zone"):
        caused_by(
            "OptedOut", _cause(), occurred_at=datetime(2025, 1, 1), source="s", namespace=NAMESPACE
        )


# Derived ids are idempotency keys stored in the log: a replay must derive them again byte for
# byte. These were computed by each module's own header code before `caused_by` replaced it; a
# row that fails means events already in the log would be derived again under other ids.
LEDGER_IDS = uuid.UUID("0c0b7d1e-5f8a-4f55-9d0e-3b1a2f6c8e41")  # streams.domain.ledger.DERIVED_IDS
DISPATCH_IDS = uuid.UUID("8a0c8c52-9e4f-4d0b-9a57-3f1d0c5b7e21")  # streams.agents.dispatch
REGUA_IDS = uuid.UUID("3c9f5a52-8d0e-4b8e-a7f1-5e2d9c6b0a17")  # streams.domain.regua
CONVERSATION_IDS = uuid.UUID("6f1d2c3b-9a8e-4d7f-b6c5-0e1f2a3b4c5d")  # streams.domain.reply_policy
NORMALIZATION_IDS = uuid.UUID(
    "6f1d2c1e-5a0b-4f0e-9f57-0c0b2a7d3e41"
)  # streams.domain.normalization


@pytest.mark.parametrize(
    ("namespace", "event_type", "key", "expected"),
    [
        (LEDGER_IDS, "TokensDebited", None, "13df8652-0f57-539a-b8cd-fd615a92e8ac"),
        (LEDGER_IDS, "SendApproved", None, "f9edcb3c-8af4-5548-a69e-8f55a79dcbc3"),
        (
            DISPATCH_IDS,
            "DispatchFailed",
            f"{CAUSE_ID}|DispatchFailed|2",
            "429cb1b4-6949-5685-a290-e08fa55b0243",
        ),
        (
            DISPATCH_IDS,
            "MessageDispatched",
            f"{CAUSE_ID}|MessageDispatched|0",
            "2c4a4c34-07e8-56a2-809d-001ce90bce26",
        ),
        (REGUA_IDS, "DebtIndexed", None, "ff53ff90-c05f-5f5a-b83f-dfe2c9d9a882"),
        (CONVERSATION_IDS, "IntentClassified", None, "62204f69-b4bb-5441-bda2-1d87f9d65917"),
        (
            CONVERSATION_IDS,
            "ConversationStateChanged",
            None,
            "c54b52ed-b4ec-503f-ac1b-3c51c3290b3d",
        ),
        (
            NORMALIZATION_IDS,
            "InboundMessage",
            "msg:acme:false_5511987654321@c.us_AAA",
            "87470419-6b1c-5e9d-bef6-4a41b6b86319",
        ),
        (
            NORMALIZATION_IDS,
            "SessionStatusChanged",
            f"callback:{CAUSE_ID}",
            "abbf92d3-e016-5335-ab18-2d4ac29e2e7c",
        ),
    ],
)
def test_derived_ids_stay_what_the_log_holds(
    namespace: uuid.UUID, event_type: str, key: str | None, expected: str
) -> None:
    header = caused_by(
        event_type, _cause(), occurred_at=NOW, source="s", namespace=namespace, key=key
    )

    assert header.event_id == expected
