"""Domain exceptions raised by the data layer; `graph.errors` maps them to GraphQL error payloads."""

from dataclasses import dataclass, field


@dataclass
class FieldError:
    """One problem with one input field (`field` is None when it concerns the whole input)."""

    field: str | None
    message: str
    code: str = "INVALID"


@dataclass
class DomainError(Exception):
    """Base for expected failures: bad input or a rule the request would break."""

    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(e.message for e in self.errors)


class InvalidInput(DomainError):
    """One or more input fields are invalid; every problem found is listed."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors)


class _SingleError(DomainError):
    code = "INVALID"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__([FieldError(field, message, self.code)])


class NotFound(_SingleError):
    code = "NOT_FOUND"


class Duplicate(_SingleError):
    code = "DUPLICATE"


class InUse(_SingleError):
    """The row cannot be deleted because others depend on it."""

    code = "IN_USE"


class Invalid(_SingleError):
    code = "INVALID"


class InsufficientStock(_SingleError):
    """A decrement would take a stock level below zero."""

    code = "INSUFFICIENT_STOCK"


class IdempotencyConflict(_SingleError):
    """An idempotency key was reused for a different request."""

    code = "IDEMPOTENCY_CONFLICT"


class AuthenticationFailed(_SingleError):
    """A login was refused; the message is the same whatever was wrong, so it tells nothing away. `reason`
    says what was wrong, for the server's log only."""

    code = "INVALID_CREDENTIALS"

    def __init__(self, reason: str = "refused") -> None:
        super().__init__("Invalid username or password.")
        self.reason = reason
