"""Persistent gRPC channels and stubs to the services, opened once per gateway process."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from atrium.client.v1.client_service_pb2_grpc import (
    ClientAttachmentsStub,
    ClientImportsStub,
    ClientMergesStub,
    ClientPortalStub,
    ClientRecordsStub,
    CustomFieldsStub,
)
from atrium.membership_billing.v1.billing_pb2_grpc import BillingServiceStub
from atrium.membership_billing.v1.billing_reports_pb2_grpc import BillingReportServiceStub
from atrium.membership_billing.v1.documents_pb2_grpc import DocumentServiceStub
from atrium.membership_billing.v1.ledger_pb2_grpc import LedgerServiceStub
from atrium.membership_billing.v1.memberships_pb2_grpc import MembershipServiceStub
from atrium.membership_billing.v1.packages_pb2_grpc import PackageServiceStub
from atrium.membership_billing.v1.policy_pb2_grpc import CancellationPolicyServiceStub
from atrium.notification.v1.notification_service_pb2_grpc import NotificationServiceStub
from atrium.portal_requests.v1.portal_requests_pb2_grpc import PortalRequestServiceStub
from atrium.portal_requests.v1.public_requests_pb2_grpc import PublicRequestServiceStub
from atrium.scheduling.v1.appointments_pb2_grpc import AppointmentServiceStub
from atrium.scheduling.v1.calendar_pb2_grpc import CalendarServiceStub
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from atrium.scheduling.v1.holds_pb2_grpc import SlotHoldServiceStub
from atrium.scheduling.v1.reports_pb2_grpc import ReportServiceStub
from atrium.scheduling.v1.series_pb2_grpc import RecurringSeriesServiceStub
from platform_core.config import PlatformSettings
from platform_core.grpc.channels import create_channel

SERVICES = ("client", "scheduling", "portal_requests", "membership_billing", "notification")


class Backends:
    def __init__(self, settings: PlatformSettings) -> None:
        self._channels = {
            name: create_channel(settings.grpc_addr(name), default_deadline=settings.grpc_deadline_seconds)
            for name in SERVICES
        }
        self.clients = ClientRecordsStub(self._channels["client"])
        self.custom_fields = CustomFieldsStub(self._channels["client"])
        self.client_attachments = ClientAttachmentsStub(self._channels["client"])
        self.client_portal = ClientPortalStub(self._channels["client"])
        self.client_imports = ClientImportsStub(self._channels["client"])
        self.client_merges = ClientMergesStub(self._channels["client"])
        self.notifications = NotificationServiceStub(self._channels["notification"])
        self.catalogue = CatalogueServiceStub(self._channels["scheduling"])
        self.appointments = AppointmentServiceStub(self._channels["scheduling"])
        self.calendars = CalendarServiceStub(self._channels["scheduling"])
        self.reports = ReportServiceStub(self._channels["scheduling"])
        self.series = RecurringSeriesServiceStub(self._channels["scheduling"])
        self.holds = SlotHoldServiceStub(self._channels["scheduling"])
        self.billing = BillingServiceStub(self._channels["membership_billing"])
        self.ledger = LedgerServiceStub(self._channels["membership_billing"])
        self.packages = PackageServiceStub(self._channels["membership_billing"])
        self.cancellation_policies = CancellationPolicyServiceStub(self._channels["membership_billing"])
        self.documents = DocumentServiceStub(self._channels["membership_billing"])
        self.billing_reports = BillingReportServiceStub(self._channels["membership_billing"])
        self.memberships = MembershipServiceStub(self._channels["membership_billing"])
        self.portal_requests = PortalRequestServiceStub(self._channels["portal_requests"])
        self.public_requests = PublicRequestServiceStub(self._channels["portal_requests"])

    async def health(self, timeout: float = 1.0) -> dict[str, str]:
        async def check(name: str, channel: grpc.aio.Channel) -> tuple[str, str]:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=timeout
                )
                return name, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status).lower()
            except grpc.aio.AioRpcError as exc:
                return name, exc.code().name.lower()

        results = await asyncio.gather(*(check(n, c) for n, c in self._channels.items()))
        return dict(results)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
