"""What scheduling asks the client service about a client before booking (over gRPC)."""

from __future__ import annotations

import abc
import uuid

from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub
from client_contract.lookup import ClientFacts, find_client


class AbstractClientDirectory(abc.ABC):
    @abc.abstractmethod
    async def lookup(self, client_id: uuid.UUID) -> ClientFacts | None:
        """The client in the caller's tenant, or None when it has no such client."""


class GrpcClientDirectory(AbstractClientDirectory):
    def __init__(self, stub: ClientRecordsStub) -> None:
        self._stub = stub

    async def lookup(self, client_id: uuid.UUID) -> ClientFacts | None:
        client = await find_client(self._stub, client_id)
        return ClientFacts.of(client) if client is not None else None
