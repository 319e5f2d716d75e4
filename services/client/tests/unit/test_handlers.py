import uuid

import pytest

from client_svc.domain import commands, events
from client_svc.service_layer import handlers
from client_svc.service_layer.unit_of_work import ClientUnitOfWork
from platform_core.errors import InvalidArgument

TENANT = uuid.uuid4()


async def test_create_client_commits_the_client_and_its_event(uow: ClientUnitOfWork) -> None:
    created = await handlers.create_client(commands.CreateClient(tenant_id=TENANT, first_name="Grace"), uow)
    client = created.client
    assert created.status_label == "Active"  # the default of the ready-made statuses
    assert uow.committed
    assert await uow.clients.get(TENANT, client.id) is client
    assert [type(e) for e in uow.published] == [events.ClientCreated]


async def test_the_same_request_id_returns_the_first_client_and_publishes_once(uow: ClientUnitOfWork) -> None:
    cmd = commands.CreateClient(tenant_id=TENANT, first_name="Grace", request_id="req-1")
    first = (await handlers.create_client(cmd, uow)).client
    again = (await handlers.create_client(cmd, uow)).client
    assert again.id == first.id
    assert len(uow.clients.rows) == 1
    assert len(uow.published) == 1


async def test_invalid_input_commits_nothing(uow: ClientUnitOfWork) -> None:
    with pytest.raises(InvalidArgument):
        await handlers.create_client(commands.CreateClient(tenant_id=TENANT, first_name=""), uow)
    assert not uow.committed
    assert uow.clients.rows == {}
