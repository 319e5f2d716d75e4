"""What route handlers get from the application."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.backends import Backends
from gateway.config import GatewaySettings
from gateway.identity.portal_access import PortalAccessStore
from gateway.identity.service import IdentityService

SETTINGS = web.AppKey("settings", GatewaySettings)
IDENTITY = web.AppKey("identity", IdentityService)
BACKENDS = web.AppKey("backends", Backends)
ENGINE = web.AppKey("engine", AsyncEngine)
PORTAL_ACCESS = web.AppKey("portal_access", PortalAccessStore)
