"""What the audit log keeps: no secrets, and the record an operation changes."""

from gateway.api import Operation
from gateway.audit import REDACTED, _cell, record_of, redact


async def _handler() -> None:
    return None


def op(method: str, path: str) -> Operation:
    return Operation(method, path, _handler, "x", "x", "staff", permission="clients.write")


def test_passwords_tokens_secrets_and_links_carrying_them_never_reach_the_log() -> None:
    sent = {
        "email": "a@example.com",
        "password": "hunter22hunter",
        "nested": [{"refresh_token": "r", "api": {"secret": "s", "name": "kept"}}],
        "current_password": "x",
        "accept_url": "https://x/#token=t",
        "otpauth_uri": "otpauth://totp/a?secret=S",
    }
    assert redact(sent) == {
        "email": "a@example.com",
        "password": REDACTED,
        "nested": [{"refresh_token": REDACTED, "api": {"secret": REDACTED, "name": "kept"}}],
        "current_password": REDACTED,
        "accept_url": REDACTED,
        "otpauth_uri": REDACTED,
    }


def test_the_record_is_the_resource_the_path_names_last() -> None:
    assert record_of(op("POST", "/api/v1/clients")) == "clients"
    assert record_of(op("PATCH", "/api/v1/clients/{client_id}")) == "clients"
    assert record_of(op("POST", "/api/v1/clients/{client_id}/notes")) == "clients"
    assert record_of(op("PATCH", "/api/v1/clients/{client_id}/notes/{note_id}")) == "notes"
    assert record_of(op("POST", "/api/v1/webhook-endpoints/{endpoint_id}/test")) == "webhook_endpoints"


def test_csv_cells_a_spreadsheet_would_run_are_written_as_text() -> None:
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("+1") == "'+1" and _cell("@x") == "'@x" and _cell("-2") == "'-2"
    assert _cell("plain") == "plain" and _cell(None) == "" and _cell({"a": 1}) == '{"a": 1}'
