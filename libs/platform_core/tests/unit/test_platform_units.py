import uuid

import grpc
import pytest

from platform_core.config import PlatformSettings
from platform_core.errors import Conflict, FieldViolation, InvalidArgument, LimitExceeded, NotFound
from platform_core.grpc.context import CallContext, Principal
from platform_core.grpc.errors import GRPC_DETAILS_KEY, from_rpc_error, to_status
from platform_core.messaging.consumer import retry_delay
from platform_core.messaging.envelope import build_envelope, producer_of, stream_name, subject_for


def test_principal_round_trips_through_metadata() -> None:
    context = CallContext(uuid.uuid4(), Principal("portal", "acc", client_id=str(uuid.uuid4())))
    assert CallContext.from_metadata(dict(context.metadata())) == context


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"x-atrium-tenant-id": "not-a-uuid", "x-atrium-principal": "staff;x;owner;"},
        {"x-atrium-tenant-id": str(uuid.uuid4()), "x-atrium-principal": "root;x;;"},
    ],
)
def test_missing_or_malformed_context_is_no_context(metadata: dict[str, str]) -> None:
    assert CallContext.from_metadata(metadata) is None


def test_domain_errors_map_to_grpc_codes_with_field_details() -> None:
    code, message, trailers = to_status(InvalidArgument([FieldViolation("email", "is not valid")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "email" in message
    assert trailers[0][0] == GRPC_DETAILS_KEY
    assert to_status(NotFound("x"))[0] == grpc.StatusCode.NOT_FOUND
    assert to_status(Conflict("x"))[0] == grpc.StatusCode.ABORTED


def _as_rpc_error(error: LimitExceeded | InvalidArgument) -> grpc.aio.AioRpcError:
    code, message, trailers = to_status(error)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailers), message)


def test_a_rate_limit_tells_the_caller_when_to_retry() -> None:
    remote = from_rpc_error(_as_rpc_error(LimitExceeded("slow down", reason="RATE_LIMITED", retry_after=42)))
    assert (remote.code, remote.reason, remote.retry_after) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED", 42)
    assert from_rpc_error(_as_rpc_error(InvalidArgument([FieldViolation("f", "bad")]))).retry_after is None


def test_retry_delay_grows_and_is_capped() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay(50) == 60


def test_subjects_and_streams_are_derived_from_the_contract_name() -> None:
    assert subject_for("atrium", "atrium.client.v1.ClientCreated") == "atrium.client.v1.ClientCreated"
    assert producer_of("atrium.client.v1.ClientCreated") == "client"
    assert stream_name("t1", "client") == "T1_CLIENT_EVENTS"
    with pytest.raises(ValueError):
        subject_for("atrium", "google.protobuf.Empty")


def test_envelope_carries_the_common_metadata() -> None:
    from atrium.client.v1 import events_pb2

    tenant = uuid.uuid4()
    envelope = build_envelope(
        events_pb2.ClientCreated(client_id="c"),
        tenant_id=tenant,
        aggregate_type="client",
        aggregate_id="c",
        producer="client",
    )
    assert uuid.UUID(envelope.event_id).version == 7
    assert envelope.tenant_id == str(tenant)
    assert envelope.event_type == "atrium.client.v1.ClientCreated"
    assert envelope.occurred_at.seconds > 0


def test_each_unit_derives_its_own_database_from_the_server_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ATRIUM_POSTGRES_URL", "ATRIUM_CLIENT_DATABASE_URL", "ATRIUM_DATABASE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    settings = PlatformSettings(postgres_url="postgresql://u:p@db:5432/postgres", database_prefix="atr")
    assert settings.database_url("client") == "postgresql+asyncpg://u:p@db:5432/atr_client"
    explicit = PlatformSettings(client_database_url="postgresql://u:p@other/clients")
    assert explicit.database_url("client") == "postgresql+asyncpg://u:p@other/clients"
    with pytest.raises(ValueError, match="ATRIUM_POSTGRES_URL"):
        PlatformSettings().database_url("client")
