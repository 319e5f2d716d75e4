"""Reading an uploaded spreadsheet row by row, never whole: CSV (UTF-8 with or without BOM) and XLSX.

Bytes arrive as chunks (from import_file_chunks). CSV is split into lines and decoded line by line (an
undecodable byte names its line), lines are grouped into records (a record ends at a line end outside a quoted
cell), and each complete record goes through the stdlib csv reader in strict mode, so broken
quoting is an error naming the line, not silently merged cells. XLSX needs random access (it is a zip):
the chunks are spooled to a temporary file that lives only while this replica reads it, and openpyxl
reads it in read-only (streaming) mode.

Parsing is plain CPU work done on the event loop in slices (no thread pool), yielding between them.
"""

from __future__ import annotations

import asyncio
import csv
import tempfile
import zipfile
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from platform_core.errors import InvalidArgument

MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_RECORD_CHARS = 1_000_000
MAX_COLUMNS = 200
MAX_HEADER_CHARS = 200
ROWS_PER_SLICE = 200  # rows parsed between two yields to the event loop

_BOM = b"\xef\xbb\xbf"
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # old binary .xls
_UTF16 = (b"\xff\xfe", b"\xfe\xff")

Row = tuple[int, list[str]]  # (row number as a spreadsheet shows it, cells)


def bad_file(message: str) -> InvalidArgument:
    return InvalidArgument.single("file", message)


def detect_format(head: bytes, filename: str = "") -> str:
    """``csv`` or ``xlsx`` from the first bytes; a clear error for files that are neither."""
    if head.startswith(_ZIP):
        return "xlsx"
    if head.startswith(_OLE):
        raise bad_file("this is an old Excel (.xls) file: save it as .xlsx or as CSV UTF-8")
    if head.startswith(_UTF16):
        raise bad_file("the file is UTF-16 text: save it as CSV UTF-8")
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise bad_file("the file is named .xlsx but is not an Excel workbook")
    if b"\x00" in head[:4096]:
        raise bad_file("the file is not text: upload a CSV (UTF-8) or an .xlsx workbook")
    return "csv"


async def read_rows(
    chunks: AsyncIterator[bytes], file_format: str, *, tmp_dir: str | None = None
) -> AsyncGenerator[Row, None]:
    """Every non-blank row, the header first; InvalidArgument(file) for a file that cannot be read."""
    rows = _csv_rows(chunks) if file_format == "csv" else _xlsx_rows(chunks, tmp_dir)
    header_seen = False
    async for number, cells in rows:
        if not header_seen:
            _check_header(cells)
            header_seen = True
        for i, cell in enumerate(cells):
            if len(cell) > MAX_CELL_CHARS:
                raise bad_file(f"row {number}, column {i + 1}: a cell holds more than {MAX_CELL_CHARS:,} characters")
        yield number, cells
    if not header_seen:
        raise bad_file("the file is empty: the first row must name the columns")


def _check_header(cells: list[str]) -> None:
    if len(cells) > MAX_COLUMNS:
        raise bad_file(f"the file has {len(cells)} columns; at most {MAX_COLUMNS} can be imported")
    if any(len(cell) > MAX_HEADER_CHARS for cell in cells):
        raise bad_file(
            f"the first row must name the columns (at most {MAX_HEADER_CHARS} characters each); "
            "is the header row missing?"
        )


# --- CSV ---------------------------------------------------------------------------------------------


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, str]]:
    """(line number, decoded line with its ending) from byte chunks, strictly UTF-8."""
    pending = b""
    number = 0
    first = True
    async for chunk in chunks:
        pending += chunk
        if first and len(pending) >= len(_BOM):
            pending = pending.removeprefix(_BOM)
            first = False
        *complete, pending = pending.split(b"\n")
        for raw in complete:
            number += 1
            yield number, _decode(raw + b"\n", number)
        if len(pending) > MAX_RECORD_CHARS * 4:
            raise bad_file(f"line {number + 1} is longer than {MAX_RECORD_CHARS:,} characters")
    if first:
        pending = pending.removeprefix(_BOM)
    if pending:
        yield number + 1, _decode(pending, number + 1)


