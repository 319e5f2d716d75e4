"""Blob storage for attachment bytes: a directory for development, any S3-compatible store for deployment.

Keys are made by the domain (``attachments/<tenant>/<client>/<id>``); a blob is written whole or not at
all (a temporary file renamed into place; an S3 multipart upload completed only at the end). Blobs are
opaque bytes: what they are (media type, name, checksum) is in the client database.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

READ_CHUNK = 64 * 1024
# S3 parts must be at least 5 MiB (but the last).
S3_PART_SIZE = 8 * 1024 * 1024
_KEY = re.compile(r"^[a-z0-9][a-z0-9/_-]*$")


class BlobNotFound(Exception):
    pass


def _checked(key: str) -> str:
    if not _KEY.match(key) or ".." in key or "//" in key:
        raise ValueError(f"not a blob key: {key!r}")
    return key


class AbstractBlobStorage(abc.ABC):
    @abc.abstractmethod
    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        """Store the bytes under ``key``; if ``chunks`` raises, nothing is left behind."""

    @abc.abstractmethod
    def open(self, key: str) -> AsyncIterator[bytes]:
        """The bytes under ``key`` in chunks; BlobNotFound when there are none."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the bytes (no error when there are none)."""


class FilesystemBlobStorage(AbstractBlobStorage):
    """Blobs as files under a root directory (one machine: development, tests). File I/O runs off the loop."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        handle = await asyncio.to_thread(open, partial, "wb")
        try:
            async for chunk in chunks:
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(handle.flush)
            await asyncio.to_thread(os.fsync, handle.fileno())
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, partial, path)
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        try:
            while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3BlobStorage(AbstractBlobStorage):
    """An S3 bucket (AWS, MinIO, Ceph, R2...). A client per operation: attachments are not a hot path, and
    nothing is held open between calls."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        part_size: int = S3_PART_SIZE,
    ) -> None:
        self.bucket = bucket
        self._part_size = part_size
        self._options: dict[str, Any] = {
            "region_name": region,
            "endpoint_url": endpoint_url or None,
            "aws_access_key_id": access_key_id or None,
            "aws_secret_access_key": secret_access_key or None,
            "config": Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3, "mode": "standard"}),
        }

    def _client(self) -> Any:
        return get_session().create_client("s3", **self._options)

    async def put(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        _checked(key)
        async with self._client() as s3:
            buffer = bytearray()
            upload_id: str | None = None
            parts: list[dict[str, Any]] = []
            try:
                async for chunk in chunks:
                    buffer += chunk
                    while len(buffer) >= self._part_size:
                        if upload_id is None:
                            started = await s3.create_multipart_upload(Bucket=self.bucket, Key=key)
                            upload_id = started["UploadId"]
                        body, buffer = bytes(buffer[: self._part_size]), buffer[self._part_size :]
                        part = await s3.upload_part(
                            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=len(parts) + 1, Body=body
                        )
                        parts.append({"PartNumber": len(parts) + 1, "ETag": part["ETag"]})
                if upload_id is None:
                    await s3.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer))
                    return
                if buffer:
                    part = await s3.upload_part(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=len(parts) + 1, Body=bytes(buffer)
                    )
                    parts.append({"PartNumber": len(parts) + 1, "ETag": part["ETag"]})
                await s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
            except BaseException:
                if upload_id is not None:
                    with contextlib.suppress(Exception):
                        await s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
                raise

    async def open(self, key: str) -> AsyncIterator[bytes]:
        _checked(key)
        async with self._client() as s3:
            try:
                response = await s3.get_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise BlobNotFound(key) from exc
                raise
            async with response["Body"] as body:
                while chunk := await body.read(READ_CHUNK):
                    yield chunk

    async def delete(self, key: str) -> None:
        async with self._client() as s3:
            await s3.delete_object(Bucket=self.bucket, Key=_checked(key))
