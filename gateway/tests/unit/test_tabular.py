"""The export's file writers: what they stream is a whole CSV or workbook, cells kept as text."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from gateway.tabular import CsvWriter, XlsxWriter

ROWS = [
    ["id", "first_name", "phone", "notes"],
    ["1", "Ada & <Co>", "+12125550142", 'Quote " and,comma\nnewline'],
    ["2", "Grace\x01Hopper", "", ""],
]


def test_csv_starts_with_a_bom_and_quotes_what_needs_it() -> None:
    writer = CsvWriter()
    streamed = bytearray()
    for row in ROWS:
        writer.row(row)
        streamed += writer.take()
    streamed += writer.close()
    assert streamed.startswith(b"\xef\xbb\xbf")
    read = list(csv.reader(io.StringIO(streamed.decode("utf-8-sig"), newline="")))
    assert read[1][2] == "'+12125550142"  # a spreadsheet would take it for a formula
    read[1][2] = read[1][2][1:]
    assert read == ROWS


def test_xlsx_is_a_workbook_of_text_cells_written_as_it_goes() -> None:
    writer = XlsxWriter()
    streamed = bytearray()
    for i in range(5000):
        writer.row([str(i), "x" * 50])
        streamed += writer.take()
    for row in ROWS:
        writer.row(row)
    streamed += writer.take()
    assert len(streamed) > 0  # bytes leave before the file is finished
    streamed += writer.close()
    sheet = load_workbook(io.BytesIO(bytes(streamed)), read_only=True).worksheets[0]
    rows = [[cell or "" for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert len(rows) == 5003
    assert rows[5000] == ROWS[0]
    assert rows[5001] == ROWS[1]
    assert rows[5002][:2] == ["2", "GraceHopper"]  # a character XML cannot hold is dropped


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_written_as_text() -> None:
    writer = CsvWriter()
    writer.row(['=HYPERLINK("http://evil.example")', "+12125550142", "-1", "@SUM(A1)", "plain", "a=b"])
    cells = next(csv.reader(io.StringIO(writer.close().decode("utf-8-sig"), newline="")))
    assert cells == ['\'=HYPERLINK("http://evil.example")', "'+12125550142", "'-1", "'@SUM(A1)", "plain", "a=b"]
