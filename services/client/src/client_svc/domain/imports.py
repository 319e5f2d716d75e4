"""Clients in and out of spreadsheets: the columns, how headers map to them, one row read and judged.

Pure rules (no I/O). A row is validated by the very rules that create a client by hand (``Client.register``,
``Client.update``), so an import can never hold what the API would refuse. The same columns are written by
the export, so an exported file imports again unchanged.

Columns beyond the client record's own (custom fields as ``custom:<key>``) plug in as ``ExtraColumn``s: the
service layer passes the tenant's extra columns to every function here.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol

from client_svc.domain import commands, events
from client_svc.domain.contact import ContactError, normalize_email, normalize_phone
from client_svc.domain.contact_details import (
    LABELS,
    MAX_POINTS_PER_KIND,
    ContactPointInput,
    PointValue,
    points_of,
    read_points,
)
from client_svc.domain.model import Client
from client_svc.domain.profile import Address, ProfileInput
from client_svc.domain.statuses import ClientStatus
from platform_core.errors import DomainError, InvalidArgument
from platform_core.validation import Violations

MAX_COLUMNS = 200
MAX_HEADER_LENGTH = 200
MAX_EXTERNAL_ID_LENGTH = 200
TAG_SEPARATOR = ";"
# A secondary email or phone with its label: "ada@work.example (work)"; no label reads as "other".
_LABELLED = re.compile(r"^(?P<value>.*?)\s*\((?P<label>[A-Za-z]+)\)$")
FORMATS = ("csv", "xlsx")
DUPLICATE_POLICIES = ("skip", "update", "create")
DuplicatePolicy = Literal["skip", "update", "create"]


@dataclass(frozen=True)
class ImportField:
    key: str
    label: str
    # Header spellings (normalized: lower case, words separated by one space) that suggest this field.
    synonyms: tuple[str, ...] = ()
    # Written by the export; full_name is an import convenience only (first and last are exported).
    exported: bool = True


FIELDS: tuple[ImportField, ...] = (
    ImportField("id", "Atrium client id", ("client id", "atrium id", "atrium client id")),
    ImportField(
        "external_id",
        "Id in the system the clients come from",
        (
            "external id",
            "ext id",
            "legacy id",
            "import id",
            "customer id",
            "customer number",
            "customer no",
            "client number",
            "client no",
            "member id",
            "member number",
            "account number",
            "reference",
            "ref",
        ),
    ),
    ImportField(
        "full_name",
        "Full name (split into first and last name)",
        ("name", "full name", "client name", "customer name", "contact name", "client", "customer"),
        exported=False,
    ),
    ImportField("first_name", "First name", ("first name", "firstname", "given name", "forename", "first")),
    ImportField("last_name", "Last name", ("last name", "lastname", "surname", "family name", "last")),
    ImportField("kind", "Individual or business", ("type", "client type", "customer type", "client kind")),
    ImportField(
        "company_name",
        "Company name",
        ("company", "business", "business name", "organization", "organisation", "organization name"),
    ),
    ImportField("email", "Email", ("e mail", "email address", "e mail address", "mail", "email 1", "primary email")),
    ImportField(
        "phone",
        "Phone",
        (
            "phone number",
            "mobile",
            "mobile phone",
            "mobile number",
            "cell",
            "cell phone",
            "telephone",
            "tel",
            "phone 1",
            "primary phone",
        ),
    ),
    ImportField(
        "other_emails",
        f"Other emails (separated by {TAG_SEPARATOR}, each with its label in brackets, e.g. a@b.com (work))",
        ("other emails", "email 2", "secondary email", "secondary emails", "additional emails", "alternate email"),
    ),
    ImportField(
        "other_phones",
        f"Other phones (separated by {TAG_SEPARATOR}, each with its label in brackets, e.g. +1 212 555 0142 (home))",
        ("other phones", "phone 2", "secondary phone", "secondary phones", "additional phones", "alternate phone"),
    ),
    ImportField(
        "address_line1", "Address line 1", ("address", "address 1", "address line 1", "street", "street address")
    ),
    ImportField("address_line2", "Address line 2", ("address 2", "address line 2", "apartment", "suite")),
    ImportField("address_city", "City", ("city", "town", "locality")),
    ImportField("address_region", "State or region", ("region", "state", "province", "county", "state province")),
    ImportField("address_postal_code", "Postal code", ("postal code", "postcode", "zip", "zip code", "postal")),
    ImportField("address_country", "Country (ISO code, e.g. US)", ("country", "country code")),
    ImportField("date_of_birth", "Date of birth (YYYY-MM-DD)", ("birth date", "birthdate", "birthday", "dob")),
    ImportField("preferred_language", "Language (e.g. en, fr-CA)", ("language", "locale")),
    ImportField("timezone", "Timezone (e.g. Europe/Berlin)", ("time zone", "tz")),
    ImportField(
        "default_invoicing_method",
        "Invoicing method (email, portal, print, none)",
        ("invoicing method", "invoice method", "invoice delivery"),
    ),
    ImportField("opening_balance", "Opening balance (e.g. 120.50)", ("balance", "opening balance amount")),
    ImportField("opening_balance_currency", "Opening balance currency (e.g. USD)", ("currency", "balance currency")),
    ImportField("status", "Status", ("client status", "stage")),
    ImportField("tags", f"Tags (separated by {TAG_SEPARATOR})", ("tag", "categories", "category", "labels")),
)
FIELD_KEYS = frozenset(f.key for f in FIELDS)


class JobRow(Protocol):
    """An import job as stored (its columns by name: an asyncpg record, or a dict in tests)."""

    def __getitem__(self, key: str, /) -> Any: ...


NAME_FIELDS = ("first_name", "full_name", "company_name")
MATCH_FIELDS = ("id", "external_id", "email", "phone")

# ISO 4217 currencies whose minor unit is not the cent (the rest have two decimals).
_CURRENCY_DECIMALS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF"), 0
    ),
    **dict.fromkeys(("XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
_AMOUNT = re.compile(r"^[+-]?\d{1,15}(\.\d{1,6})?$")


@dataclass(frozen=True)
class ExtraColumn:
    """A column beyond the client record's own fields: a custom field (``custom:<key>``), a second phone...

    ``parse`` turns a cell into a value or raises ValueError with a message people understand; ``format``
    writes a value back as a cell. Values travel in ``ImportedRow.extra`` to whoever stores them. A
    ``regional`` column's ``parse`` also takes the import's default region (a phone number written without
    its country code is read in it, as the phone column is).
    """

    key: str
    label: str
    parse: Callable[..., Any]
    format: Callable[[Any], str]
    regional: bool = False
    # A new client must have a value (a required custom field of the staff form).
    required: bool = False

    def read(self, cell: str, region: str | None) -> Any:
        return self.parse(cell, region) if self.regional else self.parse(cell)


def normalize_header(header: str) -> str:
    """``"E-mail Address "`` -> ``"e mail address"``."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.lower()).split())


