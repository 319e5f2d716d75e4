"""Reading uploaded files row by row: encodings, quoting, delimiters, chunk boundaries, XLSX, bad files."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from client_svc.adapters.import_files import MAX_COLUMNS, detect_format, read_rows
from platform_core.errors import InvalidArgument


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def rows(data: bytes, file_format: str = "csv", chunk: int = 1 << 20) -> list[tuple[int, list[str]]]:
    return [r async for r in read_rows(_chunks(data, chunk), file_format)]


async def refused(data: bytes, file_format: str = "csv") -> str:
    with pytest.raises(InvalidArgument) as exc:
        await rows(data, file_format)
    assert exc.value.violations[0].field == "file"
    return exc.value.violations[0].message


TEXT = 'first_name,notes\r\nAda,"Line one\r\nline ""two"", with a comma"\r\n\r\nJosé,\r\n,\r\nGrace,"x"\r\n'


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 1 << 20])
async def test_csv_rows_come_out_the_same_whatever_the_chunk_boundaries(chunk: int) -> None:
    # Chunks of 1 and 2 bytes split the BOM, the two-byte é and every line ending.
    parsed = await rows(b"\xef\xbb\xbf" + TEXT.encode(), chunk=chunk)
    assert parsed == [
        (1, ["first_name", "notes"]),
        (2, ["Ada", 'Line one\r\nline "two", with a comma']),
        (4, ["José", ""]),
        (6, ["Grace", "x"]),
    ]


async def test_without_a_bom_and_with_semicolons_tabs_or_bare_newlines() -> None:
    assert await rows(b"first_name;email\nAda;a@example.com\n") == [
        (1, ["first_name", "email"]),
        (2, ["Ada", "a@example.com"]),
    ]
    assert await rows(b"first_name\temail\nAda\ta@example.com") == [
        (1, ["first_name", "email"]),
        (2, ["Ada", "a@example.com"]),
    ]


async def test_a_stray_quote_inside_an_unquoted_cell_is_just_a_character() -> None:
    assert await rows(b'first_name,height\nAda,5" 4\nGrace,6"\n') == [
        (1, ["first_name", "height"]),
        (2, ["Ada", '5" 4']),
        (3, ["Grace", '6"']),
    ]


async def test_undecodable_bytes_name_their_line() -> None:
    message = await refused(b"first_name\r\nAda\r\nJos\xe9\r\nGrace\r\n")
    assert message.startswith("line 3 is not UTF-8 text (byte 0xe9")
    assert "CSV UTF-8" in message


async def test_broken_quoting_names_its_line() -> None:
    assert (await refused(b'first_name,email\nAda,a@example.com\n"Grace"x,g@example.com\n')).startswith(
        "line 3: broken quoting"
    )
    assert "never closed" in await refused(b'first_name,notes\nAda,"open\nGrace,closed\n')


async def test_a_huge_cell_or_a_runaway_quote_is_refused() -> None:
    assert "row 2, column 2: a cell holds more than 32,767 characters" in await refused(
        b"first_name,notes\nAda," + b"x" * 40_000 + b"\n"
    )
    assert "is a closing quote missing?" in await refused(b'first_name,notes\nAda,"' + b"x\n" * 600_000)


async def test_the_header_row_must_look_like_one() -> None:
    assert "empty" in await refused(b"")
    assert "empty" in await refused(b"\n\n,,\n")
    assert f"at most {MAX_COLUMNS}" in await refused(",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)).encode())
    assert "is the header row missing?" in await refused(b"x" * 300 + b",b\n")


def test_the_format_is_read_from_the_bytes() -> None:
    assert detect_format(b"PK\x03\x04rest", "clients.csv") == "xlsx"
    assert detect_format(b"first_name\n", "clients.xlsx.csv") == "csv"
    for head, filename, words in (
        (b"\xd0\xcf\x11\xe0", "old.xls", ".xls"),
        (b"\xff\xfef\x00", "u.csv", "UTF-16"),
        (b"first_name\n", "book.xlsx", "not an Excel workbook"),
        (b"\x00\x01\x02", "blob", "not text"),
    ):
        with pytest.raises(InvalidArgument) as exc:
            detect_format(head, filename)
        assert words in exc.value.message


def workbook(*table: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in table:
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_xlsx_cells_become_the_text_people_see() -> None:
    data = workbook(
        ["first_name", "phone", "born", "balance", "vip", "seen"],
        ["Ada", 2125550142, date(1990, 4, 23), 12.5, True, datetime(2024, 1, 2, 3, 4, 5)],
        [None, None, None, None, None, None],
        ["Grace", "+1 212 555 0199", None, 3.0, False, None],
    )
    assert await rows(data, "xlsx", chunk=1000) == [
        (1, ["first_name", "phone", "born", "balance", "vip", "seen"]),
        (2, ["Ada", "2125550142", "1990-04-23", "12.5", "true", "2024-01-02T03:04:05"]),
        (4, ["Grace", "+1 212 555 0199", "", "3", "false"]),
    ]


async def test_a_file_that_is_no_workbook_is_refused() -> None:
    assert "not a readable .xlsx workbook" in await refused(b"PK\x03\x04 but not really a zip", "xlsx")
