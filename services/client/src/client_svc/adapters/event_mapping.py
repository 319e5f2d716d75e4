"""Domain events -> integration events (contracts in proto/atrium/client/v1/events.proto)."""

from __future__ import annotations

from typing import Any

from atrium.client.v1 import client_record_pb2, events_pb2
from atrium.common.v1.events_pb2 import EventEnvelope
from client_svc.domain import attachments, erasure, events, merge, portal
from platform_core.messaging.envelope import build_envelope

PRODUCER = "client"


def _payload(event: Any) -> Any:  # a generated message (the contracts are untyped to mypy)
    match event:
        case events.ClientCreated():
            created = events_pb2.ClientCreated(
                client_id=str(event.client_id),
                first_name=event.first_name,
                last_name=event.last_name,
                email=event.email or "",
                phone=event.phone or "",
                kind=event.kind,
                company_name=event.company_name,
                source=event.source,
                **_contact_details(event),
            )
            if event.opening_balance_currency is not None:
                created.opening_balance.amount_minor = event.opening_balance_minor or 0
                created.opening_balance.currency = event.opening_balance_currency
            return created
        case events.ClientUpdated():
            return events_pb2.ClientUpdated(
                client_id=str(event.client_id),
                changed_fields=list(event.changed_fields),
                first_name=event.first_name,
                last_name=event.last_name,
                email=event.email or "",
                phone=event.phone or "",
                **_contact_details(event),
            )
        case events.ClientDeleted():
            return events_pb2.ClientDeleted(client_id=str(event.client_id))
        case events.ClientRestored():
            return events_pb2.ClientRestored(client_id=str(event.client_id))
        case events.ClientBookingBlocked():
            return events_pb2.ClientBookingBlocked(client_id=str(event.client_id), reason=event.reason)
        case events.ClientStatusChanged():
            return events_pb2.ClientStatusChanged(
                client_id=str(event.client_id),
                from_status_id=str(event.from_status_id or ""),
                from_label=event.from_label,
                to_status_id=str(event.to_status_id),
                to_label=event.to_label,
            )
        case events.ClientBookingUnblocked():
            return events_pb2.ClientBookingUnblocked(client_id=str(event.client_id))
        case attachments.AttachmentAdded():
            return events_pb2.ClientAttachmentAdded(
                client_id=str(event.client_id),
                attachment_id=str(event.attachment_id),
                filename=event.filename,
                content_type=event.content_type,
                size_bytes=event.size_bytes,
                shared_with_client=event.shared_with_client,
            )
        case attachments.AttachmentChanged():
            return events_pb2.ClientAttachmentChanged(
                client_id=str(event.client_id),
                attachment_id=str(event.attachment_id),
                filename=event.filename,
                shared_with_client=event.shared_with_client,
                changed_fields=list(event.changed_fields),
            )
        case portal.PortalInvitationIssued():
            issued = events_pb2.PortalInvitationIssued(
                client_id=str(event.client_id),
                invitation_id=str(event.invitation_id),
                email=event.email,
                accept_url=event.accept_url,
                business_name=event.business_name,
                client_first_name=event.client_first_name,
                client_last_name=event.client_last_name,
            )
            issued.expires_at.FromDatetime(event.expires_at)
            return issued
        case portal.PortalAccessChanged(enabled=True):
            return events_pb2.PortalAccessGranted(client_id=str(event.client_id))
        case portal.PortalAccessChanged(enabled=False):
            return events_pb2.PortalAccessRevoked(client_id=str(event.client_id))
        case attachments.AttachmentDeleted():
            return events_pb2.ClientAttachmentDeleted(
                client_id=str(event.client_id), attachment_id=str(event.attachment_id), filename=event.filename
            )
        case merge.ClientsMerged():
            return events_pb2.ClientsMerged(
                merge_id=str(event.merge_id),
                survivor_id=str(event.survivor_id),
                merged_ids=[str(i) for i in event.merged_ids],
            )
        case merge.ClientsUnmerged():
            return events_pb2.ClientsUnmerged(
                merge_id=str(event.merge_id),
                survivor_id=str(event.survivor_id),
                restored_ids=[str(i) for i in event.restored_ids],
            )
        case erasure.ClientErased():
            return events_pb2.ClientErased(client_id=str(event.client_id))
    raise TypeError(f"no integration event for {type(event).__name__}")


def _contact_details(event: events.ClientCreated | events.ClientUpdated) -> dict[str, Any]:
    """What every ClientCreated and ClientUpdated carries of how the client is reached."""
    return {
        "emails": [
            client_record_pb2.ContactPoint(value=p.value, label=p.label, primary=p.primary) for p in event.emails
        ],
        "phones": [
            client_record_pb2.ContactPoint(value=p.value, label=p.label, primary=p.primary) for p in event.phones
        ],
        "contact_persons": [
            client_record_pb2.ContactPerson(name=p.name, role=p.role, email=p.email or "", phone=p.phone or "")
            for p in event.contact_persons
        ],
        # The notification service writes to the client in this language and shows times in this zone.
        "preferred_language": event.preferred_language,
        "timezone": event.timezone,
    }


def to_envelope(event: Any) -> EventEnvelope:
    return build_envelope(
        _payload(event),
        tenant_id=event.tenant_id,
        aggregate_type="client",
        aggregate_id=event.client_id,
        producer=PRODUCER,
        occurred_at=event.occurred_at,
    )
