"""The client service's unit of work."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from client_svc.adapters import event_mapping
from client_svc.adapters.attachment_repository import AbstractAttachmentRepository, SqlAlchemyAttachmentRepository
from client_svc.adapters.creation_inputs import (
    AbstractCreationInputs,
    CreationInputsCache,
    SqlAlchemyCreationInputs,
)
from client_svc.adapters.custom_field_repository import (
    AbstractCustomFieldRepository,
    SqlAlchemyCustomFieldRepository,
)
from client_svc.adapters.erasure_repository import AbstractErasureRepository, SqlAlchemyErasureRepository
from client_svc.adapters.merge_repository import AbstractMergeRepository, SqlAlchemyMergeRepository
from client_svc.adapters.portal_repository import AbstractPortalRepository, SqlAlchemyPortalRepository
from client_svc.adapters.repository import (
    AbstractClientQuota,
    AbstractClientRepository,
    AbstractGroupRepository,
    AbstractNoteRepository,
    AbstractStatusRepository,
    SqlAlchemyClientQuota,
    SqlAlchemyClientRepository,
    SqlAlchemyGroupRepository,
    SqlAlchemyNoteRepository,
    SqlAlchemyStatusRepository,
)
from client_svc.adapters.storage import AbstractBlobStorage
from client_svc.domain.attachments import AttachmentPolicy
from platform_core.errors import Conflict
from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork

DUPLICATE_REQUEST = "DUPLICATE_REQUEST"
PORTAL_RECORDED = "PORTAL_RECORDED"


class ClientUnitOfWork(AbstractUnitOfWork):
    """The client service's repositories and ports: everything a use case reaches, it reaches through here."""

    clients: AbstractClientRepository
    statuses: AbstractStatusRepository
    notes: AbstractNoteRepository
    groups: AbstractGroupRepository
    quota: AbstractClientQuota
    custom_fields: AbstractCustomFieldRepository
    creation_inputs: AbstractCreationInputs
    attachments: AbstractAttachmentRepository
    portal: AbstractPortalRepository
    merges: AbstractMergeRepository
    erasure: AbstractErasureRepository
    # Ports (given by bootstrap, the same for every transaction of the unit).
    storage: AbstractBlobStorage
    attachment_policy: AttachmentPolicy


class SqlAlchemyClientUnitOfWork(SqlAlchemyUnitOfWork, ClientUnitOfWork):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        nats_prefix: str,
        storage: AbstractBlobStorage,
        attachment_policy: AttachmentPolicy,
        creation_inputs: CreationInputsCache | None = None,
    ) -> None:
        super().__init__(sessions, nats_prefix=nats_prefix, to_envelope=event_mapping.to_envelope)
        self.storage = storage
        self.attachment_policy = attachment_policy
        # The replica's cache when given (bootstrap shares one), else this unit's own.
        self._creation_cache = creation_inputs or CreationInputsCache()

    def _attach(self, session: AsyncSession) -> None:
        self.clients = self._clients = SqlAlchemyClientRepository(session)
        self.statuses = SqlAlchemyStatusRepository(session)
        self.notes = SqlAlchemyNoteRepository(session)
        self.groups = SqlAlchemyGroupRepository(session)
        self.quota = self._quota = SqlAlchemyClientQuota(session)
        self.custom_fields = SqlAlchemyCustomFieldRepository(session)
        self.creation_inputs = self._creation_inputs = SqlAlchemyCreationInputs(session, self._creation_cache)
        self.attachments = SqlAlchemyAttachmentRepository(session)
        self.portal = SqlAlchemyPortalRepository(session)
        self.merges = SqlAlchemyMergeRepository(session)
        self.erasure = SqlAlchemyErasureRepository(session)
        self.repositories = (self.clients, self.notes, self.attachments, self.portal, self.merges)

    async def _last_writes(self) -> None:
        await self._creation_inputs.verify(await self._quota.apply())

    async def _commit(self, events: list[object]) -> None:
        try:
            await self._clients.write_search_keys()
            await super()._commit(events)
        except StaleDataError as exc:
            raise Conflict(
                "the client was changed by someone else at the same time; reload it and try again",
                reason="CONCURRENT_CHANGE",
            ) from exc
        except IntegrityError as exc:
            # The schema is the last line of defence; its refusals become domain conflicts.
            if "client_statuses_live_label" in str(exc.orig):
                raise Conflict("a status with this name already exists", reason="STATUS_LABEL_TAKEN") from exc
            if "client_custom_fields_key" in str(exc.orig):
                raise Conflict("a custom field with this key exists", reason="CUSTOM_FIELD_KEY_TAKEN") from exc
            if "client_custom_fields_live_label" in str(exc.orig):
                raise Conflict("a custom field with this label exists", reason="CUSTOM_FIELD_LABEL_TAKEN") from exc
            if "client_portal_log_pkey" in str(exc.orig):
                raise Conflict("this portal change was recorded already", reason=PORTAL_RECORDED) from exc
            if "clients_request_id" in str(exc.orig):
                raise Conflict("a client was already created with this request id", reason=DUPLICATE_REQUEST) from exc
            raise
