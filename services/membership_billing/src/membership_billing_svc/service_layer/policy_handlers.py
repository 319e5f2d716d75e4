"""Use cases of the cancellation and no-show policy: setting it, and applying it once per appointment when
scheduling cancels one or marks a no-show (quoting it before a client confirms is a read: policy_views.py)."""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

from membership_billing_svc.domain import commands, ledger
from membership_billing_svc.domain.cancellation_policy import (
    FREE,
    CancellationPolicy,
    Outcome,
    OutcomeKind,
    PolicyApplication,
    Reason,
    RepeatOutcome,
    applicable,
    applies_to,
    zone_of,
)
from membership_billing_svc.domain.consumption import choose_payer, visit_key
from membership_billing_svc.domain.invoices import DraftTerms, Invoice, LineInput
from membership_billing_svc.domain.ledger import INSUFFICIENT_CREDITS
from membership_billing_svc.service_layer.handlers import _apply_client_credit
from membership_billing_svc.service_layer.unit_of_work import BillingUnitOfWork
from platform_core.errors import FailedPrecondition
from platform_core.ids import new_id
from platform_core.validation import Violations


def _outcome(given: commands.OutcomeInput, violations: Violations, where: str) -> Outcome:
    return Outcome.checked(given.kind, given.percent, given.fee_minor, given.currency, violations, where)


async def set_cancellation_policy(cmd: commands.SetCancellationPolicy, uow: BillingUnitOfWork) -> CancellationPolicy:
    violations = Violations()
    windows = [
        (w.within_hours, w.within_days, _outcome(w.outcome, violations, f"windows[{i}].outcome"))
        for i, w in enumerate(cmd.windows)
    ]
    no_show = _outcome(cmd.no_show, violations, "no_show")
    policy = CancellationPolicy.checked(
        cmd.tenant_id,
        cmd.service_id,
        windows=windows,
        no_show=no_show,
        repeat_no_shows=cmd.repeat_no_shows,
        applies_to_staff_cancellations=cmd.applies_to_staff_cancellations,
        violations=violations,
        now=cmd.now,
        repeat_outcome=cmd.repeat_outcome,
    )
    async with uow:
        await uow.policies.replace(policy)
        await uow.commit()
    return policy


async def delete_cancellation_policy(cmd: commands.DeleteCancellationPolicy, uow: BillingUnitOfWork) -> bool:
    async with uow:
        deleted = await uow.policies.delete(cmd.tenant_id, cmd.service_id)
        await uow.commit()
    return deleted


# --- applying -----------------------------------------------------------------------------------------


async def apply_cancellation_policy(
    cmd: commands.ApplyCancellationPolicy, uow: BillingUnitOfWork
) -> PolicyApplication | None:
    """Once per appointment (None when it was applied before): a late cancellation or a no-show forfeits
    credits (as a use of the visit's own key, so the visit is never consumed twice) or is charged a fee (an
    issued invoice); an early cancellation gives back what the visit consumed already (a check-in before
    it). The business's repeat-offender rule then blocks online booking."""
    business_zone = await uow.business_calendar.timezone()
    zone = zone_of(cmd.timezone, business_zone)
    # The client the event names may have been merged since: its survivor holds the credits and the record.
    client = await uow.client_directory.bill_to(cmd.client_id)
    if client is not None and client.client_id != cmd.client_id:
        cmd = dataclasses.replace(cmd, client_id=client.client_id)
    visits = list({v.service_id: v for v in cmd.visits}.values())
    async with uow:
        business, overrides = await uow.policies.policies(cmd.tenant_id, [v.service_id for v in visits])
        outcomes: list[tuple[commands.VisitFacts, Outcome]] = []
        for visit in visits:
            policy = applicable(business, overrides.get(visit.service_id))
            if policy is None:
                outcome = FREE
            elif cmd.no_show:
                outcome = policy.no_show
            else:
                window = (
                    policy.window_at(cmd.starts_at, zone, cmd.at) if applies_to(business, cmd.cancelled_by) else None
                )
                outcome = window.outcome if window else FREE
            outcomes.append((visit, outcome))
        if cmd.no_show:
            reason = Reason.NO_SHOW
        elif any(o.kind is not OutcomeKind.FREE for _, o in outcomes):
            reason = Reason.LATE_CANCELLATION
        else:
            reason = Reason.EARLY_CANCELLATION
        application = PolicyApplication(
            cmd.tenant_id, cmd.appointment_id, cmd.client_id, reason, cmd.starts_at, cmd.at, is_new=True
        )
        if not await uow.policies.claim(application):
            return None
        fees: dict[str, list[LineInput]] = {}
        for visit, outcome in outcomes:
            key = visit_key(cmd.appointment_id, visit.service_id)
            if outcome.kind is OutcomeKind.FREE:
                if not cmd.no_show:
                    await _restore(uow, cmd, key)
            elif outcome.kind is OutcomeKind.FORFEIT:
                await _forfeit(uow, cmd, application, visit, outcome, key)
            else:
                fee = outcome.fee_for(visit.price_minor, visit.currency)
                if fee is not None:
                    label = "No-show" if cmd.no_show else "Late cancellation"
                    local_start = cmd.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
                    fees.setdefault(fee[1], []).append(
                        LineInput(
                            f"{label}: {visit.service_name or 'appointment'}, {local_start}",
                            "1",
                            fee[0],
                            0,
                            str(cmd.appointment_id),
                        )
                    )
        if cmd.no_show and business is not None and business.repeat_no_shows is not None:
            rule = business.repeat_no_shows
            count = await uow.policies.no_shows_since(cmd.tenant_id, cmd.client_id, rule.since(cmd.starts_at))
            if rule.tripped(count):
                until = rule.lasts_until(cmd.at)
                why = f"{count} no-shows within {rule.period_days} days"
                if rule.outcome is RepeatOutcome.REQUIRE_APPROVAL:
                    # Through the outbox with this application: portal_requests keeps it per client.
                    application.requires_approval(until, why, cmd.at)
                else:
                    await uow.client_directory.block_online_booking(cmd.client_id, until=until, reason=why)
        # The invoice number last: the counter row stays locked from there to the commit.
        if fees:
            await _invoice_fees(uow, cmd, application, fees, client.name if client else "", business_zone)
        await uow.commit()
    return application


