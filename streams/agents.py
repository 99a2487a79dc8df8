"""The worker's agents. Each one decodes, calls a pure rule, and emits what the rule returned."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust

from schemas.events import ClientImported
from streams import processing
from streams.app import app
from streams.channels import CHANNELS
from streams.reminders import request_import_notice
from streams.topics import CLIENTS, SEND_REQUESTS


@app.agent(CHANNELS[CLIENTS.name], name="plan-import-notices")
async def plan_import_notices(stream: faust.StreamT[Any]) -> None:
    """ClientImported → SendRequested for the import notice, keyed by tenant for the ledger."""
    requests = CHANNELS[SEND_REQUESTS.name]
    async for event in processing.events(stream):
        if isinstance(event, ClientImported):
            request = request_import_notice(event, now=datetime.now(UTC))
            await requests.send(key=request.header.tenant_id.encode(), value=request)
