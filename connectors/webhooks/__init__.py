"""Tenant webhooks over HTTP: one signed POST per delivery attempt (`sender.py`). The rules
(what is sent, how it is signed, when to retry) are in streams/domain/webhooks.py; the agent
that follows the log and drives the sender is streams/ops/webhook_delivery.py."""

from __future__ import annotations

from connectors.webhooks.sender import Outcome, WebhookSender

__all__ = ["Outcome", "WebhookSender"]
