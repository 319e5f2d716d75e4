"""The client service, as this service asks it (over gRPC, never its tables): a campaign's segment as it is now."""

from __future__ import annotations

import abc
import uuid

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub
from atrium.common.v1 import types_pb2
from notification_svc.domain.campaigns import Member, Segment
from platform_core.errors import Unavailable

PAGE_SIZE = 200


class AbstractClientDirectory(abc.ABC):
    @abc.abstractmethod
    async def members(self, segment: Segment) -> list[Member]:
        """The live clients of the segment (the caller's tenant)."""


class GrpcClientDirectory(AbstractClientDirectory):
    def __init__(self, stub: ClientRecordsStub) -> None:
        self._stub = stub

    async def members(self, segment: Segment) -> list[Member]:
        found: list[Member] = []
        token = ""
        while True:
            reply: client_pb.ListClientsResponse = await self._stub.ListClients(
                client_pb.ListClientsRequest(
                    page=types_pb2.PageRequest(page_size=PAGE_SIZE, page_token=token),
                    group_id=str(segment.group_id) if segment.group_id else "",
                    status_id=str(segment.status_id) if segment.status_id else "",
                    tag=segment.tag,
                    sort="oldest",
                )
            )
            found += [Member(uuid.UUID(c.id), c.email, c.phone) for c in reply.clients]
            token = reply.page.next_page_token
            if not token:
                return found


class UnreachableClientDirectory(AbstractClientDirectory):
    """A process that was given no channel to the client service."""

    async def members(self, segment: Segment) -> list[Member]:
        raise Unavailable("the client service is not reachable from here")
