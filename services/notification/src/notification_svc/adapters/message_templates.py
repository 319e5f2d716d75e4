"""Message text from Jinja2 templates, one file per (language, kind) under templates/messages/<language>/.

Each file defines the blocks ``subject``, ``text`` and ``html`` (the email), ``sms`` and ``inbox`` (the
in-app notice's body; its title is the subject). Templates run in Jinja's sandbox with undefined
variables as errors, so a template can read only what it is given. Times are shown with ``when(instant)``:
the recipient's zone and language (Babel's CLDR formats).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

from babel.dates import format_date, format_time
from jinja2 import PackageLoader, StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from notification_svc.domain.audience import zone_or_utc
from notification_svc.domain.template_catalogue import SAMPLE, RenderedMessage, allowed_variables
from platform_core.errors import FieldViolation
from platform_core.validation import Violations

PARTS = ("subject", "text", "html", "sms", "inbox")


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


@dataclass(frozen=True)
class _Override:
    plain: Template  # its subject, text, sms and inbox blocks
    html: Template  # the same source compiled with escaping on, for its html block


def local_date_formatter(language: str) -> Callable[[str], str]:
    """``on``: a calendar date (YYYY-MM-DD) as the recipient reads it, e.g. '30 March 2026' / '30. März 2026'."""

    def on(day: str) -> str:
        return str(format_date(date.fromisoformat(day), "long", locale=language))

    return on


class MessageTemplates:
    def __init__(self) -> None:
        self._env = SandboxedEnvironment(
            loader=PackageLoader("notification_svc", "templates/messages"),
            undefined=StrictUndefined,
            autoescape=False,  # the html block escapes itself ({% autoescape true %})
            keep_trailing_newline=False,
        )
        # A business's own blocks: whatever it writes in its html block is escaped.
        self._escaping = SandboxedEnvironment(undefined=StrictUndefined, autoescape=True)
        self._overrides: dict[str, _Override] = {}
        root = resources.files("notification_svc") / "templates" / "messages"
        self.languages = frozenset(p.name for p in root.iterdir() if p.is_dir())

    def exists(self, language: str, kind: str) -> bool:
        return (resources.files("notification_svc") / "templates" / "messages" / language / f"{kind}.jinja").is_file()

    def _override(self, source: str) -> _Override:
        compiled = self._overrides.get(source)
        if compiled is None:
            compiled = _Override(self._env.from_string(source), self._escaping.from_string(source))
            if len(self._overrides) > 1000:
                self._overrides.clear()
            self._overrides[source] = compiled
        return compiled

    def check_override(self, language: str, kind: str, source: str) -> list[FieldViolation]:
        """Why a business's blocks for ``kind`` cannot be saved (none: they can): a syntax error, a block
        that is no part of a message, a variable the kind does not have, or a failure on sample data."""
        violations = Violations()
        if kind.replace(".", "_") not in {p.removesuffix(".jinja") for p in self._kinds(language)}:
            violations.add("language", f"no {kind} template in {language!r}; languages: {sorted(self.languages)}")
            return violations.found
        try:
            tree = self._env.parse(source)
        except TemplateSyntaxError as exc:
            violations.add("source", f"line {exc.lineno}: {exc.message}")
            return violations.found
        blocks = {block.name for block in tree.find_all(nodes.Block)}
        for name in sorted(blocks - set(PARTS)):
            violations.add("source", f"block {name!r} is not a part of a message (use {', '.join(PARTS)})")
        if not blocks:
            violations.add("source", f"write at least one block: {', '.join(PARTS)}")
        known = ", ".join(sorted(allowed_variables(kind)))
        for name in sorted(meta.find_undeclared_variables(tree) - allowed_variables(kind)):
            violations.add("source", f"unknown variable {name!r} (this message has: {known})")
        if not violations.found:
            try:
                self.render(language, kind.replace(".", "_"), SAMPLE, zone="Europe/Berlin", override=source)
            except (TemplateError, TypeError, ValueError, AttributeError) as exc:
                violations.add("source", f"fails on sample data: {exc}")
        return violations.found

    def _kinds(self, language: str) -> list[str]:
        root = resources.files("notification_svc") / "templates" / "messages" / language
        return [p.name for p in root.iterdir()] if language in self.languages else []

    def render(
        self,
        language: str,
        kind: str,
        context: dict[str, Any],
        *,
        zone: str,
        parts: tuple[str, ...] = PARTS,
        override: str | None = None,
    ) -> RenderedMessage:
        """The ``parts`` a channel needs (all by default); a business's ``override`` replaces the blocks it
        defines."""
        template = self._env.get_template(f"{language}/{kind}.jinja")
        mine = self._override(override) if override else None
        full = {**context, "when": local_time_formatter(language, zone), "on": local_date_formatter(language)}
        rendered = {}
        for part in parts:
            chosen = template
            if mine is not None and part in mine.plain.blocks:
                chosen = mine.html if part == "html" else mine.plain
            text = "".join(chosen.blocks[part](chosen.new_context(full))).strip()
            rendered[part] = text + "\n" if part == "text" else text if part == "html" else " ".join(text.split())
        return RenderedMessage(**rendered)
