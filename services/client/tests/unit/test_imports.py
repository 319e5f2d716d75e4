"""Import rules without I/O: column mapping, one row read and judged, duplicates, the export's cells."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from client_svc.adapters.import_store import unmapped
from client_svc.domain import commands, events
from client_svc.domain.imports import (
    Candidate,
    Columns,
    ExtraColumn,
    FileIndex,
    RowRejected,
    StatusLookup,
    apply_row,
    check_mapping,
    decide,
    export_cells,
    export_headers,
    format_amount,
    new_client,
    parse_amount,
    read_row,
    split_full_name,
    suggest_mapping,
)
from client_svc.domain.model import Client
from client_svc.domain.profile import ProfileInput
from client_svc.domain.statuses import ready_made_statuses
from platform_core.errors import InvalidArgument

TENANT = uuid.uuid4()
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
STATUSES = ready_made_statuses(TENANT)
DEFAULT = next(s for s in STATUSES if s.is_default)
LOOKUP = StatusLookup(STATUSES)

SHOE_SIZE = ExtraColumn(
    "custom:shoe_size",
    "Shoe size",
    parse=lambda raw: int(raw) if raw.isdigit() and 15 <= int(raw) <= 60 else _raise("must be a size from 15 to 60"),
    format=str,
)


def _raise(message: str) -> Any:
    raise ValueError(message)


def columns(*pairs: tuple[str, str], extra: tuple[ExtraColumn, ...] = ()) -> Columns:
    return Columns(tuple(h for h, _ in pairs), tuple(k for _, k in pairs), extra)


def row(cols: Columns, *cells: str, number: int = 2) -> Any:
    return read_row(number, list(cells), cols, default_region="US", statuses=LOOKUP)


def create(cols: Columns, *cells: str) -> Client:
    return new_client(
        row(cols, *cells),
        cols,
        tenant_id=TENANT,
        client_id=uuid.uuid4(),
        default_status=DEFAULT,
        default_region="US",
        now=NOW,
    )


# --- mapping --------------------------------------------------------------------------------------------


def test_headers_as_people_write_them_suggest_fields() -> None:
    headers = ["Customer ID", "First Name", "SURNAME", "E-mail Address", "Mobile", "Zip", "DOB", "Notes", "Phone"]
    assert suggest_mapping(headers) == [
        "external_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "address_postal_code",
        "date_of_birth",
        "",  # nothing holds notes
        "",  # phone is already the Mobile column
    ]


def test_a_full_name_column_is_suggested_only_without_first_and_last_names() -> None:
    assert suggest_mapping(["Name", "Email"]) == ["full_name", "email"]
    assert suggest_mapping(["First name", "Name"]) == ["first_name", ""]
    assert suggest_mapping(["Name", "Last name"]) == ["full_name", ""]


def test_the_exports_own_headers_map_to_themselves() -> None:
    headers = export_headers([SHOE_SIZE])
    assert suggest_mapping(headers, [SHOE_SIZE]) == headers


def test_extra_columns_are_suggested_by_key_and_by_label() -> None:
    assert suggest_mapping(["custom:shoe_size", "first_name"], [SHOE_SIZE]) == ["custom:shoe_size", "first_name"]
    assert suggest_mapping(["Shoe size"], [SHOE_SIZE]) == ["custom:shoe_size"]
    assert suggest_mapping(["custom:unknown"], [SHOE_SIZE]) == [""]


def test_a_wrong_mapping_names_each_wrong_entry() -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_mapping(["first_name", "nonsense", "first_name"], ["a", "b", "c"])
    assert [(v.field, v.message) for v in exc.value.violations] == [
        ("mapping[1]", "'nonsense' is not a field clients can be imported into"),
        ("mapping[2]", "'first_name' is already mapped to column 'a'"),
    ]
    with pytest.raises(InvalidArgument) as exc:
        check_mapping(["first_name"], ["a", "b"])
    assert exc.value.violations[0].field == "mapping"
    with pytest.raises(InvalidArgument) as exc:
        check_mapping(["full_name", "last_name"], ["a", "b"])
    assert "not both" in exc.value.violations[0].message


def test_a_name_column_is_required_unless_the_file_only_updates_identified_clients() -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_mapping(["email", ""], ["E-mail", "Notes"])
    assert "missing required column" in exc.value.violations[0].message
    assert check_mapping([" email ", ""], ["E-mail", "Notes"], updating=True) == ["email", ""]
    with pytest.raises(InvalidArgument):
        check_mapping(["address_city"], ["City"], updating=True)
    assert check_mapping(["company_name"], ["Company"]) == ["company_name"]


# --- rows -----------------------------------------------------------------------------------------------


def test_a_row_creates_a_client_by_the_rules_of_creating_one_by_hand() -> None:
    cols = columns(
        ("Ref", "external_id"),
        ("Name", "full_name"),
        ("Mail", "email"),
        ("Phone", "phone"),
        ("Born", "date_of_birth"),
        ("Tags", "tags"),
        ("Status", "status"),
        ("Balance", "opening_balance"),
        ("Currency", "opening_balance_currency"),
    )
    client = create(
        cols,
        "r-1",
        "Ada Lovelace",
        "Ada@Example.com",
        "(212) 555-0142",
        "1990-04-23",
        "vip;  Early ;",
        "lead",
        "12.5",
        "usd",
    )
    assert (client.first_name, client.last_name) == ("Ada", "Lovelace")
    assert (client.email, client.phone) == ("Ada@example.com", "+12125550142")
    assert client.date_of_birth == date(1990, 4, 23)
    assert client.tags == ["Early", "vip"]
    assert client.status_id == next(s.id for s in STATUSES if s.label == "Lead")
    assert (client.opening_balance_minor, client.opening_balance_currency) == (1250, "USD")
    assert client.source == "import"
    # One event: the tags and status are part of the creation.
    assert [type(e) for e in client.events] == [events.ClientCreated]


def test_every_problem_of_a_row_names_its_column() -> None:
    cols = columns(
        ("Given", "first_name"),
        ("Mail", "email"),
        ("Cell", "phone"),
        ("Language", "preferred_language"),
        ("Land", "address_country"),
        ("Status", "status"),
        ("Size", "custom:shoe_size"),
        extra=(SHOE_SIZE,),
    )
    with pytest.raises(RowRejected) as exc:
        create(cols, "", "nope", "12", "English!", "Germany", "Ghost", "3")
    assert sorted((p.column, p.message.split(" ")[0]) for p in exc.value.problems) == [
        ("Cell", "is"),
        ("Given", "is"),
        ("Land", "must"),
        ("Language", "must"),
        ("Mail", "An"),
        ("Size", "must"),
        ("Status", "no"),
    ]


def test_a_business_needs_a_company_name_but_no_first_name() -> None:
    cols = columns(("Type", "kind"), ("Company", "company_name"))
    assert create(cols, "Business", "Acme Ltd").company_name == "Acme Ltd"
    with pytest.raises(RowRejected) as exc:
        create(cols, "business", "")
    assert [(p.column, p.message) for p in exc.value.problems] == [("Company", "is required for a business")]


def test_full_names_split_into_first_and_last() -> None:
    assert split_full_name("  Ada   Augusta Lovelace ") == ("Ada Augusta", "Lovelace")
    assert split_full_name("Lovelace, Ada") == ("Ada", "Lovelace")
    assert split_full_name("Cher") == ("Cher", "")


def test_amounts_follow_the_currencys_minor_unit() -> None:
    assert parse_amount("120.50", "USD") == 12050
    assert parse_amount("-3", "usd") == -300
    assert parse_amount("1500", "JPY") == 1500
    assert parse_amount("1.250", "KWD") == 1250
    for text, currency in (("1.5", "JPY"), ("1,000.00", "USD"), ("12e3", "USD"), ("", "USD")):
        with pytest.raises(ValueError):
            parse_amount(text, currency)
    assert format_amount(12050, "USD") == "120.50"
    assert format_amount(1500, "JPY") == "1500"
    assert format_amount(None, None) == ""


def test_an_update_changes_only_non_empty_cells_and_records_what_changed() -> None:
    client = create(columns(("First", "first_name"), ("Mail", "email")), "Ada", "ada@example.com")
    client.events.clear()
    cols = columns(("Mail", "email"), ("Last", "last_name"), ("City", "address_city"), ("First", "first_name"))
    apply_row(
        client,
        row(cols, "ada@example.com", "Lovelace", "London", ""),
        cols,
        previous_status=DEFAULT,
        default_region="US",
        now=NOW,
    )
    assert (client.first_name, client.last_name, client.address_city) == ("Ada", "Lovelace", "London")
    [updated] = client.events
    assert isinstance(updated, events.ClientUpdated)
    assert set(updated.changed_fields) == {"last_name", "profile"}

    client.events.clear()
    apply_row(
        client,
        row(cols, "ada@example.com", "Lovelace", "London", "Ada"),
        cols,
        previous_status=DEFAULT,
        default_region="US",
        now=NOW,
    )
    assert client.events == []  # the same again: nothing changes, no event


def test_decisions_match_by_id_then_external_id_then_email_then_phone() -> None:
    cols = columns(("Id", "id"), ("Ref", "external_id"), ("Mail", "email"), ("Phone", "phone"), ("First", "first_name"))
    a, b = uuid.uuid4(), uuid.uuid4()
    live = Candidate(a, None, False)

    def judge(policy: str, *cells: str, **found: Candidate | None) -> tuple[str, uuid.UUID | None]:
        options = {"by_id": None, "by_external_id": None, "by_email": None, "by_phone": None} | found
        d = decide(row(cols, *cells), policy, columns=cols, **options)  # type: ignore[arg-type]
        return d.action, d.target

    # An id or external id names one client: updated (or skipped), never duplicated, whatever the policy.
    assert judge("create", str(a), "", "", "", "Ada", by_id=live) == ("update", a)
    assert judge("skip", "", "r-1", "", "", "Ada", by_external_id=live) == ("skip", a)
    with pytest.raises(RowRejected) as exc:
        judge("update", str(a), "", "", "", "Ada")
    assert exc.value.problems[0].message == "no client with this id in this business"
    with pytest.raises(RowRejected) as exc:
        judge("update", "", "r-1", "", "", "Ada", by_external_id=Candidate(a, "r-1", True))
    assert "deleted" in exc.value.problems[0].message
    with pytest.raises(RowRejected) as exc:
        judge("update", str(a), "r-9", "", "", "Ada", by_id=live, by_external_id=Candidate(b, "r-9", False))
    assert (exc.value.problems[0].column, exc.value.problems[0].message) == ("Ref", "is another client's external id")
    # An email or phone suggests one: the policy decides.
    assert judge("skip", "", "", "a@example.com", "", "Ada", by_email=live) == ("skip", a)
    assert judge("update", "", "", "", "+12125550142", "Ada", by_phone=live) == ("update", a)
    assert judge("create", "", "", "a@example.com", "", "Ada", by_email=live) == ("create", None)
    assert judge("update", "", "", "a@example.com", "", "Ada", by_email=live, by_phone=Candidate(b, None, False)) == (
        "update",
        a,
    )
    # A client with another external id is another record of the source system.
    assert judge("update", "", "r-2", "a@example.com", "", "Ada", by_email=Candidate(a, "r-1", False)) == (
        "create",
        None,
    )


def test_a_merged_away_client_is_never_updated_by_a_row() -> None:
    cols = columns(("Id", "id"), ("Ref", "external_id"), ("Mail", "email"), ("First", "first_name"))
    gone, survivor = uuid.uuid4(), uuid.uuid4()
    merged = Candidate(gone, "r-1", False, merged_into=survivor)

    def judge(policy: str, *cells: str, **found: Candidate | None) -> tuple[str, uuid.UUID | None]:
        options = {"by_id": None, "by_external_id": None, "by_email": None, "by_phone": None} | found
        d = decide(row(cols, *cells), policy, columns=cols, **options)  # type: ignore[arg-type]
        return d.action, d.target

    for cells, found, column in (
        ((str(gone), "", "", "Ada"), {"by_id": merged}, "Id"),
        (("", "r-1", "", "Ada"), {"by_external_id": merged}, "Ref"),
    ):
        with pytest.raises(RowRejected) as exc:
            judge("update", *cells, **found)
        [problem] = exc.value.problems
        assert (problem.column, problem.message) == (
            column,
            f"the client was merged into client {survivor}; update that one",
        )
    # By email it matches nobody: the row is about whoever else has the address (here: no one).
    assert judge("update", "", "", "a@example.com", "Ada", by_email=merged) == ("create", None)


def test_a_file_repeating_a_client_is_judged_row_against_row() -> None:
    cols = columns(("Ref", "external_id"), ("Mail", "email"), ("First", "first_name"))
    for policy, expected in (("skip", "skip"), ("create", None)):
        index = FileIndex()
        index.remember(row(cols, "", "a@example.com", "Ada", number=2))
        decision = index.check(row(cols, "", "A@example.com", "Ada", number=3), policy, cols)  # type: ignore[arg-type]
        assert (decision.action if decision else None) == expected
    index = FileIndex()
    index.remember(row(cols, "r-1", "a@example.com", "Ada", number=2))
    with pytest.raises(RowRejected) as exc:
        index.check(row(cols, "", "a@example.com", "Ada", number=7), "update", cols)
    assert exc.value.problems[0].message == "the same email is on row 2"
    with pytest.raises(RowRejected) as exc:
        index.check(row(cols, "r-1", "", "Grace", number=9), "create", cols)
    assert (exc.value.problems[0].column, exc.value.problems[0].message) == ("Ref", "the same external_id is on row 2")


def test_the_export_writes_what_the_import_reads_back() -> None:
    cols_all = Columns(tuple(export_headers([SHOE_SIZE])), tuple(export_headers([SHOE_SIZE])), (SHOE_SIZE,))
    client = create(
        columns(
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("email", "email"),
            ("address_city", "address_city"),
            ("opening_balance", "opening_balance"),
            ("opening_balance_currency", "opening_balance_currency"),
            ("tags", "tags"),
            ("other_phones", "other_phones"),
        ),
        "Ada",
        "Lovelace",
        "ada@example.com",
        "London",
        "-7.25",
        "EUR",
        "b; a",
        "(212) 555-0142 (home); +44 20 7946 0958",
    )
    view = SimpleNamespace(
        **{name: getattr(client, name) for name in vars(client) if not name.startswith("_")}
        | {
            "external_id": "r-1",
            "status_label": "Active",
            "tags": client.tags,
            # As the list view reads them (JSON).
            "contact_points": [
                {"kind": p.kind, "value": p.value, "label": p.label, "primary": p.is_primary}
                for p in sorted(client.contact_points, key=lambda p: (p.kind, p.position))
            ],
        },
    )
    cells = export_cells(view, {"custom:shoe_size": 38}, [SHOE_SIZE])
    again = read_row(2, cells, cols_all, default_region="US", statuses=LOOKUP)
    assert again.problems == []
    assert (again.client_id, again.external_id, again.email) == (client.id, "r-1", "ada@example.com")
    assert again.values["opening_balance"] == "-7.25"
    assert again.tags == ["a", "b"]
    assert again.extra == {"custom:shoe_size": 38}
    assert again.status is DEFAULT
    # No phone column: the first of the others became the primary phone, the rest stay others.
    assert cells[export_headers().index("phone")] == "+12125550142"
    assert cells[export_headers().index("other_phones")] == "+442079460958 (other)"
    # The same cells make a valid new client too (in another business, say), secondary phones included.
    twin = create(cols_all, *cells)
    assert twin.last_name == "Lovelace"
    # Everything but the primary phone's label, which the phone column does not carry (re-imported onto the
    # same client, the client keeps it: see the update test below).
    assert [p[1:4] for p in points(twin)] == [
        (value, "other" if primary and value == client.phone else label, primary)
        for value, label, primary in (p[1:4] for p in points(client))
    ]


def points(client: Client) -> list[tuple[str, str, str, bool, int]]:
    return sorted((p.kind, p.value, p.label, p.is_primary, p.position) for p in client.contact_points)


def test_the_unmapped_twin_follows_the_same_rules_as_the_client() -> None:
    twin = unmapped(Client)
    cmd = commands.CreateClient(
        TENANT,
        "Ada",
        "Lovelace",
        email="ada@example.com",
        phone="+12125550142",
        profile=ProfileInput(source="import"),
        now=NOW,
    )
    client_id = uuid.uuid4()
    real = Client.register(cmd, client_id=client_id, now=NOW, status=DEFAULT)
    copy = twin.register(cmd, client_id=client_id, now=NOW, status=DEFAULT)
    assert type(copy) is twin
    # Contact point rows get ids of their own: the same rows otherwise.
    assert {k: v for k, v in vars(copy).items() if k not in ("events", "contact_points")} == {
        k: getattr(real, k) for k in vars(copy) if k not in ("events", "contact_points")
    }
    assert (
        points(copy)
        == points(real)
        == [
            ("email", "ada@example.com", "other", True, 0),
            ("phone", "+12125550142", "other", True, 0),
        ]
    )
    assert all(p.client_id == client_id for p in copy.contact_points)
    assert copy.events == real.events
    with pytest.raises(InvalidArgument):
        twin.register(commands.CreateClient(TENANT, "", now=NOW), client_id=client_id, now=NOW)


def test_an_archived_status_stays_on_its_clients_but_is_given_to_no_one() -> None:
    retired = ready_made_statuses(TENANT)[2]
    retired.archived_at = NOW
    lookup = StatusLookup([*STATUSES[:2], retired])
    cols = columns(("First", "first_name"), ("Status", "status"))

    def read(*cells: str) -> Any:
        return read_row(2, list(cells), cols, default_region="US", statuses=lookup)

    keeps = create(cols, "Ada", "")
    keeps.status_id = retired.id
    keeps.events.clear()
    apply_row(keeps, read("Ada", "inactive"), cols, previous_status=retired, default_region="US", now=NOW)
    assert (keeps.status_id, keeps.events) == (retired.id, [])
    with pytest.raises(RowRejected) as exc:
        other = create(cols, "Grace", "")
        apply_row(other, read("Grace", "Inactive"), cols, previous_status=DEFAULT, default_region="US", now=NOW)
    assert exc.value.problems[0].message == "the status 'Inactive' is archived"
    with pytest.raises(RowRejected):
        new_client(
            read("Alan", "Inactive"),
            cols,
            tenant_id=TENANT,
            client_id=uuid.uuid4(),
            default_status=DEFAULT,
            default_region="US",
            now=NOW,
        )


OTHER = columns(
    ("First", "first_name"), ("Mail", "email"), ("More mail", "other_emails"), ("More phones", "other_phones")
)


def test_secondary_emails_and_phones_come_with_their_labels() -> None:
    client = create(
        OTHER, "Ada", "ada@example.com", "ada@work.example (Work); ADA@Home.example", "+1 212 555 0142 (home)"
    )
    assert points(client) == [
        ("email", "ADA@home.example", "other", False, 2),  # the domain is lower-cased, not the mailbox
        ("email", "ada@example.com", "other", True, 0),
        ("email", "ada@work.example", "work", False, 1),
        ("phone", "+12125550142", "home", True, 0),  # the only phone is the primary one
    ]
    assert client.phone == "+12125550142"


def test_a_bad_secondary_email_or_phone_is_a_problem_of_its_column() -> None:
    read = row(OTHER, "Ada", "ada@example.com", "fine@example.com; not-an-email (work)", "12 (mobile); 12")
    columns_with_problems = [p.column for p in read.problems]
    assert columns_with_problems == ["More mail", "More phones", "More phones"]
    assert "'not-an-email (work)'" in read.problems[0].message
    with pytest.raises(RowRejected):
        create(OTHER, "Ada", "ada@example.com", "not-an-email", "")


def test_an_update_replaces_the_secondary_ones_and_keeps_the_primary_and_its_label() -> None:
    client = create(OTHER, "Ada", "", "ada@example.com (home); old@example.com", "")
    client.events.clear()
    only_others = columns(("First", "first_name"), ("More mail", "other_emails"))
    apply_row(
        client,
        row(only_others, "Ada", "new@example.com (work); ada@example.com"),
        only_others,
        previous_status=DEFAULT,
        default_region="US",
        now=NOW,
    )
    assert [p[:4] for p in points(client) if p[0] == "email"] == [
        ("email", "ada@example.com", "home", True),
        ("email", "new@example.com", "work", False),
    ]
    [updated] = client.events
    assert isinstance(updated, events.ClientUpdated)
    assert "emails" in updated.changed_fields
    client.events.clear()
    apply_row(
        client,
        row(only_others, "Ada", "new@example.com (work)"),
        only_others,
        previous_status=DEFAULT,
        default_region="US",
        now=NOW,
    )
    assert client.events == []  # the same list again changes nothing


MEMBER_NO = ExtraColumn("custom:member_no", "Member number", parse=str, format=str, required=True)


def test_a_required_custom_field_must_be_mapped_and_filled_for_new_clients() -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_mapping(["first_name"], ["First"], [MEMBER_NO])
    assert "custom:member_no (Member number)" in exc.value.violations[0].message
    # A file that only updates identified clients may leave it out; its rows that match nobody need it.
    assert check_mapping(["id", "first_name"], ["Id", "First"], [MEMBER_NO], updating=True) == ["id", "first_name"]
    cols = columns(("First", "first_name"), ("Member", "custom:member_no"), extra=(MEMBER_NO,))
    assert create(cols, "Ada", "M-1").first_name == "Ada"
    with pytest.raises(RowRejected) as rejected:
        create(cols, "Ada", "")
    assert [(p.column, p.message) for p in rejected.value.problems] == [("Member", "is required for a new client")]
    # An update leaves an empty cell's value as it is: nothing is required of it.
    client = create(cols, "Ada", "M-1")
    apply_row(client, row(cols, "Ada Lovelace", ""), cols, previous_status=DEFAULT, default_region="US", now=NOW)


def test_custom_values_stored_beside_an_update_are_one_client_updated_with_it() -> None:
    client = create(columns(("First", "first_name")), "Ada")
    client.events.clear()
    client.note_custom_values_changed(now=NOW)
    [alone] = client.events
    assert isinstance(alone, events.ClientUpdated) and alone.changed_fields == ("custom_fields",)

    client.events.clear()
    cols = columns(("Last", "last_name"))
    apply_row(client, row(cols, "Lovelace"), cols, previous_status=DEFAULT, default_region="US", now=NOW)
    client.note_custom_values_changed(now=NOW)
    client.note_custom_values_changed(now=NOW)
    [together] = client.events
    assert isinstance(together, events.ClientUpdated)
    assert together.changed_fields == ("last_name", "custom_fields")


def test_a_cell_our_export_protected_from_spreadsheets_reads_back_as_it_was() -> None:
    cols = columns(
        ("Name", "full_name"),
        ("Phone", "phone"),
        ("Balance", "opening_balance"),
        ("Currency", "opening_balance_currency"),
    )
    client = create(cols, "'=Ada Lovelace", "'+12125550142", "'-12.5", "usd")
    assert (client.first_name, client.phone, client.opening_balance_minor) == ("=Ada", "+12125550142", -1250)
    # An apostrophe before anything else is the client's own text.
    assert Columns(("Name",), ("full_name",)).values(["'t Hooft"]) == {"full_name": "'t Hooft"}
