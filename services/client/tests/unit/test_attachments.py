"""Attachment rules: the type comes from the bytes, limits hold as bytes arrive, portal visibility, events."""

import uuid
from datetime import UTC, datetime

import pytest

from client_svc.domain.attachments import (
    DOCX,
    SNIFF_BYTES,
    Attachment,
    AttachmentAdded,
    AttachmentChanged,
    AttachmentDeleted,
    AttachmentPolicy,
    AttachmentTooLarge,
    Receipt,
    UnsupportedMediaType,
    clean_filename,
    sniff,
)
from platform_core.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
PDF = b"%PDF-1.7\n" + b"0" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
POLICY = AttachmentPolicy(max_bytes=1000)


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (b"PK\x03\x04" + b"\x00" * 26 + b"word/document.xml", DOCX),
        (b"PK\x03\x04" + b"\x00" * 26 + b"data.bin", "application/zip"),
        (b"name,email\nAda,ada@example.com\n", "text/plain"),
        ("café ".encode()[:-2], "text/plain"),  # a multi-byte character cut at the end of the head
        (b"MZ\x90\x00\x03\x00\x00\x00", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_the_type_is_sniffed_from_the_first_bytes(head: bytes, media_type: str) -> None:
    assert sniff(head) == media_type


def receive(data: bytes, declared: str = "", policy: AttachmentPolicy = POLICY, chunk: int = 7) -> Receipt:
    receipt = Receipt(policy, declared)
    for start in range(0, len(data), chunk):
        receipt.take(data[start : start + chunk])
    return receipt


def test_a_receipt_counts_hashes_and_types_the_whole_file() -> None:
    import hashlib

    size, sha256, media_type = receive(PDF, "application/pdf; name=x.pdf").finish()
    assert (size, sha256, media_type) == (len(PDF), hashlib.sha256(PDF).hexdigest(), "application/pdf")


def test_a_file_over_the_limit_is_refused_as_soon_as_it_passes_it() -> None:
    receipt = Receipt(POLICY, "")
    receipt.take(b"x" * 1000)
    with pytest.raises(AttachmentTooLarge) as exc:
        receipt.take(b"x")
    assert exc.value.reason == "ATTACHMENT_TOO_LARGE"


def test_a_claim_the_bytes_contradict_is_invalid_and_an_unaccepted_type_unsupported() -> None:
    with pytest.raises(InvalidArgument) as exc:
        receive(PNG, "application/pdf").finish()
    assert not isinstance(exc.value, UnsupportedMediaType)
    assert exc.value.violations[0].field == "content_type"
    with pytest.raises(UnsupportedMediaType) as unsupported:
        receive(b"MZ\x90\x00" * 10, "application/x-msdownload").finish()
    assert unsupported.value.reason == "UNSUPPORTED_MEDIA_TYPE"
    with pytest.raises(UnsupportedMediaType):
        receive(PNG, policy=AttachmentPolicy(1000, frozenset({"application/pdf"}))).finish()


def test_containers_may_carry_a_compatible_claim() -> None:
    zipped = b"PK\x03\x04" + b"\x00" * 100
    assert receive(zipped, DOCX).finish()[2] == DOCX
    assert receive(b"a,b\n1,2\n", "text/csv").finish()[2] == "text/csv"
    assert receive(b"a,b\n1,2\n", "application/octet-stream").finish()[2] == "text/plain"


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(InvalidArgument) as exc:
        Receipt(POLICY, "").finish()
    assert exc.value.violations[0].field == "file"


def test_sniffing_waits_for_enough_bytes() -> None:
    receipt = Receipt(AttachmentPolicy(10 * SNIFF_BYTES), "")
    receipt.take(PDF)
    assert not receipt.sniffable
    receipt.take(b"0" * SNIFF_BYTES)
    assert receipt.sniffable and receipt.content_type() == "application/pdf"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("report.pdf", "report.pdf"), ("C:\\Users\\a\\scan 1.png", "scan 1.png"), ("../x\n.txt", "x.txt")],
)
def test_filenames_lose_paths_and_control_characters(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


@pytest.mark.parametrize("raw", ["", "  ", "dir/", "..", "x" * 256])
def test_filenames_that_say_nothing_or_too_much_are_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument):
        clean_filename(raw)


def attachment(shared: bool = False) -> Attachment:
    return Attachment.record(
        tenant_id=uuid.uuid4(),
        attachment_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        filename="scan.pdf",
        receipt=receive(PDF),
        shared_with_client=shared,
        uploaded_by="staff-1",
        now=NOW,
    )


def test_recording_changing_and_deleting_raise_events() -> None:
    file = attachment()
    assert file.storage_key == f"attachments/{file.tenant_id}/{file.client_id}/{file.id}"
    file.change(filename="scan.pdf", shared_with_client=True, now=NOW)
    file.change(filename=None, shared_with_client=True, now=NOW)  # nothing changes: no event
    file.delete(now=NOW)
    added, changed, deleted = file.events
    assert isinstance(added, AttachmentAdded) and added.size_bytes == len(PDF)
    assert isinstance(changed, AttachmentChanged) and changed.changed_fields == ("shared_with_client",)
    assert isinstance(deleted, AttachmentDeleted)
    with pytest.raises(FailedPrecondition):
        file.change(filename="x.pdf", shared_with_client=None, now=NOW)


def test_the_portal_sees_only_its_own_shared_live_attachments() -> None:
    file = attachment(shared=False)
    own = str(file.client_id)
    assert file.visible_to(portal_client_id=None)
    assert not file.visible_to(portal_client_id=own)
    file.change(filename=None, shared_with_client=True, now=NOW)
    assert file.visible_to(portal_client_id=own)
    assert not file.visible_to(portal_client_id=str(uuid.uuid4()))
    file.delete(now=NOW)
    assert not file.visible_to(portal_client_id=own) and not file.visible_to(portal_client_id=None)


def test_settings_give_the_policy_and_s3_needs_a_bucket() -> None:
    from pydantic import ValidationError

    from client_svc.bootstrap import blob_storage
    from client_svc.config import ClientSettings

    db = "postgresql://u:p@localhost/c"
    settings = ClientSettings(
        client_database_url=db, attachment_max_bytes=5, attachment_content_types=" Application/PDF , image/png,"
    )
    assert settings.attachment_policy() == AttachmentPolicy(5, frozenset({"application/pdf", "image/png"}))
    with pytest.raises(ValidationError):
        ClientSettings(client_database_url=db, blob_storage="s3")
    s3 = ClientSettings(
        client_database_url=db, blob_storage="s3", s3_bucket="files", s3_endpoint_url="http://minio:9000"
    )
    assert type(blob_storage(s3)).__name__ == "S3BlobStorage"
    assert type(blob_storage(settings)).__name__ == "FilesystemBlobStorage"
