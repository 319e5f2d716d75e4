"""Spreadsheet files written row by row, for streaming responses: CSV (UTF-8 with BOM) and XLSX.

Neither writer holds the file: each gives back the bytes produced so far (``take``), which the caller sends
at once. The XLSX is a minimal Office Open XML workbook (one sheet, inline strings) zipped as it is written.
Every cell is text, so phone numbers, ids and dates arrive exactly as the service wrote them.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A CSV cell starting with one of these is a formula to a spreadsheet (formula injection, OWASP "CSV
# Injection"): it is written behind an apostrophe, which spreadsheets show as text and the client import
# takes off again (client_svc.domain.imports.Columns.values). XLSX cells are typed text and need nothing.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def as_text_cell(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


# Characters XML 1.0 cannot hold at all (a cell keeps the rest).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class CsvWriter:
    media_type = CSV_MEDIA_TYPE
    extension = "csv"

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._buffer.write("\ufeff")  # Excel reads a CSV as UTF-8 only with the BOM

    def row(self, cells: Sequence[str]) -> None:
        self._writer.writerow([as_text_cell(cell) for cell in cells])

    def take(self) -> bytes:
        data = self._buffer.getvalue().encode()
        self._buffer.seek(0)
        self._buffer.truncate()
        return data

    def close(self) -> bytes:
        return self.take()


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream: zipfile then writes each entry's sizes after its data."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        self._position += len(b)
        return len(b)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>'
    "</workbook>"
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
_SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_END = "</sheetData></worksheet>"


def _column_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


class XlsxWriter:
    media_type = XLSX_MEDIA_TYPE
    extension = "xlsx"

    def __init__(self, sheet_name: str = "Clients") -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_DEFLATED)
        self._zip.writestr("[Content_Types].xml", _CONTENT_TYPES)
        self._zip.writestr("_rels/.rels", _ROOT_RELS)
        self._zip.writestr("xl/workbook.xml", _WORKBOOK.format(name=escape(sheet_name[:31])))
        self._zip.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w")
        self._sheet.write(_SHEET_START.encode())
        self._rows = 0
        self._columns: list[str] = []

    def row(self, cells: Sequence[str]) -> None:
        self._rows += 1
        while len(self._columns) < len(cells):
            self._columns.append(_column_name(len(self._columns)))
        parts = [f'<row r="{self._rows}">']
        for column, cell in zip(self._columns, cells, strict=False):
            if cell:
                text = escape(_NOT_XML.sub("", cell))
                parts.append(
                    f'<c r="{column}{self._rows}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                )
        parts.append("</row>")
        self._sheet.write("".join(parts).encode())

    def take(self) -> bytes:
        data = bytes(self._sink.data)
        self._sink.data.clear()
        return data

    def close(self) -> bytes:
        self._sheet.write(_SHEET_END.encode())
        self._sheet.close()
        self._zip.close()
        return self.take()


def writer_for(file_format: str) -> CsvWriter | XlsxWriter:
    return XlsxWriter() if file_format == "xlsx" else CsvWriter()
