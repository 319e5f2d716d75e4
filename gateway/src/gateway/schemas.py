"""Request and response bodies of the REST API (pydantic), also the source of the OpenAPI schemas."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from gateway.identity.model import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class Body(BaseModel):
    # Unknown fields are refused: a tenant or id smuggled into a body is an error, not ignored.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _valid_timezone(value: str) -> str:
    if value not in _timezones():
        raise ValueError("is not an IANA timezone, e.g. Europe/Berlin")
    return value


def _valid_country(value: str) -> str:
    country = value.upper()
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("is not an ISO 3166-1 alpha-2 country code, e.g. US")
    return country


def _lower(value: str) -> str:
    return value.lower()


Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
AccountEmail = Annotated[EmailStr, AfterValidator(_lower)]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_valid_country)]
Timezone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_valid_timezone)]
Name = Annotated[str, StringConstraints(max_length=100)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9-]+$")]

# Days and instants the API takes: from 1900 (before it, zones keep local mean time, whose offsets have seconds no
# RFC 3339 time can show) to the year 2999 (ahead of it, a week or a horizon added overflows).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def _instant_in_range(value: datetime) -> datetime:
    if not datetime(1900, 1, 1, tzinfo=UTC) <= value < datetime(3000, 1, 1, tzinfo=UTC):
        raise ValueError("must lie between 1900 and 2999")
    return value


CalendarDay = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
Instant = Annotated[AwareDatetime, AfterValidator(_instant_in_range)]


# --- auth ---------------------------------------------------------------------------------------


class SignUpBody(Body):
    business_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    country: Country
    timezone: Timezone
    owner_email: AccountEmail
    owner_password: Password


class StaffLoginBody(Body):
    email: AccountEmail
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        default=None, description="The authenticator's current code, for accounts with two-factor sign-in."
    )


class PortalLoginBody(Body):
    tenant: Slug = Field(description="The business's handle (slug), as in its portal address.")
    email: AccountEmail
    password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


class RefreshBody(Body):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Tokens(Out):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class TenantOut(Out):
    id: str
    name: str
    slug: str
    country: str
    timezone: str


class StaffOut(Out):
    id: str
    email: str
    role: Literal["owner", "admin", "staff"]


class SignUpOut(Out):
    tenant: TenantOut
    owner: StaffOut
    tokens: Tokens


class MeOut(Out):
    kind: Literal["staff", "portal"]
    id: str
    email: str
    role: str | None
    client_id: str | None
    tenant: TenantOut


class AddStaffBody(Body):
    email: AccountEmail
    password: Password
    role: Literal["admin", "staff"]


# --- clients ------------------------------------------------------------------------------------


class AddressIn(Body):
    line1: Annotated[str, StringConstraints(max_length=200)] = ""
    line2: Annotated[str, StringConstraints(max_length=200)] = ""
    city: Annotated[str, StringConstraints(max_length=100)] = ""
    region: Annotated[str, StringConstraints(max_length=100)] = ""
    postal_code: Annotated[str, StringConstraints(max_length=20)] = ""
    country: Annotated[str, StringConstraints(max_length=2)] = Field(default="", description="ISO 3166-1 alpha-2")


class MoneyIn(Body):
    amount_minor: int = Field(ge=-(10**12), le=10**12, description="Integer minor units (cents).")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] = Field(description="ISO 4217")


class ProfileIn(Body):
    kind: Literal["individual", "business"] = "individual"
    company_name: Annotated[str, StringConstraints(max_length=200)] = ""
    address: AddressIn = Field(default_factory=AddressIn)
    date_of_birth: CalendarDay | None = None
    preferred_language: Annotated[str, StringConstraints(max_length=35)] = Field(default="", description="e.g. fr-CA")
    timezone: Annotated[str, StringConstraints(max_length=64)] = Field(
        default="", description="IANA, e.g. Europe/Berlin"
    )
    source: Literal["staff", "import", "portal", "booking_widget"] = "staff"
    default_invoicing_method: Literal["email", "portal", "print", "none"] = "email"
    opening_balance: MoneyIn | None = None


class MoneyOut(Out):
    amount_minor: int
    currency: str


class AddressOut(Out):
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str


class ProfileOut(Out):
    kind: Literal["individual", "business"]
    company_name: str
    address: AddressOut
    date_of_birth: date | None
    preferred_language: str
    timezone: str
    source: str
    default_invoicing_method: str
    opening_balance: MoneyOut | None


ContactLabel = Literal["mobile", "work", "home", "other"]


class ContactPointIn(Body):
    value: Annotated[str, StringConstraints(min_length=1, max_length=254)] = Field(
        description="An email, or a phone number in any format (national numbers in the business's country)."
    )
    label: ContactLabel = "other"
    primary: bool = Field(default=False, description="One per kind; the first is primary when none is marked.")


class ContactPointOut(Out):
    value: str = Field(description="Normalized email, or E.164 phone.")
    label: ContactLabel
    primary: bool


class ContactPersonIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    role: Annotated[str, StringConstraints(max_length=100)] = ""
    email: Annotated[str, StringConstraints(max_length=254)] = ""
    phone: Annotated[str, StringConstraints(max_length=40)] = ""


class ContactPersonOut(Out):
    name: str
    role: str
    email: str | None
    phone: str | None = Field(description="E.164")


ContactPoints = Annotated[list[ContactPointIn], Field(max_length=10)]
ContactPersons = Annotated[list[ContactPersonIn], Field(max_length=20)]
CustomValues = Annotated[
    dict[Annotated[str, StringConstraints(max_length=50)], Any],
    Field(max_length=200, description="Custom field values by field key; null clears a value (on change)."),
]


class CreateClientBody(Body):
    first_name: Name
    last_name: Name = ""
    email: Annotated[str, StringConstraints(max_length=254)] = ""
    phone: Annotated[str, StringConstraints(max_length=40)] = Field(
        default="", description="Any format; national numbers are read in the business's country."
    )
    profile: ProfileIn | None = Field(default=None, description="For a business, first_name may be empty.")
    emails: ContactPoints | None = Field(default=None, description="Several emails; `email` is then the primary.")
    phones: ContactPoints | None = Field(default=None, description="Several phones; `phone` is then the primary.")
    contact_persons: ContactPersons | None = Field(default=None, description="Business clients only.")
    custom_fields: CustomValues | None = None


class UpdateClientBody(Body):
    """Only the fields present change; an empty email or phone clears it."""

    first_name: Name | None = None
    last_name: Name | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    profile: ProfileIn | None = Field(default=None, description="Replaces the whole profile when given.")
    emails: ContactPoints | None = Field(default=None, description="Replaces every email (then leave out `email`).")
    phones: ContactPoints | None = Field(default=None, description="Replaces every phone (then leave out `phone`).")
    contact_persons: ContactPersons | None = Field(default=None, description="Replaces the contact persons.")
    custom_fields: CustomValues | None = Field(default=None, description="Only the keys given change.")


class OnlineBookingBlockBody(Body):
    blocked: bool
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class ClientOut(Out):
    id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None = Field(description="E.164")
    created_at: datetime
    updated_at: datetime
    online_booking_blocked: bool
    online_booking_blocked_until: datetime | None = Field(
        default=None, description="Set while the block ends by itself then (e.g. after repeated no-shows)."
    )
    deleted_at: datetime | None = Field(description="Set while the client is deleted (restorable).")
    version: int = Field(description="Incremented on every change.")
    status_id: str | None
    status_label: str | None
    assigned_staff_ids: list[str] = Field(description="Staff users assigned to this client.")
    group_staff_ids: list[str] = Field(description="Staff users assigned to the client through its groups.")
    tags: list[str]
    profile: ProfileOut
    emails: list[ContactPointOut] = Field(description="Every email, the primary (also `email`) first.")
    phones: list[ContactPointOut] = Field(description="Every phone, the primary (also `phone`) first.")
    contact_persons: list[ContactPersonOut]
    custom_fields: dict[str, Any] = Field(description="Custom field values by field key.")
    merged_from: str | None = Field(
        default=None, description="Set when the id asked for was merged into this client: that id."
    )
    erased_at: datetime | None = Field(default=None, description="Set once the client's personal data was erased.")


class ClientTagsBody(Body):
    tags: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=40)]], Field(max_length=30)]


class ClientStaffBody(Body):
    staff_ids: Annotated[list[str], Field(max_length=20)]


class ClientStatusOut(Out):
    id: str
    label: str
    position: int
    is_default: bool = Field(description="The status new clients get.")
    archived: bool


class ClientStatusList(Out):
    items: list[ClientStatusOut]


class ClientStatusesQuery(Body):
    include_archived: bool = False


class CreateClientStatusBody(Body):
    label: Annotated[str, StringConstraints(min_length=1, max_length=50)]


class UpdateClientStatusBody(Body):
    label: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    make_default: Literal[True] | None = Field(default=None, description="true makes this the default status.")


class ReorderClientStatusesBody(Body):
    ids: Annotated[list[str], Field(min_length=1, max_length=100)]


class SetClientStatusBody(Body):
    status_id: str


class PageQuery(Body):
    page_size: int = Field(default=50, ge=1, le=200)
    page_token: Annotated[str, StringConstraints(max_length=200)] = ""


class ClientFilters(Body):
    """The list's filters (the export takes the same)."""

    q: Annotated[str, StringConstraints(max_length=100)] = Field(
        default="",
        description="A phone number in any format, the start of an email, or name words: clients whose first or "
        "last name starts with every word come first, then those a typo away (one per word, any word of the "
        "first, last or company name).",
    )
    include_deleted: bool = False
    only_deleted: bool = Field(default=False, description="Only deleted clients (restorable).")
    blocked: bool | None = Field(
        default=None, description="Only clients blocked (true) or not blocked (false) from online booking."
    )
    status_id: Annotated[str, StringConstraints(max_length=40)] = ""
    tag: Annotated[str, StringConstraints(max_length=40)] = ""
    group_id: Annotated[str, StringConstraints(max_length=40)] = ""
    assigned_to: Annotated[str, StringConstraints(max_length=40)] = Field(
        default="", description='"me" or a staff user id: only the clients assigned to them.'
    )


