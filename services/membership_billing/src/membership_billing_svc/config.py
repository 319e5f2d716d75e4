from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from platform_core.config import ServiceSettings


class BillingSettings(ServiceSettings):
    unit: ClassVar[str] = "membership_billing"

    # How often lots past their expiry get their expiry entries, and how many lots per transaction.
    credit_expiry_interval_seconds: float = Field(default=60.0, gt=0)
    credit_expiry_batch_size: int = Field(default=200, ge=1, le=5000)
    # How often subscriptions the calendar changes (freezes ending, expiring notices, tolerance, expiry,
    # automatic renewal) are reviewed, and how many per business and run.
    subscription_review_interval_seconds: float = Field(default=60.0, gt=0)
    subscription_review_batch_size: int = Field(default=200, ge=1, le=5000)
    # PaymentDue: how many days before the due date "due soon" is told, how often open invoices are looked at,
    # and how many per business and run.
    payment_due_soon_days: int = Field(default=3, ge=1, le=30)
    payment_due_interval_seconds: float = Field(default=300.0, gt=0)
    payment_due_batch_size: int = Field(default=200, ge=1, le=5000)
