"""What billing asks the client service about a client: that it exists in the tenant, and the name to bill;
and what it tells it: a repeat no-show's block of online booking, ending by itself."""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass
from datetime import datetime

import grpc

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub
from client_contract.lookup import find_client
from platform_core.errors import Unavailable
from platform_core.grpc.values import timestamp


@dataclass(frozen=True)
class BillTo:
    client_id: uuid.UUID
    name: str


class AbstractClientDirectory(abc.ABC):
    @abc.abstractmethod
    async def bill_to(self, client_id: uuid.UUID) -> BillTo | None:
        """The client in the caller's tenant (the survivor when it was merged), or None when there is none."""

    @abc.abstractmethod
    async def block_online_booking(self, client_id: uuid.UUID, *, until: datetime, reason: str) -> None:
        """Online booking refused to the client until ``until`` (a longer block in place stays)."""


def bill_to_name(client: client_pb.Client) -> str:
    person = " ".join(part for part in (client.first_name, client.last_name) if part)
    if client.profile.kind == "business" and client.profile.company_name:
        return f"{client.profile.company_name} ({person})" if person else client.profile.company_name
    return person


class GrpcClientDirectory(AbstractClientDirectory):
    def __init__(self, stub: ClientRecordsStub) -> None:
        self._stub = stub

    async def bill_to(self, client_id: uuid.UUID) -> BillTo | None:
        client = await find_client(self._stub, client_id)
        return BillTo(uuid.UUID(client.id), bill_to_name(client)) if client is not None else None

    async def block_online_booking(self, client_id: uuid.UUID, *, until: datetime, reason: str) -> None:
        request = client_pb.SetOnlineBookingBlockedRequest(
            id=str(client_id), blocked=True, reason=reason, blocked_until=timestamp(until)
        )
        try:
            await self._stub.SetOnlineBookingBlocked(request)
        except grpc.aio.AioRpcError as exc:
            # A client gone (erased, deleted) is booking nothing; there is nothing to block.
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                return
            raise Unavailable(f"the client service could not block online booking ({exc.code().name})") from exc