def _suggestions(extra: Sequence[ExtraColumn]) -> dict[str, str]:
    table: dict[str, str] = {}
    for f in FIELDS:
        for spelling in (f.key, f.label, *f.synonyms):
            table.setdefault(normalize_header(spelling), f.key)
    for column in extra:
        table.setdefault(column.key.lower(), column.key)
        table.setdefault(normalize_header(column.label), column.key)
    return table


def suggest_mapping(headers: Sequence[str], extra: Sequence[ExtraColumn] = ()) -> list[str]:
    """The field each column most likely holds ("" when none); a field goes to the first column naming it."""
    table = _suggestions(extra)
    taken: set[str] = set()
    mapping = []
    for header in headers:
        raw = header.strip()
        key = table.get(raw.lower()) if raw.lower().startswith("custom:") else None
        key = key or table.get(normalize_header(raw), "")
        if key and (key in taken or (key == "full_name" and taken & {"first_name", "last_name"})):
            key = ""
        if key in ("first_name", "last_name") and "full_name" in taken:
            key = ""
        if key:
            taken.add(key)
        mapping.append(key)
    return mapping


def check_mapping(
    mapping: Sequence[str], headers: Sequence[str], extra: Sequence[ExtraColumn] = (), *, updating: bool = False
) -> list[str]:
    """The mapping, tidied; InvalidArgument naming each wrong entry (``mapping[3]``) or what is missing.

    A name column is required, except in a file that updates clients (``updating``) and maps a column that
    identifies them: its rows that match nobody are then rejected one by one for want of a name.
    """
    known = FIELD_KEYS | {c.key for c in extra}
    if len(mapping) != len(headers):
        raise InvalidArgument.single("mapping", f"give one entry per column of the file ({len(headers)})")
    tidy = [m.strip() for m in mapping]
    violations = Violations()
    first_column: dict[str, int] = {}
    for i, key in enumerate(tidy):
        if not key:
            continue
        if key not in known:
            violations.add(f"mapping[{i}]", f"{key!r} is not a field clients can be imported into")
        elif key in first_column:
            violations.add(f"mapping[{i}]", f"{key!r} is already mapped to column {headers[first_column[key]]!r}")
        else:
            first_column[key] = i
    if "full_name" in first_column and {"first_name", "last_name"} & first_column.keys():
        violations.add("mapping", "map full_name, or first_name and last_name, not both")
    identified = updating and bool(set(MATCH_FIELDS) & first_column.keys())
    for column in extra:
        if column.required and column.key not in first_column and not identified:
            violations.add(
                "mapping",
                f"missing required column: map a column to {column.key} ({column.label}), a field every new"
                " client must have",
            )
    if not set(NAME_FIELDS) & first_column.keys() and not identified:
        violations.add(
            "mapping",
            "missing required column: map a column to first_name or full_name (or company_name for businesses);"
            " a file that only updates clients needs duplicates=update and an id, external_id, email or phone"
            " column",
        )
    violations.raise_if_any()
    return tidy


