"""The client service, as this service asks it about a client: may it ask for appointments (at submit time,
authoritatively), how staff know and reach it, and its answers to the booking request form.

Each call carries the caller's tenant and principal (the channel's interceptor copies them).
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2

from atrium.client.v1 import client_service_pb2 as client_pb
from atrium.client.v1.client_service_pb2_grpc import ClientRecordsStub, CustomFieldsStub
from client_contract.lookup import ClientFacts, find_client
from platform_core import errors
from portal_requests_svc.adapters.grpc_errors import domain_error

BOOKING_REQUEST_FORM = "booking_request"  # the client service's name of the form


@dataclass(frozen=True)
class RequestingClient:
    """What a request needs of its client: may it ask (facts), and how staff know and reach it."""

    facts: ClientFacts
    name: str
    email: str
    phone: str


class AbstractClientDirectory(abc.ABC):
    @abc.abstractmethod
    async def lookup(self, client_id: uuid.UUID) -> RequestingClient | None:
        """The client in the caller's tenant, or None when it has no such client."""

    @abc.abstractmethod
    async def answer_booking_form(self, client_id: uuid.UUID, answers: Mapping[str, Any], region: str) -> None:
        """Store the client's answers to the booking request form (national phone numbers read in ``region``);
        InvalidArgument (fields ``answers.<key>``) when one breaks its field's rules or a required one is missing."""

    @abc.abstractmethod
    async def check_booking_form(self, answers: Mapping[str, Any], region: str) -> dict[str, Any]:
        """Check answers to the booking request form as a new client's (every required one given), storing
        nothing; InvalidArgument (fields ``answers.<key>``) like ``answer_booking_form``. Answers them as the
        client record would keep them (phone numbers read in ``region``), so storing them later needs no region."""


class GrpcClientDirectory(AbstractClientDirectory):
    def __init__(self, records: ClientRecordsStub, custom_fields: CustomFieldsStub) -> None:
        self._stub = records
        self._custom_fields = custom_fields

    async def lookup(self, client_id: uuid.UUID) -> RequestingClient | None:
        client = await find_client(self._stub, client_id)
        if client is None:
            return None
        name = " ".join(n for n in (client.first_name, client.last_name) if n) or client.profile.company_name
        return RequestingClient(ClientFacts.of(client), name, client.email, client.phone)

    async def answer_booking_form(self, client_id: uuid.UUID, answers: Mapping[str, Any], region: str) -> None:
        request = client_pb.UpdateClientRequest(
            id=str(client_id), form=BOOKING_REQUEST_FORM, custom_fields=_values(answers), default_region=region
        )
        try:
            await self._stub.UpdateClient(request)
        except grpc.aio.AioRpcError as exc:
            raise _answers_error(exc) from exc

    async def check_booking_form(self, answers: Mapping[str, Any], region: str) -> dict[str, Any]:
        request = client_pb.CheckFormAnswersRequest(
            form=BOOKING_REQUEST_FORM, custom_fields=_values(answers), default_region=region
        )
        try:
            checked = await self._custom_fields.CheckFormAnswers(request)
        except grpc.aio.AioRpcError as exc:
            raise _answers_error(exc) from exc
        return {key: json_format.MessageToDict(value) for key, value in checked.custom_fields.items()}


def _values(answers: Mapping[str, Any]) -> dict[str, struct_pb2.Value]:
    return {key: json_format.ParseDict(value, struct_pb2.Value()) for key, value in answers.items()}


def _answers_error(exc: grpc.aio.AioRpcError) -> Exception:
    """The client service's refusal of form answers; its ``custom_fields.<key>`` are this API's answers."""
    error = domain_error(exc, "client")
    if isinstance(error, errors.InvalidArgument):
        return errors.InvalidArgument(
            [
                errors.FieldViolation(v.field.replace("custom_fields.", "answers.", 1), v.message)
                for v in error.violations
            ],
            error.message,
        )
    return error
