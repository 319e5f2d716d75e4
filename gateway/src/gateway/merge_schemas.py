"""Bodies of the merge and erasure endpoints (pydantic; also their OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gateway.schemas import Body, ClientOut, Out

Id = Annotated[str, StringConstraints(max_length=40)]
# The service names the fields a merge settles (client_svc.domain.merge.MERGE_FIELDS) and refuses others
# (422 naming field_choices.<name>), so a field added there needs no change here.
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class MergeBody(Body):
    survivor_id: Id = Field(description="The client that stays.")
    merged_ids: Annotated[list[Id], Field(min_length=1, max_length=10)] = Field(
        description="The duplicates merged into the survivor, in order of preference for values it lacks."
    )
    field_choices: dict[FieldName, Id] = Field(
        default_factory=dict,
        description="Field -> id of the client (survivor or merged) whose value survives. A field not named "
        "keeps the survivor's value, or takes the first non-empty one among merged_ids. Fields: first_name, "
        "last_name, email, phone, kind, company_name, address, date_of_birth, preferred_language, timezone, "
        "default_invoicing_method, status, online_booking_blocked.",
    )


class ClientMergeOut(Out):
    id: str
    survivor_id: str
    merged_ids: list[str]
    merged_at: datetime
    undo_until: datetime = Field(description="A merge can be undone until then (30 days).")
    unmerged_at: datetime | None
    undoable: bool
    merged_by: str = Field(description="The staff user who merged.")
    fields_taken: dict[str, str] = Field(description="Fields whose value came from a merged client: field -> its id.")
    moved: dict[str, int] = Field(description="Records moved to the survivor, by kind (notes, tags, groups, ...).")
    survivor: ClientOut | None = Field(description="The survivor as it is now.")


class ClientMergeList(Out):
    items: list[ClientMergeOut]


class EraseClientBody(Body):
    confirm: Literal[True] = Field(description="Must be true: erasure is irreversible.")