@dataclass(frozen=True)
class ImportOptions:
    duplicates: DuplicatePolicy = "skip"
    all_or_nothing: bool = False
    default_region: str = ""
    # The tenant's plan limit on live clients; 0: none.
    max_clients: int = 0


def read_options(duplicates: str, all_or_nothing: bool, default_region: str, max_clients: int) -> ImportOptions:
    policy = duplicates.strip() or "skip"
    if policy not in DUPLICATE_POLICIES:
        raise InvalidArgument.single("duplicates", f"must be one of {', '.join(DUPLICATE_POLICIES)}")
    return ImportOptions(policy, all_or_nothing, default_region, max(max_clients, 0))  # type: ignore[arg-type]


@dataclass(frozen=True)
class RowProblem:
    column: str  # the header of the column at fault, or the field when no column holds it
    message: str


# Our CSV export writes a cell a spreadsheet would run as a formula behind an apostrophe (the gateway's
# tabular.as_text_cell); reading such a file back takes it off, so an export imports as it was.
_PROTECTED_FORMULA = re.compile(r"'[=+\-@]")


def text_of_cell(cell: str) -> str:
    return cell[1:] if _PROTECTED_FORMULA.match(cell) else cell


class RowRejected(DomainError):
    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("; ".join(f"{p.column}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Columns:
    """A file's header row and its mapping: which cell of a row holds which field."""

    headers: tuple[str, ...]
    mapping: tuple[str, ...]
    extra: tuple[ExtraColumn, ...] = ()

    def values(self, cells: Sequence[str]) -> dict[str, str]:
        """Field -> cell text (stripped), for the mapped columns; cells beyond the header are ignored."""
        values: dict[str, str] = {}
        for key, cell in zip(self.mapping, cells, strict=False):
            if key:
                values[key] = text_of_cell(cell.strip())
        return values

    def header_of(self, key: str) -> str:
        for header, mapped in zip(self.headers, self.mapping, strict=True):
            if mapped == key:
                return header
        return key

    @property
    def extra_by_key(self) -> dict[str, ExtraColumn]:
        return {c.key: c for c in self.extra if c.key in self.mapping}


def split_full_name(full: str) -> tuple[str, str]:
    """``"Ada Lovelace"`` -> (Ada, Lovelace); ``"Lovelace, Ada"`` -> (Ada, Lovelace); one word is a first name."""
    text = " ".join(full.split())
    if "," in text:
        last, _, first = text.partition(",")
        return first.strip(), last.strip()
    first, _, last = text.rpartition(" ")
    return (first, last) if first else (last, "")


def currency_decimals(currency: str) -> int:
    return _CURRENCY_DECIMALS.get(currency.upper(), 2)


def parse_amount(text: str, currency: str) -> int:
    """``"120.50"`` in USD -> 12050 (minor units); ValueError when it is no amount of that currency."""
    cleaned = text.replace(" ", "")
    if not _AMOUNT.match(cleaned):
        raise ValueError("must be an amount like 120.50")
    decimals = currency_decimals(currency)
    try:
        minor = Decimal(cleaned).scaleb(decimals)
    except InvalidOperation as exc:
        raise ValueError("must be an amount like 120.50") from exc
    if minor != minor.to_integral_value():
        raise ValueError(f"has more decimals than {currency.upper() or 'the currency'} allows ({decimals})")
    return int(minor)


def format_amount(minor: int | None, currency: str | None) -> str:
    if minor is None or not currency:
        return ""
    decimals = currency_decimals(currency)
    return f"{Decimal(minor).scaleb(-decimals):.{decimals}f}"


# Where the domain's own field names (violations of Client.register/update) live in the import columns.
_VIOLATION_FIELDS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "tags": "tags",
    "profile.kind": "kind",
    "profile.company_name": "company_name",
    "profile.date_of_birth": "date_of_birth",
    "profile.preferred_language": "preferred_language",
    "profile.timezone": "timezone",
    "profile.default_invoicing_method": "default_invoicing_method",
    "profile.opening_balance.currency": "opening_balance_currency",
    "profile.opening_balance.amount_minor": "opening_balance",
    **{f"profile.address.{part}": f"address_{part}" for part in ("line1", "line2", "city", "region", "country")},
    "profile.address.postal_code": "address_postal_code",
}


@dataclass
class ImportedRow:
    """One data row of the file, read: what it says, in the domain's terms."""

    number: int  # as a spreadsheet numbers it: the header is row 1
    cells: tuple[str, ...]
    values: dict[str, str]
    client_id: uuid.UUID | None = None  # the id column
    external_id: str | None = None
    email: str | None = None  # normalized, for matching
    phone: str | None = None  # E.164, for matching
    status: ClientStatus | None = None
    tags: list[str] | None = None  # None: the column is not mapped or the cell is empty
    # Secondary emails / phones by kind, normalized; a kind is absent when its cell is empty.
    other_points: dict[str, tuple[ContactPointInput, ...]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)

    def key_column(self, columns: Columns) -> str:
        """The header of the first column that identifies the row's client (id, external id, email, phone)."""
        return columns.header_of(self.match_keys()[0][0]) if self.match_keys() else columns.header_of("id")

    def match_keys(self) -> list[tuple[str, str]]:
        keys = []
        if self.client_id is not None:
            keys.append(("id", str(self.client_id)))
        if self.external_id:
            keys.append(("external_id", self.external_id))
        if self.email:
            keys.append(("email", self.email.lower()))
        if self.phone:
            keys.append(("phone", self.phone))
        return keys


class StatusLookup:
    """The tenant's statuses by label, whatever the case (a live one first when an archived one shares its
    label): an exported client keeps its archived status through an import; a new one cannot get it."""

    def __init__(self, statuses: Iterable[ClientStatus]) -> None:
        ordered = sorted(statuses, key=lambda s: not s.archived)
        self._by_label: dict[str, ClientStatus] = {}
        for status in ordered:
            self._by_label.setdefault(status.label.lower(), status)

    def find(self, label: str) -> ClientStatus | None:
        return self._by_label.get(" ".join(label.split()).lower())


def read_row(
    number: int, cells: Sequence[str], columns: Columns, *, default_region: str, statuses: StatusLookup
) -> ImportedRow:
    """The row's keys and references, checked; each broken rule becomes a problem naming its column."""
    values = columns.values(cells)
    row = ImportedRow(number, tuple(cells), values)

    def bad(key: str, message: str) -> None:
        row.problems.append(RowProblem(columns.header_of(key), message))

    if raw_id := values.get("id"):
        try:
            row.client_id = uuid.UUID(raw_id)
        except ValueError:
            bad("id", "is not an Atrium client id")
    if external := values.get("external_id"):
        if len(external) > MAX_EXTERNAL_ID_LENGTH:
            bad("external_id", f"must be at most {MAX_EXTERNAL_ID_LENGTH} characters")
        else:
            row.external_id = external
    if email := values.get("email"):
        try:
            row.email = normalize_email(email)
        except ContactError as exc:
            bad("email", str(exc))
    if phone := values.get("phone"):
        try:
            row.phone = normalize_phone(phone, default_region or None)
        except ContactError as exc:
            bad("phone", str(exc))
    for kind in ("email", "phone"):
        if cell := values.get(f"other_{kind}s"):
            row.other_points[kind] = read_other_points(
                kind, cell, default_region or None, functools.partial(bad, f"other_{kind}s")
            )
    if label := values.get("status"):
        row.status = statuses.find(label)
        if row.status is None:
            bad("status", f"no status {label!r} in this business")
    if tags := values.get("tags"):
        row.tags = [t for t in (part.strip() for part in tags.split(TAG_SEPARATOR)) if t]
    for key, column in columns.extra_by_key.items():
        if cell := values.get(key):
            try:
                row.extra[key] = column.read(cell, default_region or None)
            except ValueError as exc:
                bad(key, str(exc))
    if values.get("opening_balance"):
        try:
            parse_amount(values["opening_balance"], values.get("opening_balance_currency", ""))
        except ValueError as exc:
            bad("opening_balance", str(exc))
    return row


def read_other_points(
    kind: str, cell: str, region: str | None, bad: Callable[[str], None]
) -> tuple[ContactPointInput, ...]:
    """A cell of secondary emails (or phones), ``value (label); value``: each checked by the API's rules."""
    items = [part.strip() for part in cell.split(TAG_SEPARATOR) if part.strip()]
    if len(items) > MAX_POINTS_PER_KIND - 1:
        bad(f"at most {MAX_POINTS_PER_KIND - 1} besides the primary one")
        return ()
    given = []
    for item in items:
        labelled = _LABELLED.match(item)
        if labelled and labelled["label"].lower() in LABELS:
            given.append(ContactPointInput(labelled["value"], labelled["label"].lower()))
        else:
            given.append(ContactPointInput(item))
    violations = Violations()
    points = read_points(kind, given, region, violations)
    for v in violations.found:
        index = int(v.field.split("[")[1].split("]")[0]) if "[" in v.field else None
        bad(f"{items[index]!r} {v.message}" if index is not None else v.message)
    return tuple(ContactPointInput(p.value, p.label) for p in points) if not violations.found else ()


def _contact_list(kind: str, row: ImportedRow, current: Sequence[PointValue]) -> tuple[ContactPointInput, ...] | None:
    """The whole list of emails (or phones) a row asks for: the primary (the email / phone column's, else the
    client's current one) and the row's others in place of the current others; None: the row leaves it."""
    others = row.other_points.get(kind)
    if others is None:
        return None
    primary_value = row.email if kind == "email" else row.phone
    current_primary = next((p for p in current if p.primary), None)
    head: ContactPointInput | None = None
    if primary_value:
        same = current_primary is not None and current_primary.value.lower() == primary_value.lower()
        head = ContactPointInput(primary_value, current_primary.label if same and current_primary else "", True)
    elif current_primary is not None:
        head = ContactPointInput(current_primary.value, current_primary.label, True)
    if head is None:
        return others
    # The primary written again among the others (an exported file edited by hand) is the primary, once.
    return (head, *(p for p in others if p.value.lower() != head.value.lower()))


def _names(values: Mapping[str, str]) -> tuple[str | None, str | None]:
    if "full_name" in values:
        return split_full_name(values["full_name"])
    return values.get("first_name"), values.get("last_name")


def _profile(values: Mapping[str, str], base: ProfileInput) -> ProfileInput:
    """The profile the row describes: its non-empty cells over ``base``."""

    def pick(key: str, current: str) -> str:
        cell = values.get(key, "")
        return cell if cell else current

    a = base.address
    currency = pick("opening_balance_currency", base.opening_balance_currency)
    balance = base.opening_balance_minor
    if values.get("opening_balance"):
        try:
            balance = parse_amount(values["opening_balance"], currency)
        except ValueError:
            balance = 0  # already a problem of the row (read_row)
    return ProfileInput(
        kind=pick("kind", base.kind).lower(),
        company_name=pick("company_name", base.company_name),
        address=Address(
            pick("address_line1", a.line1),
            pick("address_line2", a.line2),
            pick("address_city", a.city),
            pick("address_region", a.region),
            pick("address_postal_code", a.postal_code),
            pick("address_country", a.country),
        ),
        date_of_birth=pick("date_of_birth", base.date_of_birth),
        preferred_language=pick("preferred_language", base.preferred_language),
        timezone=pick("timezone", base.timezone),
        source=base.source,
        default_invoicing_method=pick("default_invoicing_method", base.default_invoicing_method).lower(),
        opening_balance_minor=balance,
        opening_balance_currency=currency,
    )


def _profile_input_of(client: Client) -> ProfileInput:
    p = client.profile
    a = p.address
    return ProfileInput(
        kind=p.kind,
        company_name=p.company_name,
        address=Address(a.line1, a.line2, a.city, a.region, a.postal_code, a.country),
        date_of_birth=p.date_of_birth.isoformat() if p.date_of_birth else "",
        preferred_language=p.preferred_language,
        timezone=p.timezone,
        source=p.source,
        default_invoicing_method=p.default_invoicing_method,
        opening_balance_minor=p.opening_balance_minor or 0,
        opening_balance_currency=p.opening_balance_currency or "",
    )


def _rejected(row: ImportedRow, columns: Columns, exc: InvalidArgument) -> RowRejected:
    problems = list(row.problems)
    for v in exc.violations:
        key = _VIOLATION_FIELDS.get(v.field, v.field)
        if key.startswith(("emails", "phones")):
            key = f"other_{key.split('[')[0]}"
        if key in ("first_name", "last_name") and "full_name" in columns.mapping:
            key = "full_name"
        problem = RowProblem(columns.header_of(key), v.message)
        if problem not in problems:
            problems.append(problem)
    return RowRejected(problems)


def new_client(
    row: ImportedRow,
    columns: Columns,
    *,
    tenant_id: uuid.UUID,
    client_id: uuid.UUID,
    default_status: ClientStatus,
    default_region: str,
    now: datetime,
    client_type: type[Client] = Client,
) -> Client:
    """The client a row creates, by the rules of creating one by hand (ClientCreated recorded); RowRejected.

    ``client_type`` may be an unmapped twin of Client (same rules, no ORM bookkeeping; see the import store).
    """
    first, last = _names(row.values)
    cmd = commands.CreateClient(
        tenant_id=tenant_id,
        first_name=first or "",
        last_name=last or "",
        email=row.values.get("email", ""),
        phone=row.values.get("phone", ""),
        default_region=default_region,
        profile=_profile(row.values, ProfileInput(source="import")),
        emails=_contact_list("email", row, []),
        phones=_contact_list("phone", row, []),
        now=now,
    )
    if row.status is not None and row.status.archived:
        row.problems.append(RowProblem(columns.header_of("status"), f"the status {row.status.label!r} is archived"))
    for column in columns.extra:
        if column.required and row.extra.get(column.key) is None:
            row.problems.append(RowProblem(columns.header_of(column.key), "is required for a new client"))
    try:
        client = client_type.register(cmd, client_id=client_id, now=now, status=row.status or default_status)
        if row.tags:
            client.set_tags(row.tags, now=now)
            # A new client's tags are part of its creation, not a change after it: no ClientUpdated.
            client.events[:] = [e for e in client.events if not isinstance(e, events.ClientUpdated)]
    except InvalidArgument as exc:
        raise _rejected(row, columns, exc) from exc
    if row.problems:
        raise RowRejected(row.problems)
    return client


def apply_row(
    client: Client,
    row: ImportedRow,
    columns: Columns,
    *,
    previous_status: ClientStatus | None,
    default_region: str,
    now: datetime,
) -> None:
    """Update ``client`` with the row's non-empty cells (empty cells leave fields as they are), by the rules
    of editing a client by hand: events only for what really changes. RowRejected when a rule is broken (the
    client may then be half changed: callers apply rows to a copy)."""
    if row.problems:
        raise RowRejected(row.problems)
    if row.status is not None and row.status.archived and row.status.id != client.status_id:
        raise RowRejected([RowProblem(columns.header_of("status"), f"the status {row.status.label!r} is archived")])
    first, last = _names(row.values)
    cmd = commands.UpdateClient(
        tenant_id=client.tenant_id,
        client_id=client.id,
        first_name=first or None,
        last_name=last or None,
        email=row.values.get("email") or None,
        phone=row.values.get("phone") or None,
        default_region=default_region,
        profile=_profile(row.values, _profile_input_of(client)),
        emails=_contact_list("email", row, points_of(client.contact_points, "email")),
        phones=_contact_list("phone", row, points_of(client.contact_points, "phone")),
        now=now,
    )
    try:
        client.update(cmd, now=now)
        if row.tags is not None:
            client.set_tags(row.tags, now=now)
    except InvalidArgument as exc:
        raise _rejected(row, columns, exc) from exc
    if row.status is not None and row.status.id != client.status_id:
        client.change_status(row.status, previous=previous_status, now=now)


@dataclass(frozen=True)
class Candidate:
    """An existing client a row may be about."""

    id: uuid.UUID
    external_id: str | None
    deleted: bool
    merged_into: uuid.UUID | None = None  # merged away: the record is read through the client it went into


Action = Literal["create", "update", "skip"]


@dataclass(frozen=True)
class Decision:
    action: Action
    target: uuid.UUID | None = None


def decide(
    row: ImportedRow,
    policy: DuplicatePolicy,
    *,
    by_id: Candidate | None,
    by_external_id: Candidate | None,
    by_email: Candidate | None,
    by_phone: Candidate | None,
    columns: Columns,
) -> Decision:
    """What to do with a row, given the existing clients it matches.

    Matching order: Atrium id, external id, email, phone. An id or external id names one client for sure:
    the row updates it (or is skipped under "skip"), whatever the policy, so importing a file twice never
    duplicates. An email or phone only suggests one: "skip" leaves it, "update" updates it, "create" adds a
    new client anyway. A client whose external id differs from the row's is another record of the source
    system, never a match. RowRejected for a row naming a missing, deleted or merged-away client (the
    problem names the client it was merged into); an email or phone never matches those.
    """
    if row.client_id is not None:
        if by_id is None:
            raise RowRejected([RowProblem(columns.header_of("id"), "no client with this id in this business")])
        if by_external_id is not None and by_external_id.id != by_id.id:
            raise RowRejected([RowProblem(columns.header_of("external_id"), "is another client's external id")])
        return _sure(by_id, policy, columns, "id")
    if by_external_id is not None:
        return _sure(by_external_id, policy, columns, "external_id")
    for candidate in (by_email, by_phone):
        if candidate is None or candidate.deleted or candidate.merged_into is not None:
            continue
        if row.external_id and candidate.external_id and candidate.external_id != row.external_id:
            continue
        if policy == "skip":
            return Decision("skip", candidate.id)
        if policy == "update":
            return Decision("update", candidate.id)
        break
    return Decision("create")


def _sure(candidate: Candidate, policy: DuplicatePolicy, columns: Columns, key: str) -> Decision:
    if candidate.merged_into is not None:
        raise RowRejected(
            [
                RowProblem(
                    columns.header_of(key),
                    f"the client was merged into client {candidate.merged_into}; update that one",
                )
            ]
        )
    if candidate.deleted:
        raise RowRejected([RowProblem(columns.header_of(key), "the client is deleted; restore it first")])
    return Decision("skip" if policy == "skip" else "update", candidate.id)


class FileIndex:
    """Which earlier row of the same file carried each id, external id, email and phone.

    A later row repeating an id or external id is rejected (one row per client); one repeating an email or
    phone is a duplicate within the file: skipped under "skip", created under "create", rejected under
    "update" (two rows would update one client).
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], int] = {}

    def check(self, row: ImportedRow, policy: DuplicatePolicy, columns: Columns) -> Decision | None:
        """None when the row repeats nothing (or "create" allows it); a skip decision; or RowRejected."""
        for kind, value in row.match_keys():
            earlier = self._rows.get((kind, value))
            if earlier is None:
                continue
            if kind in ("id", "external_id") or policy == "update":
                raise RowRejected([RowProblem(columns.header_of(kind), f"the same {kind} is on row {earlier}")])
            if policy == "skip":
                return Decision("skip")
        return None

    def remember(self, row: ImportedRow) -> None:
        for key in row.match_keys():
            self._rows.setdefault(key, row.number)


def export_headers(extra: Sequence[ExtraColumn] = ()) -> list[str]:
    return [f.key for f in FIELDS if f.exported] + [c.key for c in extra]


def export_cells(row: Any, extra_values: Mapping[str, Any], extra: Sequence[ExtraColumn] = ()) -> list[str]:
    """A client (a view row with status_label and tags) as the export writes it: what the import reads back."""

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    cells = {
        "id": str(row.id),
        "external_id": text(row.external_id),
        "first_name": row.first_name,
        "last_name": row.last_name,
        "kind": row.kind,
        "company_name": row.company_name,
        "email": text(row.email),
        "phone": text(row.phone),
        "other_emails": _other_points_cell(row.contact_points, "email"),
        "other_phones": _other_points_cell(row.contact_points, "phone"),
        "address_line1": row.address_line1,
        "address_line2": row.address_line2,
        "address_city": row.address_city,
        "address_region": row.address_region,
        "address_postal_code": row.address_postal_code,
        "address_country": row.address_country,
        "date_of_birth": text(row.date_of_birth),
        "preferred_language": row.preferred_language,
        "timezone": row.timezone,
        "default_invoicing_method": row.default_invoicing_method,
        "opening_balance": format_amount(row.opening_balance_minor, row.opening_balance_currency),
        "opening_balance_currency": text(row.opening_balance_currency),
        "status": text(row.status_label),
        "tags": f"{TAG_SEPARATOR} ".join(row.tags or ()),
    }
    result = [cells[f.key] for f in FIELDS if f.exported]
    for column in extra:
        value = extra_values.get(column.key)
        result.append("" if value is None else column.format(value))
    return result


def _other_points_cell(points: Sequence[Mapping[str, Any]] | None, kind: str) -> str:
    """A client's secondary emails (or phones) as the import reads them back."""
    return f"{TAG_SEPARATOR} ".join(
        f"{p['value']} ({p['label']})" for p in points or () if p["kind"] == kind and not p["primary"]
    )
