"""What route handlers get from the application."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit import AuditTrail
from gateway.backends import Backends
from gateway.bus_health import BusProbe
from gateway.config import GatewaySettings
from gateway.identity.api_keys import ApiKeys
from gateway.identity.business import BusinessProfile
from gateway.identity.passwords_reset import PasswordResets
from gateway.identity.portal_access import PortalAccessStore
from gateway.identity.principals import Principals
from gateway.identity.roles import Roles
from gateway.identity.service import IdentityService
from gateway.identity.staff import StaffAccounts
from gateway.identity.two_factor import TwoFactor
from gateway.public_booking import PublicBookingPages
from gateway.webhooks.endpoints import WebhookEndpoints

SETTINGS = web.AppKey("settings", GatewaySettings)
IDENTITY = web.AppKey("identity", IdentityService)
BACKENDS = web.AppKey("backends", Backends)
ENGINE = web.AppKey("engine", AsyncEngine)
PORTAL_ACCESS = web.AppKey("portal_access", PortalAccessStore)
PRINCIPALS = web.AppKey("principals", Principals)
STAFF_ACCOUNTS = web.AppKey("staff_accounts", StaffAccounts)
PASSWORD_RESETS = web.AppKey("password_resets", PasswordResets)
API_KEYS = web.AppKey("api_keys", ApiKeys)
WEBHOOKS = web.AppKey("webhooks", WebhookEndpoints)
ROLES = web.AppKey("roles", Roles)
AUDIT = web.AppKey("audit", AuditTrail)
BUSINESS = web.AppKey("business", BusinessProfile)
TWO_FACTOR = web.AppKey("two_factor", TwoFactor)
BUS = web.AppKey("bus", BusProbe)
PUBLIC_BOOKING = web.AppKey("public_booking", PublicBookingPages)
