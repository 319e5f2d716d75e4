"""Domain errors <-> gRPC status, with google.rpc details (ErrorInfo, BadRequest field violations)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from platform_core import errors

GRPC_DETAILS_KEY = "grpc-status-details-bin"
ERROR_DOMAIN = "atrium"

_CODES: list[tuple[type[errors.DomainError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.Conflict, grpc.StatusCode.ABORTED),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.LimitExceeded, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
]


def status_code_for(error: errors.DomainError) -> grpc.StatusCode:
    for error_type, code in _CODES:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION


def to_status(error: errors.DomainError) -> tuple[grpc.StatusCode, str, tuple[tuple[str, bytes], ...]]:
    """Code, message and trailing metadata (google.rpc.Status in grpc-status-details-bin) for an error."""
    code = status_code_for(error)
    status = status_pb2.Status(code=code.value[0], message=error.message)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN))
    status.details.append(info)
    if isinstance(error, errors.InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.message)
                for v in error.violations
            ]
        )
        detail = any_pb2.Any()
        detail.Pack(bad_request)
        status.details.append(detail)
    if error.retry_after:
        retry = any_pb2.Any()
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=error.retry_after)))
        status.details.append(retry)
    return code, error.message, ((GRPC_DETAILS_KEY, status.SerializeToString()),)


@dataclass(frozen=True)
class RemoteError:
    """What a caller learns from a failed call: the code, the message, reason, field violations and when a retry
    may succeed."""

    code: grpc.StatusCode
    message: str
    reason: str
    violations: tuple[errors.FieldViolation, ...]
    retry_after: int | None = None


def from_rpc_error(exc: grpc.aio.AioRpcError) -> RemoteError:
    reason = ""
    violations: list[errors.FieldViolation] = []
    retry_after: int | None = None
    for key, value in exc.trailing_metadata() or ():
        if key != GRPC_DETAILS_KEY:
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations.extend(errors.FieldViolation(v.field, v.description) for v in bad.field_violations)
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                # Whole seconds, rounded up: Retry-After has no fractions.
                retry_after = retry.retry_delay.seconds + (1 if retry.retry_delay.nanos else 0) or None
    return RemoteError(exc.code(), exc.details() or "", reason, tuple(violations), retry_after)


__all__ = ["RemoteError", "from_rpc_error", "status_code_for", "to_status"]
