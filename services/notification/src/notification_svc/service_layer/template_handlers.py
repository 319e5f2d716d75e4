"""Use cases of a business's own wording of its messages: list what may be rewritten, save (checked first),
preview on sample data, reset to the default."""

from __future__ import annotations

from notification_svc.domain import commands
from notification_svc.domain.template_catalogue import (
    KIND_VARIABLES,
    SAMPLE,
    RenderedMessage,
    TemplateKind,
    allowed_variables,
    template_name,
)
from notification_svc.service_layer.unit_of_work import NotificationUnitOfWork
from platform_core.errors import InvalidArgument

# Where a preview's sample times are shown.
PREVIEW_ZONE = "Europe/Berlin"


async def list_message_templates(cmd: commands.ListMessageTemplates, uow: NotificationUnitOfWork) -> list[TemplateKind]:
    async with uow:
        overrides = await uow.templates.overrides(cmd.tenant_id)
    languages = tuple(sorted(uow.message_templates.languages))
    return [
        TemplateKind(
            kind=kind,
            variables=tuple(sorted(allowed_variables(kind))),
            languages=languages,
            overridden=tuple(sorted(language for k, language in overrides if k == kind)),
        )
        for kind in sorted(KIND_VARIABLES)
    ]


async def save_template(cmd: commands.SaveTemplate, uow: NotificationUnitOfWork) -> RenderedMessage:
    """Checked before it is kept (a wrong template is a refusal now, never a failed send later); returns
    its preview on sample data."""
    _check_kind(cmd.kind)
    templates = uow.message_templates
    violations = templates.check_override(cmd.language, cmd.kind, cmd.source)
    if violations:
        raise InvalidArgument(violations)
    async with uow:
        await uow.templates.save(cmd.tenant_id, cmd.kind, cmd.language, cmd.source, cmd.now)
        await uow.commit()
    return templates.render(cmd.language, template_name(cmd.kind), SAMPLE, zone=PREVIEW_ZONE, override=cmd.source)


async def preview_template(cmd: commands.PreviewTemplate, uow: NotificationUnitOfWork) -> RenderedMessage:
    """The command's source (or, without one, what the business has saved, else the default) on sample data."""
    _check_kind(cmd.kind)
    templates = uow.message_templates
    source = cmd.source
    if source:
        violations = templates.check_override(cmd.language, cmd.kind, source)
        if violations:
            raise InvalidArgument(violations)
    else:
        async with uow:
            source = (await uow.templates.overrides(cmd.tenant_id)).get((cmd.kind, cmd.language), "")
    if cmd.language not in templates.languages:
        raise InvalidArgument.single("language", f"must be one of {', '.join(sorted(templates.languages))}")
    return templates.render(cmd.language, template_name(cmd.kind), SAMPLE, zone=PREVIEW_ZONE, override=source or None)


async def reset_template(cmd: commands.ResetTemplate, uow: NotificationUnitOfWork) -> bool:
    async with uow:
        reset = await uow.templates.reset(cmd.tenant_id, cmd.kind, cmd.language)
        await uow.commit()
        return reset


def _check_kind(kind: str) -> None:
    if kind not in KIND_VARIABLES:
        raise InvalidArgument.single("kind", f"must be one of {', '.join(sorted(KIND_VARIABLES))}")
