"""What callers ask of client imports (upload, dry run, import, problems) and of the export's extra columns, in
the imperative. The run over a file is a command too: the worker that claimed a job asks for it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from client_svc.domain.imports import JobRow


@dataclass(frozen=True)
class CreateImport:
    tenant_id: uuid.UUID
    created_by: str
    filename: str
    now: datetime = field(kw_only=True)


@dataclass(frozen=True)
class AppendImportChunk:
    """Store chunk ``seq`` of the file (chunks come in order; a repeat of a stored one is ignored)."""

    tenant_id: uuid.UUID
    import_id: uuid.UUID
    seq: int
    data: bytes


@dataclass(frozen=True)
class FinishImportUpload:
    tenant_id: uuid.UUID
    import_id: uuid.UUID


@dataclass(frozen=True)
class GetImport:
    tenant_id: uuid.UUID
    import_id: uuid.UUID


@dataclass(frozen=True)
class DryRunImport:
    """Check the mapping and options now; read every row in the background (nothing written)."""

    tenant_id: uuid.UUID
    import_id: uuid.UUID
    mapping: Sequence[str] | None  # None: the suggested mapping
    duplicates: str
    all_or_nothing: bool
    default_region: str
    max_clients: int


@dataclass(frozen=True)
class StartImport:
    tenant_id: uuid.UUID
    import_id: uuid.UUID
    max_clients: int


@dataclass(frozen=True)
class ListImportProblems:
    tenant_id: uuid.UUID
    import_id: uuid.UUID
    after: int  # the last row number of the page before
    limit: int


@dataclass(frozen=True)
class DeleteImport:
    tenant_id: uuid.UUID
    import_id: uuid.UUID


@dataclass(frozen=True)
class ListExtraColumns:
    """The columns beyond the client record's own fields (custom fields) a tenant's import and export have."""

    tenant_id: uuid.UUID


@dataclass(frozen=True)
class LoadExtraValues:
    """The values of the extra columns of these clients (for the export)."""

    tenant_id: uuid.UUID
    client_ids: Sequence[uuid.UUID]


@dataclass(frozen=True)
class ClaimImport:
    """The next job a worker may run (free or with an expired lease), leased to ``owner``."""

    owner: str


@dataclass(frozen=True)
class ReleaseImports:
    """A worker stopping lets go of its leases, so another replica resumes at once."""

    owner: str


@dataclass(frozen=True)
class PurgeImports:
    """Finished jobs past their retention, and uploads abandoned for a day."""


@dataclass(frozen=True)
class RunImport:
    """Work on a claimed job (its dry run or its import) until it is validated, completed or failed."""

    job: JobRow
    owner: str
