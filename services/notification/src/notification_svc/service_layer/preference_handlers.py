"""Use cases of a client's notification preferences: read, choose, and the one-click unsubscribe link."""

from __future__ import annotations

from notification_svc.domain import commands
from notification_svc.domain.preferences import OPTIONAL_CATEGORIES, PREFERENCE_CHANNELS, Preference
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork


async def get_preferences(cmd: commands.GetPreferences, uow: NotificationUnitOfWork) -> tuple[list[Preference], str]:
    """Every optional category on every channel, allowed unless switched off; and the preferred channel."""
    async with uow:
        chosen = {
            (p.category, p.channel): p.allowed for p in await uow.preferences.of_client(cmd.tenant_id, cmd.client_id)
        }
        preferred = await uow.preferences.preferred_channel(cmd.tenant_id, cmd.client_id)
    preferences = [
        Preference(category, channel, chosen.get((category, channel), True))
        for category in OPTIONAL_CATEGORIES
        for channel in PREFERENCE_CHANNELS
    ]
    return preferences, preferred


async def choose_preferences(cmd: commands.ChoosePreferences, uow: NotificationUnitOfWork) -> None:
    async with uow:
        await uow.preferences.choose(cmd.tenant_id, cmd.client_id, cmd.choices, cmd.now)
        if cmd.preferred_channel:
            await uow.preferences.prefer_channel(cmd.tenant_id, cmd.client_id, cmd.preferred_channel, cmd.now)
        await uow.commit()


async def unsubscribe(cmd: commands.Unsubscribe, uow: NotificationUnitOfWork) -> Preference | None:
    """What the link switched off; None for a link that names nothing (or another business's)."""
    if cmd.link.tenant_id != cmd.tenant_id:
        return None
    async with uow:
        switched_off = await uow.preferences.follow_link(cmd.link, cmd.now)
        await uow.commit()
        return switched_off
