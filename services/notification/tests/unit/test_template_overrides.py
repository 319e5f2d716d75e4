"""A business's own wording: checked on save (syntax, blocks, variables, sample data), escaped in HTML,
falling back to the default for the blocks it does not write."""

from __future__ import annotations

from notification_svc.adapters.message_templates import MessageTemplates
from notification_svc.domain.template_catalogue import SAMPLE

TEMPLATES = MessageTemplates()


def fields(language: str, kind: str, source: str) -> list[tuple[str, str]]:
    return [(v.field, v.message) for v in TEMPLATES.check_override(language, kind, source)]


def test_a_good_override_replaces_its_blocks_and_keeps_the_defaults_of_the_others() -> None:
    source = (
        "{% block subject %}See you, {{ name }}: {{ when(start) }}{% endblock %}"
        "{% block html %}<b>{{ business_name }}</b>{% endblock %}"
    )
    assert fields("en", "appointment.reminder", source) == []
    context = SAMPLE | {"name": "Ada", "business_name": "<Zen & Co>"}
    rendered = TEMPLATES.render("en", "appointment_reminder", context, zone="Europe/Berlin", override=source)
    assert rendered.subject == "See you, Ada: Monday, March 30, 2026, 09:00 (Europe/Berlin)"
    assert rendered.html == "<b>&lt;Zen &amp; Co&gt;</b>"  # what the business inserts is escaped
    assert rendered.text.startswith("Hello Ada,")  # the default text block


def test_a_syntax_error_an_unknown_variable_a_stray_block_or_a_sample_failure_is_refused() -> None:
    assert fields("en", "appointment.reminder", "{% block subject %}{{ name {% endblock %}")[0][1].startswith("line 1:")
    assert (
        "unknown variable 'password'"
        in fields("en", "appointment.reminder", "{% block subject %}{{ password }}{% endblock %}")[0][1]
    )
    assert (
        "is not a part of a message" in fields("en", "appointment.reminder", "{% block footer %}x{% endblock %}")[0][1]
    )
    assert "at least one block" in fields("en", "appointment.reminder", "just text")[0][1]
    assert (
        "fails on sample data"
        in fields("en", "appointment.reminder", "{% block subject %}{{ name.__class__.__mro__ }}{% endblock %}")[0][1]
    )
    assert fields("fr", "appointment.reminder", "{% block subject %}x{% endblock %}")[0][0] == "language"
