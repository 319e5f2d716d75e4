"""Composition root of the client service: the only place that wires adapters to use cases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from atrium.client.v1 import client_service_pb2_grpc as pb_grpc
from client_svc.adapters import tables
from client_svc.adapters.contact_checks import ProcessPoolContactChecks, machine_cores
from client_svc.adapters.creation_inputs import CreationInputsCache
from client_svc.adapters.custom_field_columns import CustomFieldColumns
from client_svc.adapters.storage import AbstractBlobStorage, FilesystemBlobStorage, S3BlobStorage
from client_svc.config import ClientSettings
from client_svc.entrypoints import (
    attachments_grpc,
    custom_fields_grpc,
    grpc_imports,
    grpc_merges,
    grpc_server,
    portal_grpc,
)
from client_svc.entrypoints.block_sweeper import BookingBlockSweeper
from client_svc.entrypoints.import_worker import ImportWorker
from client_svc.service_layer.import_unit_of_work import AsyncpgImportUnitOfWork, ImportSettings
from client_svc.service_layer.unit_of_work import SqlAlchemyClientUnitOfWork
from platform_core.service import Runtime, ServiceParts


def blob_storage(settings: ClientSettings) -> AbstractBlobStorage:
    if settings.blob_storage == "s3":
        secret = settings.s3_secret_access_key
        return S3BlobStorage(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
    return FilesystemBlobStorage(Path(settings.blob_dir))


def unit_of_work_factory(
    sessions: async_sessionmaker[AsyncSession], settings: ClientSettings
) -> Callable[[], SqlAlchemyClientUnitOfWork]:
    """A fresh unit of work per use, with the ports every unit shares (blob storage, the attachment policy)."""
    storage = blob_storage(settings)
    attachment_policy = settings.attachment_policy()
    creation_inputs = CreationInputsCache()

    def uow_factory() -> SqlAlchemyClientUnitOfWork:
        return SqlAlchemyClientUnitOfWork(
            sessions,
            nats_prefix=settings.nats_prefix,
            storage=storage,
            attachment_policy=attachment_policy,
            creation_inputs=creation_inputs,
        )

    return uow_factory


def build(runtime: Runtime) -> ServiceParts:
    tables.start_mappers()
    settings = runtime.settings
    assert isinstance(settings, ClientSettings)
    prefix = settings.nats_prefix
    uow_factory = unit_of_work_factory(runtime.sessions, settings)

    import_settings = ImportSettings(
        max_file_bytes=settings.client_import_max_bytes,
        batch_rows=settings.import_batch_rows,
        tmp_dir=settings.import_tmp_dir,
        retention_days=settings.import_retention_days,
    )

    # Spawned at the first import, stopped with the worker.
    contact_checks = ProcessPoolContactChecks(settings.import_workers or machine_cores())

    def import_uow() -> AsyncpgImportUnitOfWork:
        return AsyncpgImportUnitOfWork(
            runtime.engine,
            nats_prefix=prefix,
            settings=import_settings,
            client_uow=uow_factory,
            # Columns beyond the client record's own fields: the tenant's custom fields.
            extensions=(CustomFieldColumns,),
            on_queued=worker.wake,  # a queued job wakes this replica's worker (defined below, before any call)
            contact_checks=contact_checks,
        )

    worker = ImportWorker(import_uow, on_stop=contact_checks.close)
    engine = runtime.read_engine
    return ServiceParts(
        servicers=[
            (
                pb_grpc.add_ClientRecordsServicer_to_server,
                grpc_server.ClientRecordsServicer(uow_factory=uow_factory, engine=engine),
                grpc_server.SERVICE_NAME,
            ),
            (
                pb_grpc.add_CustomFieldsServicer_to_server,
                custom_fields_grpc.CustomFieldsServicer(uow_factory=uow_factory),
                custom_fields_grpc.SERVICE_NAME,
            ),
            (
                pb_grpc.add_ClientAttachmentsServicer_to_server,
                attachments_grpc.ClientAttachmentsServicer(uow_factory=uow_factory),
                attachments_grpc.SERVICE_NAME,
            ),
            (
                pb_grpc.add_ClientPortalServicer_to_server,
                portal_grpc.ClientPortalServicer(uow_factory=uow_factory),
                portal_grpc.SERVICE_NAME,
            ),
            (
                pb_grpc.add_ClientImportsServicer_to_server,
                grpc_imports.ClientImportsServicer(import_uow=import_uow, engine=engine),
                grpc_imports.SERVICE_NAME,
            ),
            (
                pb_grpc.add_ClientMergesServicer_to_server,
                grpc_merges.ClientMergesServicer(uow_factory=uow_factory, engine=engine),
                grpc_merges.SERVICE_NAME,
            ),
        ],
        workers=[
            worker,
            BookingBlockSweeper(
                uow_factory,
                interval_seconds=settings.booking_block_sweep_interval_seconds,
                batch_size=settings.booking_block_sweep_batch_size,
            ),
        ],
    )
