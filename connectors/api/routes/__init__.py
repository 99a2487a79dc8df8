"""Every route of the API, grouped by what it acts on."""

from __future__ import annotations

from connectors.api.http import Route
from connectors.api.routes import (
    analytics,
    auth,
    config,
    conversations,
    debtors,
    imports,
    keys,
    messages,
    tokens,
    users,
    webhooks,
    whatsapp,
)

__all__ = ["ROUTES"]

ROUTES: tuple[Route, ...] = (
    *auth.ROUTES,
    *users.ROUTES,
    *keys.ROUTES,
    *imports.ROUTES,
    *tokens.ROUTES,
    *messages.ROUTES,
    *conversations.ROUTES,
    *analytics.ROUTES,
    *debtors.ROUTES,
    *whatsapp.ROUTES,
    *webhooks.ROUTES,
    *config.ROUTES,
)
