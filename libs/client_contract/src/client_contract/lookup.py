"""What other services ask the client service about one client before they act on it (over gRPC)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import grpc

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub
from platform_core.errors import Unavailable


@dataclass(frozen=True)
class ClientFacts:
    """What booking or requesting an appointment needs to know of a client."""

    client_id: uuid.UUID
    online_booking_blocked: bool
    deleted: bool
    timezone: str

    @classmethod
    def of(cls, client: client_pb.Client) -> ClientFacts:
        return cls(
            client_id=uuid.UUID(client.id),
            online_booking_blocked=client.online_booking_blocked,
            deleted=client.HasField("deleted_at"),
            timezone=client.profile.timezone,
        )


async def find_client(stub: ClientRecordsStub, client_id: uuid.UUID) -> client_pb.Client | None:
    """The client in the caller's tenant (the survivor when it was merged), or None when there is none;
    Unavailable when the client service cannot answer."""
    try:
        client: client_pb.Client = await stub.GetClient(client_pb.GetClientRequest(id=str(client_id)))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise Unavailable(f"the client service could not be asked about the client ({exc.code().name})") from exc
    return client
