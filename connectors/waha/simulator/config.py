"""The simulator's settings and its fault-injection knobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["DEFAULT_API_KEY", "Faults", "SimulatorConfig", "directory_chat_id"]

DEFAULT_API_KEY: Final = "waha-sim-key"


@dataclass(slots=True)
class Faults:
    """What goes wrong, and how often. Changeable at run time through `POST /_sim/faults`."""

    error_rate: float = 0.0
    """Fraction of send calls answered 500 (nothing is sent)."""
    latency_ms: float = 0.0
    """Added before every /api answer."""
    drop_rate: float = 0.0
    """Fraction of webhooks never delivered (retries included)."""
    duplicate_rate: float = 0.0
    """Fraction of webhooks delivered twice, same body and envelope id."""
    out_of_order_rate: float = 0.0
    """Fraction of sends whose READ ack is delivered before the DEVICE ack."""
    fail_sends_until: float = 0.0
    """Monotonic time until which every send call is answered `fail_status`."""
    fail_status: int = 503
    flap_every_s: float = 0.0
    """Every this many seconds each session goes FAILED ... (0: never)."""
    flap_for_s: float = 5.0
    """... and comes back to WORKING after this long."""

    def update(self, values: dict[str, Any], now: float) -> None:
        """Apply a `/_sim/faults` body; `fail_sends_for_s` sets a window starting now."""
        for key, value in values.items():
            if key == "fail_sends_for_s":
                self.fail_sends_until = now + float(value)
            elif key in ("fail_status",):
                self.fail_status = int(value)
            elif key in Faults.__dataclass_fields__ and key != "fail_sends_until":
                setattr(self, key, float(value))
            else:
                raise ValueError(f"unknown fault {key!r}")

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "error_rate": self.error_rate,
            "latency_ms": self.latency_ms,
            "drop_rate": self.drop_rate,
            "duplicate_rate": self.duplicate_rate,
            "out_of_order_rate": self.out_of_order_rate,
            "fail_sends_for_s": max(self.fail_sends_until - now, 0.0),
            "fail_status": self.fail_status,
            "flap_every_s": self.flap_every_s,
            "flap_for_s": self.flap_for_s,
        }


@dataclass(slots=True)
class SimulatorConfig:
    """How the simulated WAHA behaves."""

    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port; `Simulator.url` tells which."""
    api_key: str | None = DEFAULT_API_KEY
    """Required in X-Api-Key (or ?x-api-key=); None accepts anything, like WAHA without a key."""
    engine: str = "WEBJS"
    sessions: tuple[str, ...] = ("default",)
    """Sessions that exist at start, all WORKING."""
    me_id: str = "5511900000000@c.us"
    webhook_url: str | None = None
    hmac_key: str | None = None
    webhook_events: tuple[str, ...] = ("message", "message.ack", "session.status")
    retry_policy: str = "exponential"
    """constant, linear or exponential (WAHA_API.md, section 6: Retries)."""
    retry_delay_s: float = 2.0
    retry_attempts: int = 15
    webhook_timeout_s: float = 10.0
    ack_delays_s: tuple[float, float, float] = (0.05, 0.4, 1.5)
    """When SERVER, DEVICE and READ acks follow a send."""
    read_rate: float = 0.8
    """Fraction of delivered messages the debtor reads."""
    reply_rate: float = 0.5
    """Fraction of read messages the debtor answers."""
    reply_delay_s: float = 2.0
    """How long after READ the answer comes."""
    unregistered_suffix: str = "0000"
    """Numbers ending in this have no WhatsApp (check-exists says so; sends never arrive)."""
    seed: int | None = None
    faults: Faults = field(default_factory=Faults)


def directory_chat_id(digits: str, unregistered_suffix: str) -> str | None:
    """The WhatsApp id a number has in the simulated world; None if it has no account.

    Brazilian mobiles with DDD 31 or above keep the id they had before the 9th digit
    (`5531987654321` → `553187654321@c.us`), as accounts registered before 2016 do; DDD 11 to
    28 use the 13-digit form. Other numbers are their own id.
    """
    if unregistered_suffix and digits.endswith(unregistered_suffix):
        return None
    brazil = digits.startswith("55")
    if brazil and len(digits) == 13 and digits[4] == "9" and int(digits[2:4]) >= 31:
        return f"{digits[:4]}{digits[5:]}@c.us"
    # A DDD 11-28 mobile written without its 9 still reaches the 13-digit account.
    if brazil and len(digits) == 12 and int(digits[2:4]) < 31 and digits[4] in "6789":
        return f"{digits[:4]}9{digits[4:]}@c.us"
    return f"{digits}@c.us"
