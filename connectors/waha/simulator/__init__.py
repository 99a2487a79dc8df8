"""A WAHA simulator that follows shared/waha: the API cobranca calls, the webhooks WAHA sends
(HMAC, retries, acks, debtors' replies in Portuguese), engine quirks and injected faults.

`cobranca waha-sim` runs it; tests use `SimulatorThread` (in-process, free port) or
`start_simulator_process` (a child process), which the demo uses too.
"""

from __future__ import annotations

from connectors.waha.errors import SimulatorDidNotStart
from connectors.waha.simulator.config import DEFAULT_API_KEY, Faults, SimulatorConfig
from connectors.waha.simulator.runner import (
    SimulatorProcess,
    SimulatorThread,
    start_simulator_process,
)
from connectors.waha.simulator.server import AcceptedSend, Simulator

__all__ = [
    "DEFAULT_API_KEY",
    "AcceptedSend",
    "Faults",
    "Simulator",
    "SimulatorConfig",
    "SimulatorDidNotStart",
    "SimulatorProcess",
    "SimulatorThread",
    "start_simulator_process",
]
