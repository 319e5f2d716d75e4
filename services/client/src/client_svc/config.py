from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator

from client_svc.domain.attachments import DEFAULT_CONTENT_TYPES, AttachmentPolicy
from platform_core.config import ServiceSettings


class ClientSettings(ServiceSettings):
    unit: ClassVar[str] = "client"

    # How often ended online-booking blocks are lifted, and how many per transaction.
    booking_block_sweep_interval_seconds: float = Field(default=60.0, gt=0)
    booking_block_sweep_batch_size: int = Field(default=200, ge=1, le=10_000)
    # Attachments: the largest file accepted, and the media types accepted (comma-separated; sniffed).
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=2 * 1024**3)
    attachment_content_types: str = ",".join(DEFAULT_CONTENT_TYPES)
    # Where attachment bytes go: a directory (development, one machine) or an S3-compatible bucket.
    blob_storage: Literal["filesystem", "s3"] = "filesystem"
    blob_dir: str = ".atrium/blobs"
    s3_bucket: str = ""
    # Empty: AWS itself; otherwise the store's URL (MinIO, Ceph, R2...).
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    # Empty: the usual AWS credential chain (instance role, AWS_* variables).
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr | None = None

    @model_validator(mode="after")
    def _storage_complete(self) -> ClientSettings:
        if self.blob_storage == "s3" and not self.s3_bucket:
            raise ValueError("ATRIUM_S3_BUCKET is required when ATRIUM_BLOB_STORAGE is s3")
        if not self.attachment_policy().content_types:
            raise ValueError("ATRIUM_ATTACHMENT_CONTENT_TYPES names no media type")
        return self

    def attachment_policy(self) -> AttachmentPolicy:
        types = frozenset(t.strip().lower() for t in self.attachment_content_types.split(",") if t.strip())
        return AttachmentPolicy(self.attachment_max_bytes, types)

    # Client imports: the largest file taken (the gateway reads the same variable), rows per transaction, and
    # where an XLSX being read is spooled (for the length of one read; the uploaded file lives in the database).
    client_import_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    import_batch_rows: int = Field(default=1000, ge=1, le=10_000)
    # Processes that check an import's emails and phones (0: one per core of the machine).
    import_workers: int = Field(default=0, ge=0, le=64)
    import_tmp_dir: str | None = None
    import_retention_days: int = Field(default=30, ge=1, le=3650)
