"""Blob storage adapters against real backends: a directory, and an S3 API (moto's server, as a process)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiobotocore.session import get_session

from client_svc.adapters.storage import AbstractBlobStorage, BlobNotFound, FilesystemBlobStorage, S3BlobStorage
from platform_dev import devstack
from platform_dev.testing.infra import TestInfra

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3_endpoint(infra: TestInfra) -> Iterator[str]:
    port = devstack.free_port()
    server = Path(sys.executable).parent / "moto_server"
    log = open(infra.tmp_dir / "moto.log", "ab")
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    try:
        devstack.wait_for_port("127.0.0.1", port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


async def _create_bucket(endpoint: str, bucket: str) -> None:
    async with get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ) as s3:
        await s3.create_bucket(Bucket=bucket)


@pytest.fixture(params=["filesystem", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AbstractBlobStorage:
    if request.param == "filesystem":
        return FilesystemBlobStorage(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"atrium-{uuid.uuid4().hex[:12]}"
    await _create_bucket(endpoint, bucket)
    return S3BlobStorage(
        bucket=bucket, endpoint_url=endpoint, region="us-east-1", access_key_id="test", secret_access_key="test"
    )


async def chunks(data: bytes, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read(storage: AbstractBlobStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.open(key)])


def key() -> str:
    return f"attachments/{uuid.uuid4()}/{uuid.uuid4()}/{uuid.uuid4()}"


async def test_small_and_large_blobs_come_back_byte_for_byte(storage: AbstractBlobStorage) -> None:
    small, large = key(), key()
    await storage.put(small, chunks(b"hello"))
    # Larger than one S3 part: stored by a multipart upload.
    data = bytes(range(256)) * (12 * MiB // 256) + b"tail"
    await storage.put(large, chunks(data))
    assert await read(storage, small) == b"hello"
    assert await read(storage, large) == data


async def test_a_failed_upload_leaves_nothing_and_missing_blobs_say_so(storage: AbstractBlobStorage) -> None:
    broken = key()

    async def failing() -> AsyncIterator[bytes]:
        yield b"x" * (9 * MiB)  # past the first S3 part
        raise RuntimeError("the client went away")

    with pytest.raises(RuntimeError):
        await storage.put(broken, failing())
    with pytest.raises(BlobNotFound):
        await read(storage, broken)
    if isinstance(storage, FilesystemBlobStorage):
        assert not [p for p in storage.root.rglob("*") if p.is_file()]


async def test_delete_removes_and_is_idempotent(storage: AbstractBlobStorage) -> None:
    gone = key()
    await storage.put(gone, chunks(b"bytes"))
    await storage.delete(gone)
    await storage.delete(gone)
    with pytest.raises(BlobNotFound):
        await read(storage, gone)


def test_keys_cannot_leave_the_root(tmp_path: Path) -> None:
    storage = FilesystemBlobStorage(tmp_path)
    for bad in ("../etc/passwd", "/abs", "a//b", "a/../../b", "UPPER"):
        with pytest.raises(ValueError):
            storage._path(bad)
