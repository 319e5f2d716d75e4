"""Composition root of the client service: the only place that wires adapters to use cases."""

from __future__ import annotations

from atrium.client.v1 import client_service_pb2_grpc
from client_svc.adapters import orm
from client_svc.adapters.import_store import ImportStore
from client_svc.config import ClientSettings
from client_svc.entrypoints.grpc_server import SERVICE_NAME, ClientServicer
from client_svc.entrypoints.import_worker import ImportWorker
from client_svc.service_layer.imports import ImportService, ImportSettings
from client_svc.service_layer.unit_of_work import SqlAlchemyClientUnitOfWork
from platform_core.service import Runtime, ServiceParts


def build(runtime: Runtime) -> ServiceParts:
    orm.start_mappers()
    prefix = runtime.settings.nats_prefix
    settings = runtime.settings
    assert isinstance(settings, ClientSettings)

    def uow_factory() -> SqlAlchemyClientUnitOfWork:
        return SqlAlchemyClientUnitOfWork(runtime.sessions, nats_prefix=prefix)

    imports = ImportService(
        ImportStore(runtime.engine, nats_prefix=prefix),
        uow_factory,
        ImportSettings(
            max_file_bytes=settings.client_import_max_bytes,
            batch_rows=settings.import_batch_rows,
            tmp_dir=settings.import_tmp_dir,
            retention_days=settings.import_retention_days,
        ),
        # Custom fields and secondary contacts plug their import/export columns in here (ColumnExtension).
        extensions=(),
    )
    worker = ImportWorker(imports)
    imports.on_queued = worker.wake
    servicer = ClientServicer(uow_factory=uow_factory, engine=runtime.read_engine, imports=imports)
    return ServiceParts(
        servicers=[(client_service_pb2_grpc.add_ClientServiceServicer_to_server, servicer, SERVICE_NAME)],
        workers=[worker],
    )
