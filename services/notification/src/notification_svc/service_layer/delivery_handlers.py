"""Use cases of delivery: send the due messages.

Delivery runs on every replica: a batch of due messages is leased in one short transaction, each is rendered
(at send time, from the newest contact facts, so nothing is sent stale) and handed to its channel, and the
outcomes are recorded in one more transaction by the replica that still holds the lease. Each email or SMS
attempt is committed as in flight before it is handed over; a replica that stops mid-batch leaves leases that
run out: another replica takes up what was not yet in flight, and fails what was (it may have reached the
provider, which offers no idempotency key: at most once, never twice).

A batch reads the clock (the unit of work's) at each step rather than once: leasing, each attempt's retry
time and the recording of outcomes are moments apart.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jinja2 import TemplateError

from notification_svc.domain import commands
from notification_svc.domain.account_notices import expired
from notification_svc.domain.audience import (
    Addressee,
    BusinessProfile,
    ClientContact,
    Delivery,
    StaffMember,
    address_for,
    choose_language,
    missing_address_reason,
)
from notification_svc.domain.campaigns import CAMPAIGN_KIND
from notification_svc.domain.delivery import (
    ClaimedMessage,
    Outcome,
    Status,
    after_failure,
    after_success,
    skipped,
)
from notification_svc.domain.emails import Attachment, OutgoingEmail, unsubscribe_headers
from notification_svc.domain.preferences import UnsubscribeLink, needs_consent, opted_out_reason
from notification_svc.domain.request_notices import CALENDAR_KINDS, accept_url
from notification_svc.domain.template_catalogue import template_name
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork

# The email of an issued invoice carries the invoice's PDF, as billing renders it at send time.
INVOICE_KIND = "invoice.issued"
# What each channel shows of a message.
CHANNEL_PARTS = {"email": ("subject", "text", "html"), "sms": ("sms",), "in_app": ("subject", "inbox")}


async def dispatch_due_messages(cmd: commands.DispatchDueMessages, uow: NotificationUnitOfWork) -> int:
    """Batch after batch until nothing is due; returns how many messages were handled."""
    total = 0
    while handled := await _dispatch_batch(cmd, uow):
        total += handled
    return total


async def _dispatch_batch(cmd: commands.DispatchDueMessages, uow: NotificationUnitOfWork) -> int:
    """Lease, send, record; returns how many messages were handled."""
    now = uow.clock()
    async with uow:
        for channel in await uow.messages.settle_abandoned(now, cmd.batch_size):
            uow.delivery_metrics.attempted(channel, "unknown")
        claimed = await uow.messages.claim_due(now, now + cmd.lease, cmd.batch_size)
        if not claimed:
            await uow.commit()
            return 0
        deliveries = await _deliveries(cmd, uow, claimed)
        # Commits the in-flight attempts before anything is handed to a provider.
        await uow.commit()
    limit = asyncio.Semaphore(cmd.concurrency)

    async def attempt(message: ClaimedMessage) -> Outcome:
        async with limit:
            return await _attempt(cmd, uow, message, deliveries[message.id])

    outcomes = await asyncio.gather(*(attempt(m) for m in claimed))
    async with uow:
        await uow.messages.record(list(zip(claimed, outcomes, strict=True)), uow.clock())
        await uow.commit()
    for message, outcome in zip(claimed, outcomes, strict=True):
        if outcome.attempted:
            uow.delivery_metrics.attempted(message.channel, "sent" if outcome.sent else "failed")
    return len(claimed)


async def _deliveries(
    cmd: commands.DispatchDueMessages, uow: NotificationUnitOfWork, claimed: list[ClaimedMessage]
) -> dict[uuid.UUID, Delivery]:
    deliveries: dict[uuid.UUID, Delivery] = {}
    languages = uow.message_templates.languages
    for tenant_id in {m.tenant_id for m in claimed}:
        mine = [m for m in claimed if m.tenant_id == tenant_id]
        business = await uow.directory.business(tenant_id)
        client_ids = {m.recipient.id for m in mine if m.recipient.kind == "client"}
        client_ids |= {m.client_id for m in mine if m.client_id is not None}
        contacts = await uow.directory.contacts(tenant_id, client_ids)
        staff_ids = {m.recipient.id for m in mine if m.recipient.kind == "staff"}
        staff = {s.staff_id: s for s in await uow.directory.staff(tenant_id, staff_ids)} if staff_ids else {}
        clients = {m.recipient.id for m in mine if m.recipient.kind == "client"}
        opted_out = await uow.preferences.opted_out(tenant_id, clients)
        overrides = await uow.templates.overrides(tenant_id)
        campaign_sources = await uow.campaigns.sources(
            tenant_id, {uuid.UUID(m.variables["campaign_id"]) for m in mine if m.kind == CAMPAIGN_KIND}
        )
        links: list[tuple[UnsubscribeLink, uuid.UUID, str, str]] = []
        for m in mine:
            about = contacts.get(m.client_id) if m.client_id else None
            consent = m.recipient.kind == "client" and needs_consent(m.category)
            url = ""
            if consent and m.channel == "email":
                link = UnsubscribeLink.new(tenant_id)
                links.append((link, m.recipient.id, m.category, m.channel))
                url = f"{cmd.public_url.rstrip('/')}/unsubscribe/{link.token}"
            addressee = _addressee(m, languages, business, contacts, staff)
            deliveries[m.id] = Delivery(
                addressee,
                business,
                about.name if about and about.name else "",
                opted_out=consent and (m.recipient.id, m.category, m.channel) in opted_out,
                unsubscribe_url=url,
                # A campaign is written in its own words, whatever the recipient's language.
                override=campaign_sources.get(uuid.UUID(m.variables["campaign_id"]))
                if m.kind == CAMPAIGN_KIND
                else overrides.get((m.kind, addressee.language)),
            )
        await uow.preferences.issue_links(links, uow.clock())
    return deliveries


def _addressee(
    message: ClaimedMessage,
    languages: frozenset[str],
    business: BusinessProfile,
    contacts: Mapping[uuid.UUID, ClientContact],
    staff: Mapping[uuid.UUID, StaffMember],
) -> Addressee:
    v = message.variables
    recipient = message.recipient
    if recipient.kind == "client":
        contact = contacts.get(recipient.id, ClientContact(recipient.id))
        return Addressee(
            # The newest facts known here; else the address the planner was given (a campaign's segment, as
            # the client service answered it a moment ago).
            address_for(message.channel, email=contact.email, phone=contact.phone) or recipient.address,
            choose_language(languages, contact.language, business.language),
            contact.timezone or v.get("client_timezone", "") or business.timezone,
            contact.name,
        )
    if recipient.kind == "staff":
        member = staff.get(recipient.id)
        if member is None or not member.active:
            return Addressee("", choose_language(languages, business.language), business.timezone, "")
        return Addressee(
            address_for(message.channel, email=member.email, phone=""),
            choose_language(languages, member.language, business.language),
            member.timezone or v.get("business_timezone", "") or business.timezone,
            member.name,
        )
    return Addressee(
        recipient.address,
        choose_language(languages, v.get("language", ""), business.language),
        v.get("timezone", "") or business.timezone,
        v.get("name", ""),
    )


async def _attempt(
    cmd: commands.DispatchDueMessages, uow: NotificationUnitOfWork, message: ClaimedMessage, delivery: Delivery
) -> Outcome:
    addressee = delivery.addressee
    policy = cmd.retry_policy
    if message.channel != "in_app" and not addressee.address:
        return skipped(missing_address_reason(message.channel, message.recipient.kind))
    if delivery.opted_out:
        return skipped(opted_out_reason(message.category, message.channel))
    if expired(message.variables, uow.clock()):
        return skipped("its link or code expired before it could be sent")
    attachments = _attachments(uow, message, delivery)
    pdf_variables: dict[str, Any] = {}
    if message.channel == "email" and message.kind == INVOICE_KIND:
        try:
            pdf = await _invoice_pdf(uow, message, delivery)
        except Exception as exc:  # billing unavailable: retried like an SMTP failure
            if message.attempt < message.max_attempts:
                error = f"invoice PDF: {type(exc).__name__}: {exc}"
                return after_failure(message, error, now=uow.clock(), policy=policy)
            pdf = None  # the last attempt: the client hears of the invoice, told the PDF is in the portal
        attachments += (pdf,) if pdf else ()
        pdf_variables = {"pdf_attached": pdf is not None}
    context: dict[str, Any] = {
        **message.variables,
        **pdf_variables,
        "name": addressee.name,
        "business_name": delivery.business.business_name or message.variables.get("business_name", ""),
        "client_name": delivery.client_name or message.variables.get("reference", ""),
        "unsubscribe_url": delivery.unsubscribe_url,
        "accept_url": accept_url(message.kind, cmd.public_url),
    }
    try:
        rendered = uow.message_templates.render(
            addressee.language,
            template_name(message.kind),
            context,
            zone=addressee.timezone,
            parts=CHANNEL_PARTS.get(message.channel, ("subject", "text", "html")),
            override=delivery.override,
        )
    except TemplateError as exc:
        # A template that cannot render will not render on a retry either.
        return Outcome(Status.FAILED, error=f"template: {exc}")
    if message.channel == "in_app":
        return after_success(
            to_address="",
            language=addressee.language,
            subject=rendered.subject,
            notice=(rendered.subject, rendered.inbox),
        )
    try:
        if message.channel == "sms":
            callback = f"{cmd.public_url.rstrip('/')}/webhooks/twilio/{message.tenant_id}/status"
            provider_id = await uow.sms_sender.send(addressee.address, rendered.sms, callback)
            return after_success(
                to_address=addressee.address,
                language=addressee.language,
                subject=rendered.sms[:120],
                provider_id=provider_id,
            )
        if message.channel != "email":
            raise LookupError(f"no sender for channel {message.channel}")
        await uow.email_sender.send(
            OutgoingEmail(
                addressee.address,
                rendered.subject,
                rendered.text,
                rendered.html,
                f"<{message.id}@atrium.notification>",
                attachments,
                unsubscribe_headers(delivery.unsubscribe_url),
            )
        )
    except Exception as exc:  # any failure of the provider is this attempt's outcome
        error = f"{type(exc).__name__}: {exc}"
        return after_failure(message, error, now=uow.clock(), policy=policy, to_address=addressee.address)
    return after_success(to_address=addressee.address, language=addressee.language, subject=rendered.subject)


def _attachments(uow: NotificationUnitOfWork, message: ClaimedMessage, delivery: Delivery) -> tuple[Attachment, ...]:
    """A confirmed appointment travels with its calendar file."""
    v = message.variables
    if message.kind not in CALENDAR_KINDS or not v.get("start") or not v.get("end"):
        return ()
    ics = uow.calendar_files.appointment_ics(
        uid=f"{v.get('appointment_id') or message.id}@atrium",
        start=datetime.fromisoformat(v["start"]),
        end=datetime.fromisoformat(v["end"]),
        summary=" · ".join(p for p in (v.get("service_name", ""), delivery.business.business_name) if p),
        location=delivery.business.business_name,
        description=" ".join(str(v[k]) for k in ("reference", "technician_name", "staff_name") if v.get(k)),
    )
    return (ics,)


async def _invoice_pdf(uow: NotificationUnitOfWork, message: ClaimedMessage, delivery: Delivery) -> Attachment | None:
    if uow.invoice_documents is None:
        return None
    business_name = delivery.business.business_name or message.variables.get("business_name", "")
    invoice_id = uuid.UUID(message.variables["invoice_id"])
    return await uow.invoice_documents.invoice_pdf(message.tenant_id, invoice_id, business_name)
