"""Composition root of the client service: the only place that wires adapters to use cases."""

from __future__ import annotations

from atrium.client.v1 import client_service_pb2_grpc
from client_svc.adapters import orm
from client_svc.entrypoints.grpc_server import SERVICE_NAME, ClientServicer
from client_svc.service_layer.unit_of_work import SqlAlchemyClientUnitOfWork
from platform_core.service import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    orm.start_mappers()
    prefix = runtime.settings.nats_prefix
    servicer = ClientServicer(
        uow_factory=lambda: SqlAlchemyClientUnitOfWork(runtime.sessions, nats_prefix=prefix),
        engine=runtime.read_engine,
    )
    return ServiceParts(
        servicers=[(client_service_pb2_grpc.add_ClientServiceServicer_to_server, servicer, SERVICE_NAME)]
    )
