"""Errors of the pure rules, all under the project's root `CobrancaError`."""

from __future__ import annotations

from dataclasses import dataclass

from streams.base.errors import CobrancaError

__all__ = [
    "ConfigProblem",
    "HandoffError",
    "IdentityConflict",
    "IdentityError",
    "InvalidAck",
    "InvalidDebtorQuery",
    "InvalidIdentity",
    "InvalidMessage",
    "InvalidWebhook",
    "NoOpenSlot",
    "TemplateError",
    "TenantConfigError",
]


class NoOpenSlot(CobrancaError):
    """Contact rules that never open (configuration validation prevents them)."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in a configuration file."""

    source: str
    path: str
    message: str
    message_pt: str = ""
    """The same problem in Portuguese, for a console to show beside the field (the CLI prints
    `message`)."""

    @property
    def text_pt(self) -> str:
        return self.message_pt or self.message

    def __str__(self) -> str:
        return f"{self.source}: {self.path or '(top level)'}: {self.message}"


class TenantConfigError(CobrancaError):
    """A tenant configuration that cannot be applied; lists every problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{count} in the tenant configuration:\n" + "\n".join(map(str, problems)))


class TemplateError(CobrancaError):
    """A template that cannot render every client's message."""

    def __init__(self, message: str, message_pt: str = "") -> None:
        super().__init__(message)
        self.message_pt = message_pt or message


class HandoffError(CobrancaError):
    """A hand-off that cannot be resolved as asked."""


class InvalidAck(CobrancaError):
    """An ack value outside WAHA's documented range (-1 ERROR to 4 PLAYED)."""

    def __init__(self, ack: int) -> None:
        super().__init__(
            f"ack {ack} is not a WAHA ack level; expected -1 (ERROR), 0 (PENDING), 1 (SERVER), "
            "2 (DEVICE), 3 (READ) or 4 (PLAYED). Filter acks through normalize(), which ignores "
            "unknown levels"
        )
        self.ack = ack


class IdentityError(CobrancaError):
    """A change to users, keys or logins that the identity rules refuse."""

    code = "identity_error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidIdentity(IdentityError):
    """An email, password, role or scope that does not follow the rules."""

    code = "invalid"


class IdentityConflict(IdentityError):
    """A change that contradicts the account or key as it stands (exists, disabled, revoked)."""

    code = "conflict"


class InvalidDebtorQuery(CobrancaError):
    """A debtor search text that is no name, phone or CPF/CNPJ; says why, in pt-BR."""


class InvalidMessage(CobrancaError):
    """A message sent through the API that cannot become a send; says which field and why."""


class InvalidWebhook(CobrancaError):
    """A webhook subscription that breaks the rules (its URL, kinds or secret); names the field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
