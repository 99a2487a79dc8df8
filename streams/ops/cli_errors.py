"""How the `cobranca` commands end on one of our own errors: its message and exit code 1."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from streams.base.errors import CobrancaError

__all__ = ["friendly_errors"]

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(fn: F) -> F:
    """Our own errors end the command with their message and exit code 1, not a traceback
    (they say what, where and why; a traceback would bury that)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CobrancaError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]