async def _restore(uow: BillingUnitOfWork, cmd: commands.ApplyCancellationPolicy, key: str) -> None:
    """Gives back what the visit consumed already, once (nothing when it consumed nothing)."""
    used = await uow.ledger.by_request_id(cmd.tenant_id, key)
    if used is None or used.kind is not ledger.TransactionKind.USE:
        return
    if await uow.policies.is_reversed(cmd.tenant_id, used.id):
        return
    credit_type = await uow.ledger.credit_type(cmd.tenant_id, used.entries[0].credit_type_id)
    lots = await uow.ledger.lock_lots(cmd.tenant_id, list(used.taken_per_lot()))
    if all(lot.expires_at is not None and lot.expires_at <= cmd.at for lot in lots):
        return
    uow.ledger.add(
        ledger.reverse(cmd.tenant_id, new_id(), used, lots, credit_type, note="cancelled in good time", now=cmd.at)
    )


async def _forfeit(
    uow: BillingUnitOfWork,
    cmd: commands.ApplyCancellationPolicy,
    application: PolicyApplication,
    visit: commands.VisitFacts,
    outcome: Outcome,
    key: str,
) -> None:
    """The share of what would have paid for the visit, taken under the visit's key (a visit consumed
    already, by a check-in, is not taken again); nothing when the client holds nothing that pays."""
    if await uow.ledger.by_request_id(cmd.tenant_id, key) is not None:
        return
    rules = await uow.ledger.rules_for(cmd.tenant_id, visit.service_id)
    if not rules:
        return
    lots = await uow.ledger.lock_holding_of_types(
        cmd.tenant_id, cmd.client_id, [r.credit_type_id for r in rules], cmd.at
    )
    try:
        payer = choose_payer(rules, lots, cmd.at)
    except FailedPrecondition as exc:
        if exc.reason != INSUFFICIENT_CREDITS:
            raise
        return
    units = outcome.forfeited_units(payer.rule.units)
    if units <= 0:
        return
    credit_type = await uow.ledger.credit_type(cmd.tenant_id, payer.rule.credit_type_id)
    uow.ledger.add(
        ledger.use(
            cmd.tenant_id,
            new_id(),
            cmd.client_id,
            credit_type,
            [lot for lot in lots if lot.credit_type_id == credit_type.id],
            units,
            note="no-show" if cmd.no_show else "late cancellation",
            now=cmd.at,
            request_id=key,
        )
    )
    application.forfeited(credit_type.id, units, cmd.at)


async def _invoice_fees(
    uow: BillingUnitOfWork,
    cmd: commands.ApplyCancellationPolicy,
    application: PolicyApplication,
    fees: dict[str, list[LineInput]],
    bill_to_name: str,
    business_zone: ZoneInfo,
) -> None:
    """One issued invoice per currency, due at once; the client's credit pays it as far as it goes."""
    today = cmd.at.astimezone(business_zone).date()
    for currency, lines in sorted(fees.items()):
        terms = DraftTerms.checked(currency, lines, payment_terms_days=0, notes="")
        invoice = Invoice.draft(cmd.tenant_id, new_id(), cmd.client_id, terms, cmd.at)
        uow.invoices.add(invoice)
        number = await uow.invoices.next_number(cmd.tenant_id)
        invoice.issue(number=number, issue_date=today, bill_to_name=bill_to_name, now=cmd.at)
        await _apply_client_credit(uow, invoice, cmd.at)
        application.charged_fee(invoice.id, currency, invoice.total_minor, cmd.at)
