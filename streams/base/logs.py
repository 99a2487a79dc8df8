"""structlog configuration: JSON in production, pretty on a terminal, personal data masked.

Phones and CPF/CNPJ never reach a log line in clear (LGPD). Masking is a processor in the chain,
so it applies to every event dict whatever the call site forgot.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

# Brazilian phones (optional +55, optional DDD in parentheses, 8 or 9 digits), CPF and CNPJ,
# formatted or bare. The first 5 and last 2 characters are kept: enough to tell numbers apart
# in support, not enough to call anyone.
_PHONE = r"(?:\+?55[\s.-]?)?(?:\(?\d{2}\)?[\s.-]?)?\d{4,5}[\s.-]?\d{4}"
_CPF = r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}"
_CNPJ = r"\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}"
# The alphanumeric CNPJ (since July 2026): letters or digits, 2 digits last, in either case
# (`12.ABC.345/01DE-35`, `12abc34501de35`). Recognised, not validated (the base knows no rule),
# so a word of 12 letters and 2 digits is masked too: in a log, the safe mistake.
_CNPJ_ALPHANUMERIC = r"[0-9A-Za-z]{2}\.?[0-9A-Za-z]{3}\.?[0-9A-Za-z]{3}/?[0-9A-Za-z]{4}-?[0-9]{2}"
# Letters and digits bound a number; `_` and `@` do not, so ids like `true_5511...@c.us_3EB0`
# are masked too.
_PHONE_OR_DOCUMENT = re.compile(
    r"(?<![0-9A-Za-z+])(?:"
    + "|".join((_CNPJ, _CNPJ_ALPHANUMERIC, _CPF, _PHONE))
    + r")(?![0-9A-Za-z])"
)
_MARKS = re.compile(r"[^\dA-Za-z]")


def mask(text: str) -> str:
    """Mask every phone-, CPF- or CNPJ-looking run: ``5511987654321`` → ``55119****21``,
    ``12.ABC.345/01DE-35`` → ``12ABC****35``."""

    def _mask(match: re.Match[str]) -> str:
        characters = _MARKS.sub("", match.group(0))
        if len(characters) < 10:
            return match.group(0)
        return f"{characters[:5]}****{characters[-2:]}"

    return _PHONE_OR_DOCUMENT.sub(_mask, text)


_DIGIT_PAIR = re.compile(r"\d\d")
"""Every phone, CPF and CNPJ spelling has two digits in a row: text without them skips the scan."""

_SECRET_KEY = re.compile(
    r"(?:^|[_-])(?:api[_-]?key|password|passwd|secret|hmac|hmac[_-]?key|token|authorization)$",
    re.IGNORECASE,
)
"""Keys whose values are credentials (`waha_api_key`, `hmac_key`, `password`, `token`...): their
values are replaced whole, at any depth, whatever they look like."""


@functools.lru_cache(maxsize=4096)
def _is_secret(key: str) -> bool:
    """Whether `key` names a credential; cached, since a program logs the same few keys."""
    return _SECRET_KEY.search(key) is not None


REDACTED = "[redacted]"

_MAX_DEPTH = 8
"""How deep the masker walks nested values; below, a value is logged as its masked repr, so a
deep or cyclic structure costs a bounded walk and still leaks nothing."""


def _masked(value: Any, depth: int = 0) -> Any:
    """`value` with every string masked and every secret key's value redacted.

    Containers are copied only when something inside changed: the caller's objects are never
    mutated, and an event with no number-looking text costs a walk and no allocation.
    """
    if isinstance(value, str):
        return mask(value) if _DIGIT_PAIR.search(value) else value
    if isinstance(value, bool | int | float) or value is None:
        return value
    if depth >= _MAX_DEPTH:
        return _masked(repr(value), depth)
    if isinstance(value, dict):
        items: dict[Any, Any] = {}
        changed = False
        for key, item in value.items():
            secret = isinstance(key, str) and _is_secret(key)
            new_key = _masked(key, depth)  # a dict keyed by phone numbers is masked too
            new_item = REDACTED if secret else _masked(item, depth + 1)
            changed = changed or new_key is not key or new_item is not item
            items[new_key] = new_item
        return items if changed else value
    if isinstance(value, list | tuple | set | frozenset):
        members = [_masked(item, depth + 1) for item in value]
        if all(new is old for new, old in zip(members, value, strict=True)):
            return value
        if isinstance(value, list):
            return members
        if isinstance(value, tuple):
            return tuple(members)  # a named tuple too: its repr would name the fields, not hide
        return frozenset(members) if isinstance(value, frozenset) else set(members)
    if isinstance(value, BaseException):
        # An exception logged as a value renders as its repr, message included.
        return _masked(repr(value), depth)
    return value


def _mask_values(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask the event's values, nested ones and the rendered traceback included.

    Runs after `format_exc_info`, so an exception's text (its message, the locals a frame
    shows) is masked like any other value. The event dict is the formatter's own copy; the
    values in it may be the caller's, so nested ones are copied, never changed in place.
    """
    for key, value in event_dict.items():
        if _is_secret(key):
            event_dict[key] = REDACTED
            continue
        if type(value) is str and _DIGIT_PAIR.search(value) is None:
            continue  # the common case, without a call
        masked = _masked(value)
        if masked is not value:
            event_dict[key] = masked
    return event_dict


class RepeatFilter(logging.Filter):
    """Lets a library's identical log line through at most once per `window_s` seconds.

    With the broker down, aiokafka's clients retry their connections and metadata in a tight
    loop and log each failure: tens of thousands of identical lines in a few seconds of outage
    (tests/integration/streams/test_broker_restart.py), which bury everything else and fill the
    disk. The first line passes; repeats within the window are counted, and the next line that
    passes says how many were left out.
    """

    def __init__(
        self,
        prefixes: tuple[str, ...] = ("aiokafka",),
        window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes):
            return True
        key = (record.name, record.getMessage())
        now = self._clock()
        last = self._seen.get(key)
        if last is not None and now - last[0] < self.window_s:
            self._seen[key] = (last[0], last[1] + 1)
            return False
        if len(self._seen) > 10_000:  # messages carry ports and ids: keep the memory bounded
            self._seen.clear()
        self._seen[key] = (now, 0)
        if last is not None and last[1]:
            record.msg = f"{record.getMessage()} ({last[1]} more like this left out)"
            record.args = ()
        return True


def configure(*, json_output: bool | None = None, level: str | None = None) -> logging.Handler:
    """Configure structlog and route the standard library's loggers (Faust, aiokafka) through it.

    ``COBRANCA_LOG_FORMAT=json|console`` overrides the terminal detection; ``COBRANCA_LOG_LEVEL``
    sets the level (default INFO). Returns the handler, for frameworks (the Faust worker) that
    install their own.
    """
    fmt = os.environ.get("COBRANCA_LOG_FORMAT")
    if json_output is None:
        json_output = fmt == "json" if fmt else not sys.stderr.isatty()
    level_name = (level or os.environ.get("COBRANCA_LOG_LEVEL", "INFO")).upper()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _mask_values,  # after the traceback is text, so its text is masked too
                renderer,
            ],
        )
    )
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_name)
    # aiokafka narrates every group join and assignment at INFO; keep its warnings and errors.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    return handler
