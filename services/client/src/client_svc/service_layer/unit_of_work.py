"""The client service's unit of work."""

from __future__ import annotations

import asyncpg
from sqlalchemy import Connection, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.exc import StaleDataError

from client_svc.adapters import event_mapping
from client_svc.adapters.attachment_repository import AbstractAttachmentRepository, SqlAlchemyAttachmentRepository
from client_svc.adapters.client_insert import insert_client
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
    over_plan,
)
from client_svc.adapters.storage import AbstractBlobStorage
from client_svc.domain.attachments import AttachmentPolicy
from client_svc.domain.model import Client
from platform_core.errors import Conflict
from platform_core.messaging.outbox import PendingEvent, outbox_rows, publisher_of
from platform_core.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork

DUPLICATE_REQUEST = "DUPLICATE_REQUEST"
# Set in a session's info once it has begun a transaction on a connection (read or wrote anything).
_CONNECTED = "client_svc.connected"


@event.listens_for(Session, "after_begin")
def _connected(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    session.info[_CONNECTED] = True


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
        lone = self._lone_new_client()
        if lone is not None:
            await self._insert_lone_client(*lone, events)
            return
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

    def _lone_new_client(self) -> tuple[Client, int | None] | None:
        """The unit's one new client and the plan limit it is counted against, when that client, its count and
        its events are all the unit writes and its session never took a connection (the inputs came from the
        replica's cache): it is then written in one statement that commits on its own (adapters/client_insert.py)."""
        if self._borrowed is not None or self.session.info.get(_CONNECTED) or len(self._clients.seen) != 1:
            return None
        if any(repository.seen for repository in self.repositories if repository is not self._clients):
            return None
        (client,) = self._clients.seen
        pending = self._quota.pending
        if client.tag_rows or client.assignments or len(pending) != 1 or pending[0][:2] != (client.tenant_id, 1):
            return None
        if set(self._creation_inputs.relied_on) - {client.tenant_id}:
            return None
        rows = {client, *client.contact_points, *client.contact_persons, *client.custom_values}
        if client not in self.session.new or any(row not in rows for row in self.session.new):
            return None
        if self.session.dirty or self.session.deleted:
            return None
        return client, pending[0][2]

    async def _insert_lone_client(self, client: Client, max_clients: int | None, events: list[object]) -> None:
        envelopes = [self._to_envelope(e) for e in events]
        written = [PendingEvent(r[0], r[2], r[3]) for r in outbox_rows(self._nats_prefix, envelopes)]
        publisher = publisher_of(self.session)
        engine = self.session.bind
        assert isinstance(engine, AsyncEngine)
        try:
            async with engine.connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                inserted = await insert_client(
                    driver,
                    client,
                    catalogue_version=self._creation_inputs.relied_on.get(client.tenant_id),
                    max_clients=max_clients,
                    events=written,
                    events_taken=publisher is not None,
                )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "clients_request_id":
                raise Conflict("a client was already created with this request id", reason=DUPLICATE_REQUEST) from exc
            raise
        except asyncpg.CheckViolationError as exc:
            if exc.constraint_name == "tenant_client_counts_within_plan":
                raise over_plan(max_clients) from exc
            raise
        if not inserted.created:
            self._creation_inputs.refuse_stale(client.tenant_id)
        self._creation_inputs.relied_on.clear()
        self._quota.written_elsewhere()
        self.session.expunge_all()  # written without the session: nothing of it is left to flush
        if publisher is not None:
            publisher.hand_over(written)
            await publisher.send_handed_over()
