import pytest

from .fakes import FakeClientUnitOfWork


@pytest.fixture
def uow() -> FakeClientUnitOfWork:
    return FakeClientUnitOfWork()