class ClientListQuery(PageQuery, ClientFilters):
    sort: Literal["newest", "oldest", "name", "name_desc", "updated"] = Field(
        default="newest",
        description="newest or oldest first, by last then first name (name, name_desc), or most recently changed"
        " first (updated). A search by name words lists its best matches first and takes no other sort.",
    )


class ClientPage(Out):
    items: list[ClientOut]
    next_page_token: str | None


MessageStatus = Literal["planned", "sending", "sent", "delivered", "failed", "skipped", "cancelled"]


class AttemptOut(Out):
    number: int
    channel: str
    at: str
    outcome: Literal["sent", "failed", "sending", "unknown"] = Field(
        description="sending: in flight now; unknown: its sender stopped while handing it over (it may have "
        "gone out, and is not sent again)"
    )
    error: str


class MessageOut(Out):
    id: str
    kind: str
    category: Literal["transactional", "reminders", "marketing"]
    channel: Literal["email", "sms", "in_app"]
    recipient_kind: str
    recipient_id: str
    client_id: str | None
    status: MessageStatus
    to_address: str
    subject: str
    language: str
    due_at: str
    sent_at: str | None
    attempts: int
    last_error: str
    skip_reason: str
    created_at: str
    attempt_log: list[AttemptOut]


class ActivityEntryOut(Out):
    id: str
    kind: str = Field(
        description="What happened, e.g. client.created; message.email, message.sms or "
        "message.in_app for a message the client was sent"
    )
    summary: str
    occurred_at: datetime
    source_event_type: str
    message: MessageOut | None = Field(
        description="A message the client was sent, with its delivery state and attempts as they are now"
    )


