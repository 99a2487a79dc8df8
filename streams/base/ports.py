"""Free loopback ports for the servers that tests, benchmarks and the demo start themselves."""

from __future__ import annotations

import socket

__all__ = ["free_consecutive_ports", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_consecutive_ports(count: int) -> int:
    """The first of `count` consecutive free ports on 127.0.0.1: a local Kafka node listens on
    one port and runs its controller on the next, and a cluster's nodes take consecutive pairs."""
    for _ in range(50):
        port = free_port()
        try:
            for offset in range(1, count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise OSError(f"no {count} consecutive free ports on 127.0.0.1")
