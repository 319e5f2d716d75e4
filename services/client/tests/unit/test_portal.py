"""Portal invitations and access changes: validated, recorded once per caller id, each with its event."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from client_svc.domain import commands, commands_portal
from client_svc.domain.commands_portal import IssueInvitation
from client_svc.domain.portal import PortalAccessChanged, PortalInvitationIssued, PortalRecord
from client_svc.service_layer import handlers, portal_handlers
from platform_core.errors import FailedPrecondition, InvalidArgument, NotFound

from .fakes import FakeClientUnitOfWork

TENANT = uuid.uuid4()
LINK = "https://studio.example/portal/accept-invitation#token=secret"
NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


async def a_client(uow: FakeClientUnitOfWork) -> uuid.UUID:
    created = await handlers.create_client(
        commands.CreateClient(TENANT, first_name="Ada", last_name="Lovelace", now=NOW), uow
    )
    return created.client.id


def invitation(client_id: uuid.UUID, **overrides: object) -> IssueInvitation:
    values: dict[str, object] = {
        "tenant_id": TENANT,
        "invitation_id": uuid.uuid4(),
        "client_id": client_id,
        "email": "Ada@Example.COM",
        "accept_url": LINK,
        "expires_at": NOW + timedelta(days=3),
        "business_name": "  Zen   Studio ",
    }
    return IssueInvitation(**(values | overrides), now=NOW)  # type: ignore[arg-type]


async def test_an_invitation_is_recorded_once_with_the_link_on_its_event_only(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    uow.published.clear()
    cmd = invitation(client_id)
    assert await portal_handlers.record_invitation(cmd, uow)
    assert not await portal_handlers.record_invitation(cmd, uow)
    [event] = uow.published
    assert isinstance(event, PortalInvitationIssued)
    assert (event.email, event.accept_url, event.business_name) == ("Ada@example.com", LINK, "Zen Studio")
    assert (event.client_first_name, event.client_last_name) == ("Ada", "Lovelace")
    [record] = uow.portal.rows.values()
    assert (record.kind, record.email) == ("invitation", "Ada@example.com")
    assert not any(LINK in str(value) for value in vars(record).values() if not isinstance(value, list))


async def test_a_bad_invitation_names_its_fields_and_a_deleted_client_cannot_be_invited(
    uow: FakeClientUnitOfWork,
) -> None:
    client_id = await a_client(uow)
    bad = invitation(client_id, email="nope", accept_url="javascript:alert(1)", expires_at=NOW)
    with pytest.raises(InvalidArgument) as exc:
        await portal_handlers.record_invitation(bad, uow)
    assert {v.field for v in exc.value.violations} == {"email", "accept_url", "expires_at"}
    with pytest.raises(NotFound):
        await portal_handlers.record_invitation(invitation(uuid.uuid4()), uow)
    await handlers.delete_client(commands.DeleteClient(TENANT, client_id, now=NOW), uow)
    with pytest.raises(FailedPrecondition):
        await portal_handlers.record_invitation(invitation(client_id), uow)


async def test_access_changes_raise_granted_or_revoked_once_per_change_id(uow: FakeClientUnitOfWork) -> None:
    client_id = await a_client(uow)
    uow.published.clear()
    change = uuid.uuid4()

    def access(change_id: uuid.UUID, enabled: bool) -> commands_portal.ChangePortalAccess:
        return commands_portal.ChangePortalAccess(TENANT, change_id, client_id, enabled, now=NOW)

    assert await portal_handlers.record_access_change(access(change, False), uow)
    assert not await portal_handlers.record_access_change(access(change, False), uow)
    assert await portal_handlers.record_access_change(access(uuid.uuid4(), True), uow)
    assert [(type(e), e.enabled) for e in uow.published] == [(PortalAccessChanged, False), (PortalAccessChanged, True)]
    kinds = sorted(r.kind for r in uow.portal.rows.values())
    assert kinds == ["access_granted", "access_revoked"]
    assert isinstance(next(iter(uow.portal.rows.values())), PortalRecord)