class ActivityPage(Out):
    items: list[ActivityEntryOut]
    next_page_token: str | None


class PortalInvitationBody(Body):
    email: AccountEmail | None = Field(default=None, description="Defaults to the client's email.")


class PortalInvitationOut(Out):
    email: str
    token: str = Field(description="One-time token; the client sets a password with it.")
    accept_url: str
    expires_at: datetime


class AcceptInvitationBody(Body):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Password


# --- operations ---------------------------------------------------------------------------------


class Health(Out):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


class NoteBody(Body):
    body: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class NoteOut(Out):
    id: str
    body: str
    author_id: str = Field(description="The staff user who wrote it.")
    created_at: datetime
    updated_at: datetime
    revision: int = Field(description="1 for a note never edited.")


class NotePage(Out):
    items: list[NoteOut]
    next_page_token: str | None


class NoteRevisionOut(Out):
    revision: int
    body: str
    edited_by: str
    edited_at: datetime


class NoteHistoryOut(Out):
    note_id: str
    revisions: list[NoteRevisionOut]


class CardSection(Out):
    status: Literal["ok", "unavailable"]
    data: Any = None


class CardHighlights(Out):
    next_appointment: CardSection = Field(description="The next upcoming appointment (AppointmentOut) or null.")
    pending_payment: CardSection = Field(
        description="Per currency with something to pay: outstanding, overdue, open invoice count, oldest due invoice"
        " (CurrencyBalanceOut); an empty list when nothing is pending."
    )
    open_request: CardSection = Field(
        description="Open appointment requests: {open_count, oldest (RequestOut) or null, approval_required_until:"
        " while the business's repeated no-show rule has staff approve the client's requests, until when, else null}."
    )


