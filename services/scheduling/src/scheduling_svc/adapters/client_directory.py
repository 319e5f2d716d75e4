"""What scheduling asks the client service about a client before booking (over gRPC)."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass

import grpc

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1.client_service_pb2_grpc import ClientServiceStub
from platform_core.errors import Unavailable


@dataclass(frozen=True)
class ClientFacts:
    client_id: uuid.UUID
    online_booking_blocked: bool
    deleted: bool
    timezone: str


class AbstractClientDirectory(abc.ABC):
    @abc.abstractmethod
    async def lookup(self, client_id: uuid.UUID) -> ClientFacts | None:
        """The client in the caller's tenant, or None when it has no such client."""


class GrpcClientDirectory(AbstractClientDirectory):
    def __init__(self, stub: ClientServiceStub) -> None:
        self._stub = stub

    async def lookup(self, client_id: uuid.UUID) -> ClientFacts | None:
        try:
            client = await self._stub.GetClient(client_pb.GetClientRequest(id=str(client_id)))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise Unavailable(f"the client service could not be asked about the client ({exc.code().name})") from exc
        return ClientFacts(
            client_id=uuid.UUID(client.id),
            online_booking_blocked=client.online_booking_blocked,
            deleted=client.HasField("deleted_at"),
            timezone=client.profile.timezone,
        )
