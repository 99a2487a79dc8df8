"""The one way a process without an HTTP server of its own serves Prometheus metrics: its
registry, with the process metrics, on prometheus_client's HTTP server in a daemon thread at
``http://host:port/metrics`` (COBRANCA_METRICS_HOST, COBRANCA_METRICS_PORT).

The worker (`streams.runtime.metrics.PrometheusSensor`) and the ClickHouse sink use it. A scrape
runs in that thread, so it never waits for the event loop, and a busy loop never delays it.
Processes that already serve HTTP (the webhook receiver, the API with its imports) answer
``GET /metrics`` on their own port instead, from a registry built with `process_registry`.

No Faust here: the sink imports it without loading the worker's machinery.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

from streams.runtime.errors import MetricsEndpointUnavailable

__all__ = ["MetricsEndpoint", "process_registry"]

log = structlog.get_logger(__name__)


def process_registry(registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """`registry` (a new one by default) with the process metrics added: CPU, memory, open
    files (`process_*`), the interpreter (`python_info`) and its garbage collector."""
    registry = CollectorRegistry() if registry is None else registry
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class MetricsEndpoint:
    """``/metrics`` of one registry on prometheus_client's threaded HTTP server."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def start(self) -> None:
        """Listen; raises MetricsEndpointUnavailable, naming the setting, if the port is taken."""
        try:
            self._server, self._thread = start_http_server(
                self.port, addr=self.host, registry=self.registry
            )
        except OSError as exc:
            raise MetricsEndpointUnavailable(
                f"cannot serve metrics on {self.host}:{self.port}: {exc}; free the port, set "
                "COBRANCA_METRICS_PORT to another one, or unset it to run without metrics"
            ) from exc
        log.info("metrics_serving", url=self.url)

    def stop(self) -> None:
        """Close the endpoint (blocks for the server's poll interval: call it off the loop)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
