"""The business's timezone, which decides where its days (and so its credits' expiries) begin and end. It is
scheduling's setting; billing asks for it over gRPC, outside any transaction."""

from __future__ import annotations

import abc
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import grpc

from atrium.scheduling.v1 import catalogue_pb2
from atrium.scheduling.v1.catalogue_pb2_grpc import CatalogueServiceStub
from platform_core.errors import Unavailable

UTC_ZONE = ZoneInfo("UTC")


class AbstractBusinessCalendar(abc.ABC):
    @abc.abstractmethod
    async def timezone(self) -> ZoneInfo:
        """The caller's business's zone."""


class GrpcBusinessCalendar(AbstractBusinessCalendar):
    def __init__(self, stub: CatalogueServiceStub) -> None:
        self._stub = stub

    async def timezone(self) -> ZoneInfo:
        try:
            settings = await self._stub.GetSchedulingSettings(catalogue_pb2.GetSchedulingSettingsRequest())
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"scheduling could not be asked for the business's timezone ({exc.code().name})") from exc
        try:
            return ZoneInfo(settings.timezone) if settings.timezone else UTC_ZONE
        except (ZoneInfoNotFoundError, ValueError):
            return UTC_ZONE
