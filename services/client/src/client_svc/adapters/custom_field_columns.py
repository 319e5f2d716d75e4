"""Custom fields as columns of client import and export (``custom:<key>``): a column extension of the import
(``AbstractColumnExtension``), on the import unit of work's asyncpg connection, in its transactions.

A tenant's live fields are the columns (a retired field's values can only be read, so they are neither
exported nor imported). A cell is read and written by the domain's ``parse_custom_value`` and
``format_custom_value``, so an exported value imports back unchanged; a value is stored as the API stores
it (client_custom_values, JSON).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from client_svc.adapters.import_store import AbstractColumnExtension
from client_svc.domain.custom_fields import (
    CustomField,
    CustomFieldCatalogue,
    Value,
    format_custom_value,
    parse_custom_value,
)
from client_svc.domain.imports import ExtraColumn

PREFIX = "custom:"


def column_key(definition: CustomField) -> str:
    return f"{PREFIX}{definition.key}"


def _parser(definition: CustomField) -> Callable[[str, str | None], Value | None]:
    def parse(cell: str, region: str | None) -> Value | None:
        return parse_custom_value(definition, cell, region=region)  # CustomValueError is a ValueError

    return parse


def _formatter(definition: CustomField) -> Callable[[Any], str]:
    def format_value(value: Any) -> str:
        return format_custom_value(definition, value)

    return format_value


class CustomFieldColumns(AbstractColumnExtension):
    """One column per live custom field of the tenant, in the fields' order."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def _live(self, tenant_id: uuid.UUID) -> list[CustomField]:
        rows = await self._conn.fetch(
            "SELECT tenant_id, id, key, label, type, options, required, forms, position, created_at, retired_at"
            " FROM client_custom_fields WHERE tenant_id = $1",
            tenant_id,
        )
        fields = [CustomField(**{**dict(r), "options": list(r["options"]), "forms": list(r["forms"])}) for r in rows]
        return CustomFieldCatalogue(tenant_id, fields).live()

    async def columns(self, tenant_id: uuid.UUID) -> Sequence[ExtraColumn]:
        return [
            ExtraColumn(
                column_key(f),
                f.label,
                parse=_parser(f),
                format=_formatter(f),
                regional=True,
                required=f.required and f.collected_on("staff"),
            )
            for f in await self._live(tenant_id)
        ]

    async def load(self, tenant_id: uuid.UUID, client_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        """The clients' values of live fields, by column key (one query for them all)."""
        rows = await self._conn.fetch(
            """
            SELECT v.client_id, f.key, v.value::text AS value
            FROM client_custom_values v
            JOIN client_custom_fields f ON f.tenant_id = v.tenant_id AND f.id = v.field_id
            WHERE v.tenant_id = $1 AND v.client_id IN (SELECT unnest($2::uuid[])) AND f.retired_at IS NULL
            """,
            tenant_id,
            list(client_ids),
        )
        values: dict[uuid.UUID, dict[str, Any]] = {}
        for r in rows:
            values.setdefault(r["client_id"], {})[f"{PREFIX}{r['key']}"] = json.loads(r["value"])
        return values

    async def save(self, tenant_id: uuid.UUID, values: dict[uuid.UUID, dict[str, Any]]) -> None:
        """Store the values of custom columns (other extensions' keys are theirs); None removes a value.

        Each statement finds the live field of a key itself (a retired or unknown key stores nothing): an
        import saves a batch's values without reading the tenant's field definitions again."""
        upserts: list[tuple[uuid.UUID, str, str]] = []
        removals: list[tuple[uuid.UUID, str]] = []
        for client_id, found in values.items():
            for key, value in found.items():
                if not key.startswith(PREFIX):
                    continue
                if value is None:
                    removals.append((client_id, key.removeprefix(PREFIX)))
                else:
                    upserts.append((client_id, key.removeprefix(PREFIX), json.dumps(value)))
        if removals:
            await self._conn.execute(
                "DELETE FROM client_custom_values v"
                " USING unnest($2::uuid[], $3::text[]) AS n(c, k), client_custom_fields f"
                " WHERE v.tenant_id = $1 AND f.tenant_id = $1 AND f.key = n.k AND f.retired_at IS NULL"
                " AND v.client_id = n.c AND v.field_id = f.id",
                tenant_id,
                [c for c, _ in removals],
                [k for _, k in removals],
            )
        if upserts:
            await self._conn.execute(
                "INSERT INTO client_custom_values (tenant_id, client_id, field_id, value)"
                " SELECT $1, n.c, f.id, n.v::jsonb FROM unnest($2::uuid[], $3::text[], $4::text[]) AS n(c, k, v)"
                " JOIN client_custom_fields f ON f.tenant_id = $1 AND f.key = n.k AND f.retired_at IS NULL"
                " ON CONFLICT (tenant_id, client_id, field_id) DO UPDATE SET value = excluded.value",
                tenant_id,
                [c for c, _, _ in upserts],
                [k for _, k, _ in upserts],
                [v for _, _, v in upserts],
            )