class ClientCardOut(Out):
    client_id: str
    information: CardSection = Field(description="The client record (ClientOut).")
    assigned_staff: CardSection = Field(
        description="Assigned staff members: id, email, role, and via_group (assigned through a group only)."
    )
    latest_note: CardSection = Field(description="The most recent note (NoteOut) or null.")
    timeline: CardSection = Field(description="The first page of the activity timeline (ActivityPage).")
    highlights: CardHighlights = Field(description="Each highlight with its own status ok or unavailable.")


class GroupBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]


class GroupMembersBody(Body):
    client_ids: Annotated[list[Annotated[str, StringConstraints(max_length=40)]], Field(min_length=1, max_length=1000)]


class GroupOut(Out):
    id: str
    name: str
    member_count: int
    staff_ids: list[str] = Field(description="Staff users assigned to the group: to each of its clients.")


class GroupStaffBody(Body):
    staff_ids: Annotated[list[str], Field(max_length=20)]


class GroupList(Out):
    items: list[GroupOut]


class PermissionsBody(Body):
    view_appointments: bool
    view_invoices: bool
    view_documents: bool
    edit_profile: bool


class PermissionsOut(Out):
    view_appointments: bool
    view_invoices: bool
    view_documents: bool
    edit_profile: bool


class PermissionOverrides(Body):
    """null (or absent): the business's default applies."""

    view_appointments: bool | None = None
    view_invoices: bool | None = None
    view_documents: bool | None = None
    edit_profile: bool | None = None


class ClientPortalAccessBody(Body):
    enabled: bool
    permissions: PermissionOverrides = Field(default_factory=PermissionOverrides)


class ClientPortalAccessOut(Out):
    enabled: bool
    overrides: dict[str, bool | None]
    effective: PermissionsOut


class PortalProfileBody(Body):
    """What a client may change about themselves, when the business allows it."""

    first_name: Name | None = None
    last_name: Name | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    custom_fields: CustomValues | None = Field(
        default=None, description="Values of the custom fields collected on the portal profile form."
    )


class DuplicatesQuery(Body):
    limit: int = Field(default=50, ge=1, le=200)


class DuplicatePairOut(Out):
    first: ClientOut
    second: ClientOut
    score: float = Field(description="0..1: how likely the two are one person.")
    reasons: list[Literal["same_email", "same_phone", "same_name"]]


class DuplicatePairs(Out):
    items: list[DuplicatePairOut]
