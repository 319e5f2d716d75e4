"""Another service's refusal, as the domain error it stands for here: the caller gets the same status and
reason, with the other service's field names translated to this API's."""

from __future__ import annotations

import grpc

from platform_core import errors
from platform_core.grpc.errors import from_rpc_error

_ERRORS: dict[grpc.StatusCode, type[errors.DomainError]] = {
    # What another service cannot find is a reference this one holds (the request's service, its client):
    # the request is not in a state to go ahead (409), not a missing resource of the caller's (404).
    grpc.StatusCode.NOT_FOUND: errors.FailedPrecondition,
    grpc.StatusCode.ABORTED: errors.Conflict,
    grpc.StatusCode.ALREADY_EXISTS: errors.Conflict,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.LimitExceeded,
}


def domain_error(exc: grpc.aio.AioRpcError, service: str, *, fields: dict[str, str] | None = None) -> Exception:
    """The domain error a remote refusal stands for; field names are translated to this API's."""
    remote = from_rpc_error(exc)
    if remote.code == grpc.StatusCode.INVALID_ARGUMENT:
        renamed = [errors.FieldViolation((fields or {}).get(v.field, v.field), v.message) for v in remote.violations]
        return errors.InvalidArgument(renamed, remote.message)
    error_type = _ERRORS.get(remote.code)
    if error_type is not None:
        return error_type(remote.message, reason=remote.reason or None)
    return errors.Unavailable(f"the {service} service could not answer ({remote.code.name})")
