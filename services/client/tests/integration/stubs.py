"""Every capability service of the client service on one channel, for tests that exercise several."""

from __future__ import annotations

import grpc

from atrium.client.v1 import client_service_pb2 as pb
from atrium.client.v1 import client_service_pb2_grpc as pb_grpc

# The full names the service registers (health and reflection list each).
SERVICE_NAMES = tuple(service.full_name for service in pb.DESCRIPTOR.services_by_name.values())


class ClientStubs(
    pb_grpc.ClientRecordsStub,
    pb_grpc.CustomFieldsStub,
    pb_grpc.ClientAttachmentsStub,
    pb_grpc.ClientPortalStub,
    pb_grpc.ClientImportsStub,
    pb_grpc.ClientMergesStub,
):
    def __init__(self, channel: grpc.aio.Channel) -> None:
        for stub in ClientStubs.__bases__:
            stub.__init__(self, channel)  # type: ignore[misc]
