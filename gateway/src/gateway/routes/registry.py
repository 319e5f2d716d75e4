"""The one route table of the gateway; route modules add their operations to it."""

from gateway.api import Api

api = Api()
