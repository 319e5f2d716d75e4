"""Message text from Jinja2 templates, one file per (language, kind) under templates/messages/<language>/.

Each file defines the blocks ``subject``, ``text`` and ``html`` (the email), ``sms`` and ``inbox`` (the
in-app notice's body; its title is the subject). Templates run in Jinja's sandbox with undefined
variables as errors, so a template can read only what it is given. Times are shown with ``when(instant)``:
the recipient's zone and language (Babel's CLDR formats).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from babel.dates import format_date, format_time
from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from notification_svc.domain.audience import zone_or_utc

PARTS = ("subject", "text", "html", "sms", "inbox")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str = ""
    text: str = ""
    html: str = ""
    sms: str = ""
    inbox: str = ""


def local_time_formatter(language: str, zone: str) -> Callable[[str | datetime], str]:
    """``when``: an instant (ISO 8601 or aware datetime) as the recipient reads it, e.g.
    'Monday, 30 March 2026, 09:00 (Europe/Berlin)' or 'Montag, 30. März 2026, 09:00 (Europe/Berlin)'."""
    tz = zone_or_utc(zone)

    def when(instant: str | datetime) -> str:
        moment = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
        local = moment.astimezone(tz)
        return (
            f"{format_date(local, 'full', locale=language)}, {format_time(local, 'HH:mm', locale=language)} ({tz.key})"
        )

    return when


class MessageTemplates:
    def __init__(self) -> None:
        self._env = SandboxedEnvironment(
            loader=PackageLoader("notification_svc", "templates/messages"),
            undefined=StrictUndefined,
            autoescape=False,  # the html block escapes itself ({% autoescape true %})
            keep_trailing_newline=False,
        )
        root = resources.files("notification_svc") / "templates" / "messages"
        self.languages = frozenset(p.name for p in root.iterdir() if p.is_dir())

    def exists(self, language: str, kind: str) -> bool:
        return (resources.files("notification_svc") / "templates" / "messages" / language / f"{kind}.jinja").is_file()

    def render(
        self, language: str, kind: str, context: dict[str, Any], *, zone: str, parts: tuple[str, ...] = PARTS
    ) -> RenderedMessage:
        """The ``parts`` a channel needs (all by default)."""
        template = self._env.get_template(f"{language}/{kind}.jinja")
        full = {**context, "when": local_time_formatter(language, zone)}
        rendered = {}
        for part in parts:
            text = "".join(template.blocks[part](template.new_context(full))).strip()
            rendered[part] = text + "\n" if part == "text" else text if part == "html" else " ".join(text.split())
        return RenderedMessage(**rendered)
