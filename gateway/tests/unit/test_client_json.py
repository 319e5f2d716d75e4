"""A client record as the API answers it: every field, written as protobuf's own JSON writer would write it."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from atrium.client.v1 import client_record_pb2 as record_pb
from atrium.client.v1 import client_service_pb2 as client_pb
from gateway.routes.clients import client_json, json_value

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=20),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _as_protobuf_writes_it(value: struct_pb2.Value) -> Any:
    plain = json_format.MessageToDict(value)
    return int(plain) if isinstance(plain, float) and plain.is_integer() else plain


@given(JSON_VALUES)
def test_a_custom_value_reads_as_protobufs_json_writer_writes_it(value: Any) -> None:
    message = json_format.ParseDict(value, struct_pb2.Value())
    written = json_value(message)
    assert written == _as_protobuf_writes_it(message)
    assert type(written) is type(_as_protobuf_writes_it(message))


def test_an_unset_value_is_null_and_a_number_json_cannot_hold_is_refused_as_protobuf_refuses_it() -> None:
    assert json_value(struct_pb2.Value()) is None
    for number in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValueError, match="Fail to serialize"):
            json_format.MessageToDict(struct_pb2.Value(number_value=number))
        with pytest.raises(ValueError, match="Fail to serialize"):
            json_value(struct_pb2.Value(number_value=number))


def test_every_field_of_a_client_is_written() -> None:
    client = client_pb.Client(
        id="0b9d6a52-54a5-4f43-9b8b-3d0f1c1e7a10",
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone="+14155550100",
        created_at=Timestamp(seconds=1_780_000_000, nanos=123_456_000),
        updated_at=Timestamp(seconds=1_780_000_100),
        online_booking_blocked=True,
        online_booking_blocked_until=Timestamp(seconds=1_790_000_000, nanos=500_000_000),
        deleted_at=Timestamp(seconds=1_780_000_200, nanos=1),
        version=7,
        status_id="5f0c7c0e-8a43-4d55-9c59-0d8f3f1f2a11",
        status_label="VIP",
        assigned_staff_ids=["a1", "a2"],
        group_staff_ids=["g1"],
        tags=["gold", "early"],
        profile=client_pb.ClientProfile(
            kind="company",
            company_name="Analytical Engines",
            address=client_pb.PostalAddress(
                line1="1 Main St", line2="", city="Springfield", region="IL", postal_code="62701", country="US"
            ),
            date_of_birth="1815-12-10",
            preferred_language="en",
            timezone="Europe/London",
            source="referral",
            default_invoicing_method="email",
        ),
        emails=[
            record_pb.ContactPoint(value="ada@example.com", label="work", primary=True),
            record_pb.ContactPoint(value="a@b.example", label="", primary=False),
        ],
        phones=[record_pb.ContactPoint(value="+14155550100", label="mobile", primary=True)],
        contact_persons=[record_pb.ContactPerson(name="Charles", role="partner", email="", phone="+14155550101")],
        custom_fields={
            "shoe_size": struct_pb2.Value(number_value=42.0),
            "height": struct_pb2.Value(number_value=1.65),
            "vegan": struct_pb2.Value(bool_value=True),
            "notes": struct_pb2.Value(string_value="likes tea"),
            "pets": json_format.ParseDict(["cat", 2], struct_pb2.Value()),
            "nothing": struct_pb2.Value(null_value=struct_pb2.NULL_VALUE),
        },
        merged_from="7a1f0c3e-0000-4000-8000-000000000001",
        erased_at=Timestamp(seconds=1_780_000_300, nanos=10_000),
    )
    client.profile.opening_balance.amount_minor = -1250
    client.profile.opening_balance.currency = "EUR"
    assert client_json(client) == {
        "id": "0b9d6a52-54a5-4f43-9b8b-3d0f1c1e7a10",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+14155550100",
        "created_at": "2026-05-28T20:26:40.123456Z",
        "updated_at": "2026-05-28T20:28:20Z",
        "online_booking_blocked": True,
        "online_booking_blocked_until": "2026-09-21T14:13:20.500Z",
        "deleted_at": "2026-05-28T20:30:00.000000001Z",
        "version": 7,
        "status_id": "5f0c7c0e-8a43-4d55-9c59-0d8f3f1f2a11",
        "status_label": "VIP",
        "assigned_staff_ids": ["a1", "a2"],
        "group_staff_ids": ["g1"],
        "tags": ["gold", "early"],
        "profile": {
            "kind": "company",
            "company_name": "Analytical Engines",
            "address": {
                "line1": "1 Main St",
                "line2": "",
                "city": "Springfield",
                "region": "IL",
                "postal_code": "62701",
                "country": "US",
            },
            "date_of_birth": "1815-12-10",
            "preferred_language": "en",
            "timezone": "Europe/London",
            "source": "referral",
            "default_invoicing_method": "email",
            "opening_balance": {"amount_minor": -1250, "currency": "EUR"},
        },
        "emails": [
            {"value": "ada@example.com", "label": "work", "primary": True},
            {"value": "a@b.example", "label": "other", "primary": False},
        ],
        "phones": [{"value": "+14155550100", "label": "mobile", "primary": True}],
        "contact_persons": [{"name": "Charles", "role": "partner", "email": None, "phone": "+14155550101"}],
        "custom_fields": {
            "shoe_size": 42,
            "height": 1.65,
            "vegan": True,
            "notes": "likes tea",
            "pets": ["cat", 2.0],
            "nothing": None,
        },
        "merged_from": "7a1f0c3e-0000-4000-8000-000000000001",
        "erased_at": "2026-05-28T20:31:40.000010Z",
    }
