"""An invoice's PDF as billing renders it (``DocumentService.GetInvoicePdf`` over gRPC, never its tables),
asked at send time as the notification service itself in the invoice's tenant."""

from __future__ import annotations

import abc
import uuid

from atrium.membership_billing.v1 import documents_pb2 as documents_pb
from atrium.membership_billing.v1.documents_pb2_grpc import DocumentServiceStub
from notification_svc.domain.emails import Attachment
from platform_core.grpc.context import CallContext, Principal, bind_call_context

PRINCIPAL = Principal.service("notification")
# What billing accepts for the letterhead (a longer name would be refused, and so every retry).
MAX_BUSINESS_NAME = 200


class AbstractInvoiceDocuments(abc.ABC):
    @abc.abstractmethod
    async def invoice_pdf(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, business_name: str) -> Attachment:
        """The invoice's PDF; raises when billing cannot give it now."""


class GrpcInvoiceDocuments(AbstractInvoiceDocuments):
    def __init__(self, stub: DocumentServiceStub) -> None:
        self._stub = stub

    async def invoice_pdf(self, tenant_id: uuid.UUID, invoice_id: uuid.UUID, business_name: str) -> Attachment:
        with bind_call_context(CallContext(tenant_id, PRINCIPAL)):
            document: documents_pb.Document = await self._stub.GetInvoicePdf(
                documents_pb.GetInvoicePdfRequest(
                    invoice_id=str(invoice_id), business_name=business_name[:MAX_BUSINESS_NAME]
                )
            )
        return Attachment(document.filename, document.content_type, document.content)
