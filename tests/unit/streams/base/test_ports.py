"""The loopback port finders that local servers started by tests, benchmarks and the demo use."""

from __future__ import annotations

import socket

from streams.base.ports import free_consecutive_ports, free_port


def _bind_all(first: int, count: int) -> None:
    probes = [socket.socket() for _ in range(count)]
    try:
        for offset, probe in enumerate(probes):
            probe.bind(("127.0.0.1", first + offset))
    finally:
        for probe in probes:
            probe.close()


def test_a_free_port_can_be_bound() -> None:
    _bind_all(free_port(), 1)


def test_consecutive_ports_are_all_free_at_once() -> None:
    first = free_consecutive_ports(6)

    _bind_all(first, 6)
