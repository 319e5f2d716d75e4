"""Errors that business code raises. Pure Python: the domain layer of every service may use them.

One gRPC interceptor maps them to status codes (platform_core.grpc.errors) and one gateway module maps
those to HTTP problem details, so no handler chooses a status code by hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    field: str
    message: str


class DomainError(Exception):
    """Base of every expected, client-caused failure."""

    reason = "DOMAIN_ERROR"

    def __init__(self, message: str, *, reason: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason:
            self.reason = reason
        # Seconds after which a retry may succeed (a rate limit, a brief outage); travels as google.rpc.RetryInfo
        # and reaches HTTP callers as Retry-After.
        self.retry_after = retry_after


class NotFound(DomainError):
    reason = "NOT_FOUND"


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate, a taken slot, a concurrent change)."""

    reason = "CONFLICT"


class FailedPrecondition(DomainError):
    """The record is not in a state that allows the operation."""

    reason = "FAILED_PRECONDITION"


class PermissionDenied(DomainError):
    reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    reason = "UNAUTHENTICATED"


class LimitExceeded(DomainError):
    """A quota or rate limit was reached."""

    reason = "LIMIT_EXCEEDED"


class Unavailable(DomainError):
    """A service this operation depends on cannot be reached; the caller may retry."""

    reason = "UNAVAILABLE"


class InvalidArgument(DomainError):
    """Input that breaks a rule; names every offending field."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation] | tuple[FieldViolation, ...], message: str = "") -> None:
        self.violations = tuple(violations)
        super().__init__(message or "; ".join(f"{v.field}: {v.message}" for v in self.violations))

    @classmethod
    def single(cls, field: str, message: str) -> InvalidArgument:
        return cls([FieldViolation(field, message)])
