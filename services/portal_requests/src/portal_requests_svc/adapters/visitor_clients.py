"""Who a public booking page visitor is, once their email is proven: the business's client with that email,
else a new client (source ``booking_widget``). Asked of the client service, which owns client records.

A new client is created with an idempotency key derived from the address, so two confirmations racing for
one new address make one client (the client service's unique key decides), not two.
"""

from __future__ import annotations

import abc
import hashlib
import uuid

import grpc

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub
from atrium.common.v1 import types_pb2
from portal_requests_svc.adapters.grpc_errors import domain_error
from portal_requests_svc.domain.public_requests import NewClientTerms, Visitor

SOURCE = "booking_widget"
# Clients found by an email search that are read to find the exact address.
SEARCHED = 50


def split_name(name: str) -> tuple[str, str]:
    """First and last name of a name typed as one ("Ada Lovelace" -> "Ada", "Lovelace"; "Cher" -> "Cher", "")."""
    first, _, last = name.strip().rpartition(" ")
    return (first.strip(), last) if first.strip() else (last, "")


class AbstractVisitorClients(abc.ABC):
    @abc.abstractmethod
    async def client_for(self, visitor: Visitor, terms: NewClientTerms) -> uuid.UUID:
        """The live client whose email is the visitor's (the oldest, if several), else a new one."""


class GrpcVisitorClients(AbstractVisitorClients):
    def __init__(self, stub: ClientRecordsStub) -> None:
        self._stub = stub

    async def client_for(self, visitor: Visitor, terms: NewClientTerms) -> uuid.UUID:
        try:
            found = await self._stub.ListClients(
                client_pb.ListClientsRequest(query=visitor.email, page=types_pb2.PageRequest(page_size=SEARCHED))
            )
            matches = [
                c
                for c in found.clients
                if visitor.email in {c.email.lower(), *(e.value.lower() for e in c.emails)}
                and not c.HasField("deleted_at")
            ]
            if matches:
                return uuid.UUID(min(matches, key=lambda c: (c.created_at.ToDatetime(), c.id)).id)
            first, last = split_name(visitor.name)
            created = await self._stub.CreateClient(
                client_pb.CreateClientRequest(
                    first_name=first,
                    last_name=last,
                    email=visitor.email,
                    phone=visitor.phone,
                    default_region=terms.default_region,
                    request_id=f"{SOURCE}:{hashlib.sha256(visitor.email.encode()).hexdigest()}",
                    profile=client_pb.ClientProfile(source=SOURCE),
                    max_clients=terms.max_clients,
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "client") from exc
        return uuid.UUID(created.id)
