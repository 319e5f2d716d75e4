"""Email text from Jinja2 templates (package data under notification_svc/templates)."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notification_svc.domain.emails import EmailContent


class EmailTemplates:
    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("notification_svc", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, template: str, **context: Any) -> EmailContent:
        """``<template>.subject.txt``, ``<template>.txt`` and ``<template>.html`` with the same context."""
        subject = self._env.get_template(f"{template}.subject.txt").render(**context)
        return EmailContent(
            subject=" ".join(subject.split()),
            text=self._env.get_template(f"{template}.txt").render(**context),
            html=self._env.get_template(f"{template}.html").render(**context),
        )
