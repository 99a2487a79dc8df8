"""What the API needs from the rest of the system, declared here and wired in streams/ops."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from schemas.events import ClientImported, Event
from streams.domain.conversations import ConversationBook
from streams.domain.debtors import DebtorQuery
from streams.domain.identity import IdentityDirectory
from streams.domain.tenant_config import TenantConfig
from streams.domain.webhooks import SubscriptionBook

__all__ = [
    "Conversations",
    "Debtors",
    "EventLog",
    "LedgerView",
    "RejectedRow",
    "Reports",
    "TenantConfigs",
    "WhatsApp",
]


class TenantConfigs(Protocol):
    """Every tenant's configuration in force (the tenants topic, followed)."""

    def get(self, tenant: str) -> TenantConfig | None: ...

    @property
    def configs(self) -> Mapping[str, TenantConfig]: ...


class EventLog(Protocol):
    """The log the API writes to and the identity it reads back (Kafka in production:
    `streams/ops/api_server.py`)."""

    @property
    def identity(self) -> IdentityDirectory:
        """Every identity event on the log so far, this replica's own writes included."""
        ...

    @property
    def webhooks(self) -> SubscriptionBook:
        """Every webhook subscription on the log so far, this replica's own writes included."""
        ...

    @property
    def tenants(self) -> TenantConfigs:
        """Every tenant's configuration on the log so far."""
        ...

    async def append(self, events: Sequence[tuple[Event, str]]) -> None:
        """Store `(event, key)` pairs, each on its event type's topic; identity events are in
        `identity`, and a TenantConfigured in `tenants`, once this returns. Raises
        `ProduceFailed` when the log does not answer."""
        ...

    async def catch_up_identity(self) -> bool:
        """Return once `identity` holds every identity event committed before the call (another
        replica's writes included); False when the log did not answer in time."""
        ...


class Conversations(Protocol):
    """Every tenant's conversations, folded from the topics a thread needs as they are committed
    (docs/adr/0026-conversation-threads.md); `EventLog.append` applies the API's own writes."""

    @property
    def conversations(self) -> ConversationBook: ...


class LedgerView(Protocol):
    """Each tenant's token balance, folded from `cobranca.ledger` as it is committed."""

    def balance(self, tenant: str) -> tuple[int, int]:
        """(balance, ledger movements so far) of `tenant`; (0, 0) for a tenant with none."""
        ...


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """One rejected row of an import (an ImportRejected): its number, why, and the row as read."""

    row: int
    reason: str
    message: str
    """In Portuguese, the offending value already masked where it is personal data."""
    field: str | None
    raw_row: str | None
    """The row as the source had it (personal data unmasked); None when the log no longer
    holds the event."""


class Reports(Protocol):
    """Reports from the analytics store (ClickHouse in production), as JSON-ready rows."""

    async def ledger_page(
        self, tenant: str, before: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """A tenant's ledger movements older than offset `before`, newest first."""
        ...

    async def usage(self, tenant: str, start: date, end: date) -> list[dict[str, Any]]:
        """Per day from `start` to `end`: tokens credited, debited, refunded; sends and their
        tokens."""
        ...

    async def analytics(
        self, view: str, tenant: str, start: date, end: date
    ) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
        """One analytics view's columns and rows for a tenant and São Paulo days; 404 for a
        view that does not exist."""
        ...

    async def imported_client(self, tenant: str, client_id: str | None) -> ClientImported | None:
        """The latest ClientImported of `tenant` (of `client_id`, when given), as the log holds
        it: the store says where it is, the log has the whole event (names included)."""
        ...

    async def import_rejections(
        self, tenant: str, import_id: str
    ) -> tuple[list[RejectedRow], int | None]:
        """The rejected rows of one import, by row number, and how many its ImportCompleted
        counts (None before the store has it): fewer rows than that means the store lags."""
        ...

    async def send_events(self, tenant: str, request_id: str) -> list[dict[str, Any]]:
        """Every event about one send, oldest first: `event_type`, `occurred_at`, `position`
        and the `event` as analytics keeps it (pseudonyms, no texts)."""
        ...


class WhatsApp(Protocol):
    """A tenant's WhatsApp sessions (those its configuration names), through WAHA's API.
    A session the tenant does not own is 404; WAHA not answering is 503."""

    async def sessions(self, tenant: str) -> list[dict[str, Any]]:
        """Each configured session with WAHA's status (`name`, `status`, `engine`)."""
        ...

    async def pairing_qr(self, tenant: str, session: str) -> tuple[str, str]:
        """(mimetype, base64 image) of the QR to scan; 409 unless the session waits for one."""
        ...

    async def start(self, tenant: str, session: str) -> dict[str, Any]: ...

    async def stop(self, tenant: str, session: str) -> dict[str, Any]: ...


class Debtors(Protocol):
    """A tenant's imported debtors: found in the analytics store, their names, phones and
    documents read back from the log (ClickHouse holds none in clear). Values come unmasked;
    the handler masks them for the caller. A store that does not answer is 503."""

    async def search(
        self, tenant: str, query: DebtorQuery, after: str, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The debtors answering `query` after client id `after` (client id order), each
        `client_id`, `name`, `phone`, `document`, `amount_centavos`, `due_date`,
        `last_imported_at`, `imports`; and the cursor of the next page (None: none)."""
        ...

    async def timeline(
        self, tenant: str, client_id: str, *, texts: bool
    ) -> list[dict[str, Any]] | None:
        """What happened to the debtor, oldest first (`streams.domain.debtors.TimelineEntry`),
        with the replies' texts when `texts`; None for a client the tenant never imported."""
        ...