def _decode(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_file(
            f"line {number} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at character {exc.start + 1}): "
            "save the file as CSV UTF-8"
        ) from exc


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class _Feed:
    """The csv reader's line source: lines of complete records only, so it never runs dry mid-record."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self.lines:
            raise StopIteration
        return self.lines.popleft()


def _in_quotes_after(line: str, in_quotes: bool, delimiter: str) -> bool:
    """Whether a quoted cell is still open at the end of ``line`` (csv's own quoting rules: a quote opens a
    cell only at its start, and "" inside a quoted cell is a literal quote)."""
    i = 0
    while (j := line.find('"', i)) >= 0:
        if in_quotes:
            if line.startswith('"', j + 1):
                i = j + 2
                continue
            in_quotes = False
        elif j == 0 or line[j - 1] == delimiter:
            in_quotes = True
        i = j + 1
    return in_quotes


async def _csv_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[Row]:
    feed = _Feed()
    reader: Any = None
    delimiter = ","
    record: list[str] = []
    record_chars = 0
    in_quotes = False
    first_line = 0
    row_number = 0
    async for number, line in _lines(chunks):
        if reader is None:
            delimiter = _delimiter(line)
            reader = csv.reader(feed, delimiter=delimiter, strict=True)
        if not record:
            first_line = number
        record.append(line)
        record_chars += len(line)
        if in_quotes or '"' in line:
            in_quotes = _in_quotes_after(line, in_quotes, delimiter)
        if in_quotes:
            if record_chars > MAX_RECORD_CHARS:
                raise bad_file(
                    f"line {first_line}: a quoted cell runs on for more than {MAX_RECORD_CHARS:,} characters; "
                    "is a closing quote missing?"
                )
            continue  # inside a quoted cell: the record goes on
        feed.lines.extend(record)
        record.clear()
        record_chars = 0
        while feed.lines:
            row_number += 1
            try:
                cells = next(reader)
            except csv.Error as exc:
                raise bad_file(f"line {first_line}: broken quoting ({exc})") from exc
            if any(cell.strip() for cell in cells):
                yield row_number, cells
            if row_number % ROWS_PER_SLICE == 0:
                await asyncio.sleep(0)
    if record:
        raise bad_file(f"line {first_line}: a quoted cell is never closed (the file ends inside it)")


# --- XLSX --------------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


async def _xlsx_rows(chunks: AsyncIterator[bytes], tmp_dir: str | None) -> AsyncIterator[Row]:
    from openpyxl import load_workbook  # imported here: only imports of workbooks need it

    with tempfile.NamedTemporaryFile(prefix="atrium-import-", suffix=".xlsx", dir=tmp_dir) as spool:
        async for chunk in chunks:
            spool.write(chunk)
        spool.flush()
        try:
            workbook = load_workbook(Path(spool.name), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise bad_file("the file is not a readable .xlsx workbook") from exc
        except Exception as exc:  # openpyxl raises its own kinds for damaged parts
            raise bad_file(f"the workbook cannot be read ({type(exc).__name__})") from exc
        try:
            if not workbook.worksheets:
                raise bad_file("the workbook has no worksheet")
            sheet = workbook.worksheets[0]
            rows = sheet.iter_rows(values_only=True)
            number = 0
            while True:
                batch = []
                try:
                    for values in rows:
                        number += 1
                        cells = [_cell_text(v) for v in values]
                        while cells and not cells[-1]:
                            cells.pop()
                        if any(c.strip() for c in cells):
                            batch.append((number, cells))
                        if number % ROWS_PER_SLICE == 0:
                            break
                    else:
                        for row in batch:
                            yield row
                        return
                except (zipfile.BadZipFile, KeyError, ValueError) as exc:
                    raise bad_file(f"row {number + 1} of the workbook cannot be read") from exc
                for row in batch:
                    yield row
                await asyncio.sleep(0)
        finally:
            workbook.close()
