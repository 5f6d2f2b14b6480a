import contextlib
import datetime
import importlib.util
import io
import shutil
import time
import tracemalloc
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools import contact_files
from tools.contact_files import (
    ContactFileError,
    Table,
    detect_format,
    guess_mapping,
    looks_like_header,
    parse_word_text,
    read_table,
    split_contact_line,
)


def _odoo_sample_doc():
    """A small legacy Word file shipped with Odoo's sources (found without importing Odoo), to run antiword for real.

    `make test` sets up Odoo's source and Debian's antiword, so the test that uses it never skips there.
    """
    spec = importlib.util.find_spec("odoo")
    origin = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
    return origin.parent / "addons/hr_recruitment/data/hr_recruitment_demo_williams_cv.doc" if origin else Path("/")


ODOO_SAMPLE_DOC = _odoo_sample_doc()

# What antiword prints for a .doc holding a title, a two-column table and a trailing note.
ANTIWORD_SAMPLE = """\
Parents contact list

|Name                |Phone number        |
|Wanjiku Kamau       |0712 345 678        |
|Otieno Odhiambo     |+254 733 123 456    |
|                    |                    |

Updated in May.
"""


def rows_of(filename, data, **kwargs):
    table = read_table(filename, data, **kwargs)
    return table.header, list(table.rows)


def xlsx_bytes(rows, *, merge=(), sheets_before=0):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for index in range(sheets_before):
        sheet.title = "Empty %d" % index
        sheet = workbook.create_sheet("Contacts")
    for row in rows:
        sheet.append(row)
    for cell_range in merge:
        sheet.merge_cells(cell_range)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def docx_bytes(paragraphs=(), tables=()):
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    for rows in tables:
        table = document.add_table(rows=len(rows), cols=len(rows[0]))
        for row_index, row in enumerate(rows):
            for column_index, text in enumerate(row):
                table.cell(row_index, column_index).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------------
# detect_format


def test_detect_format_by_content_before_name():
    assert detect_format("contacts.csv", xlsx_bytes([["Name"]])) == "xlsx"
    assert detect_format("contacts.xlsx", docx_bytes(["x"])) == "docx"
    assert detect_format("contacts", b"Name,Mobile\n") == "csv"
    assert detect_format("contacts.txt", b"Name,Mobile\n") == "csv"


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("a.csv", b"", "The file is empty."),
        ("a.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "image (PNG)"),
        ("a.csv", b"%PDF-1.4\n", "PDF files are not supported"),
        ("a.doc", b"{\\rtf1\\ansi hello}", "Rich Text"),
        ("a.xlsx", b"Name,Mobile\n", "not a valid Excel workbook (.xlsx)"),
        ("a.docx", b"Name,Mobile\n", "not a valid Word document (.docx)"),
        ("a.doc", b"Name,Mobile\n", "Word (.doc) document could not be read"),
        ("a.xls", b"<html><table></table></html>", "Old Excel workbooks (.xls) are not supported"),
    ],
)
def test_detect_format_refuses_with_a_clear_message(filename, data, message):
    with pytest.raises(ContactFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        detect_format(filename, data)


def ole2(*stream_names):
    # The OLE2 header plus directory names in UTF-16LE is all the detector looks at.
    return contact_files._OLE2_MAGIC + b"\x00" * 504 + b"".join(name.encode("utf-16-le") for name in stream_names)


def test_detect_ole2_word_excel_and_encrypted():
    assert detect_format("letter.doc", ole2("Root Entry", "WordDocument", "1Table")) == "doc"
    with pytest.raises(ContactFileError, match=r"\.xls\) are not supported"):
        detect_format("old.xls", ole2("Root Entry", "Workbook"))
    with pytest.raises(ContactFileError, match="password-protected"):
        detect_format("secret.xlsx", ole2("Root Entry", "EncryptedPackage"))
    with pytest.raises(ContactFileError, match="neither a Word document nor a workbook"):
        detect_format("slides.ppt", ole2("Root Entry", "PowerPoint Document"))


def test_detect_zip_variants():
    truncated = xlsx_bytes([["Name"], ["x"]])[:200]
    with pytest.raises(ContactFileError, match="not a valid Excel workbook"):
        detect_format("a.xlsx", truncated)
    with pytest.raises(ContactFileError, match="not a valid Word document"):
        detect_format("a.docx", truncated)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(ContactFileError, match="OpenDocument"):
        detect_format("a.ods", buffer.getvalue())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", "x")
    with pytest.raises(ContactFileError, match="does not contain a contact list"):
        detect_format("a.zip", buffer.getvalue())


# --------------------------------------------------------------------------------------------------------
# CSV


def test_csv_with_header_and_quoted_newline():
    data = b'Name,Mobile,Email\r\n John ,0712345678,john@example.com\r\n"Jane\nDoe",0733 123 456,\r\n'
    table = read_table("c.csv", data)
    assert isinstance(table, Table)
    assert (table.header, table.has_header, table.file_format) == (["Name", "Mobile", "Email"], True, "csv")
    assert list(table.rows) == [["John", "0712345678", "john@example.com"], ["Jane\nDoe", "0733 123 456", ""]]


def test_csv_without_header_gets_generated_column_names():
    header, rows = rows_of("c.csv", b"John,0712345678\nJane,0733123456\n")
    assert header == ["Column 1", "Column 2"]
    assert rows == [["John", "0712345678"], ["Jane", "0733123456"]]


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_csv_delimiter_is_sniffed(delimiter):
    data = delimiter.join(["Name", "Phone", "Country"]) + "\n" + delimiter.join(["Ann", "0712 345 678", "KE"])
    assert rows_of("c.csv", data.encode()) == (["Name", "Phone", "Country"], [["Ann", "0712 345 678", "KE"]])


def test_semicolon_csv_with_decimal_commas():
    data = b"Jina;Simu;Salio\nAmina;0712345678;12,50\nBaraka;0733123456;3,00\n"
    assert rows_of("c.csv", data)[1] == [["Amina", "0712345678", "12,50"], ["Baraka", "0733123456", "3,00"]]


def test_excel_sep_hint_line():
    assert rows_of("c.csv", b"sep=;\nName;Mobile\nAnn;0712345678\n") == (["Name", "Mobile"], [["Ann", "0712345678"]])


def test_cp1252_csv_with_accented_names():
    data = "Name,Mobile\nJosé Müller,0712345678\nRenée – Ça,0733123456\n".encode("cp1252")
    assert rows_of("c.csv", data)[1] == [["José Müller", "0712345678"], ["Renée – Ça", "0733123456"]]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_unicode_csv_encodings(encoding):
    data = "Name\tMobile\nZoë Wanjirũ\t0712345678\n".encode(encoding)
    assert rows_of("c.csv", data) == (["Name", "Mobile"], [["Zoë Wanjirũ", "0712345678"]])


def test_csv_blank_lines_and_ragged_rows():
    data = b"Name,Mobile,Email\n\n,,\nAnn,0712345678\nBob,0733123456,b@x.org,extra\n"
    assert rows_of("c.csv", data)[1] == [["Ann", "0712345678", ""], ["Bob", "0733123456", "b@x.org", "extra"]]


def test_csv_of_blank_lines_is_empty():
    with pytest.raises(ContactFileError, match="contains no contacts"):
        read_table("c.csv", b"\n , \r\n,,\n\t\n")


def test_csv_old_mac_line_endings():
    assert rows_of("c.csv", b"Name,Mobile\rAnn,0712345678\r")[1] == [["Ann", "0712345678"]]


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\x03binary\x00garbage\xff" * 20,
        bytes(range(256)) * 4,
        b"PK\x03\x04" + b"\x00" * 100,
    ],
)
def test_binary_garbage_named_csv(data):
    with pytest.raises(ContactFileError):
        list(read_table("c.csv", data).rows)


def test_csv_oversized_cell_is_a_contact_file_error():
    data = b'Name,Mobile\n"' + b"x" * 200_000 + b'",0712345678\n'
    with pytest.raises(ContactFileError, match="could not be read as a CSV"):
        list(read_table("c.csv", data).rows)


def test_max_rows_limits_the_preview():
    data = b"Name,Mobile\n" + b"".join(b"P%d,0712%06d\n" % (i, i) for i in range(100))
    table = read_table("c.csv", data, max_rows=5)
    assert table.row_count_hint == 5
    assert [row[0] for row in table.rows] == ["P0", "P1", "P2", "P3", "P4"]


# --------------------------------------------------------------------------------------------------------
# XLSX


def test_xlsx_numbers_dates_and_header():
    data = xlsx_bytes(
        [
            ["Name", "Mobile", "Joined", "Score", "Active"],
            ["Ann", 254712345678.0, datetime.datetime(2024, 1, 2), 3.5, True],
            [" Bob ", 712345678, datetime.datetime(2024, 1, 2, 8, 30), 2, None],
        ]
    )
    table = read_table("c.xlsx", data)
    assert (table.header, table.file_format, table.row_count_hint) == (
        ["Name", "Mobile", "Joined", "Score", "Active"], "xlsx", 2,
    )
    assert list(table.rows) == [
        ["Ann", "254712345678", "2024-01-02", "3.5", "TRUE"],
        ["Bob", "712345678", "2024-01-02T08:30:00", "2", ""],
    ]


def test_xlsx_merged_cells_are_filled_from_the_top_left_cell():
    data = xlsx_bytes(
        [
            ["Class", "Name", "Mobile"],
            ["Form 1", "Ann", "0712345678"],
            [None, "Bob", "0733123456"],
            [None, "Cy", "0722000111"],
            ["Form 2", "Dee", None],
        ],
        merge=["A2:A4", "C5:D5"],
    )
    assert rows_of("c.xlsx", data)[1] == [
        ["Form 1", "Ann", "0712345678"],
        ["Form 1", "Bob", "0733123456"],
        ["Form 1", "Cy", "0722000111"],
        ["Form 2", "Dee", ""],  # a merged range whose top-left cell is empty stays empty
    ]


def test_xlsx_first_non_empty_sheet_without_header():
    data = xlsx_bytes([[None], ["Ann", "0712345678"]], sheets_before=1)
    assert rows_of("c.xlsx", data) == (["Column 1", "Column 2"], [["Ann", "0712345678"]])


def test_xlsx_every_sheet_empty():
    with pytest.raises(ContactFileError, match="contains no contacts"):
        read_table("c.xlsx", xlsx_bytes([]))


def test_xlsx_with_a_wrong_dimension_still_reads_every_cell():
    data = xlsx_bytes([["Name", "Mobile"], ["Ann", "0712345678"]])
    source = io.BytesIO(data)
    patched = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(patched, "w") as copy:
        for item in original.infolist():
            content = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b'<dimension ref="A1:B2"/>', b'<dimension ref="A1:A1"/>')
            copy.writestr(item, content)
    assert rows_of("c.xlsx", patched.getvalue())[1] == [["Ann", "0712345678"]]


def test_xlsx_with_a_corrupt_sheet_raises_contact_file_error():
    data = xlsx_bytes([["Name", "Mobile"], ["Ann", "0712345678"]])
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as original, zipfile.ZipFile(patched, "w") as copy:
        for item in original.infolist():
            content = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            copy.writestr(item, content)
    with pytest.raises(ContactFileError, match="not a valid Excel workbook"):
        list(read_table("c.xlsx", patched.getvalue()).rows)


# --------------------------------------------------------------------------------------------------------
# DOCX


def test_docx_tables_share_the_first_header():
    data = docx_bytes(
        paragraphs=["Staff list (ignored: the document has tables)"],
        tables=[
            [["Name", "Phone"], ["Ann", "0712345678"]],
            [["Phone", "Name"], ["0733123456", "Bob"]],  # continued table, columns swapped
            [["Cy", "0722000111"]],
        ],
    )
    table = read_table("c.docx", data)
    assert (table.header, table.file_format) == (["Name", "Phone"], "docx")
    assert list(table.rows) == [["Ann", "0712345678"], ["Bob", "0733123456"], ["Cy", "0722000111"]]


def test_docx_table_without_header_and_merged_cells():
    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    for row_index, row in enumerate([["Form 1", "Ann", "0712345678"], ["", "Bob", "0733123456"], ["x", "", ""]]):
        for column_index, text in enumerate(row):
            table.cell(row_index, column_index).text = text
    table.cell(0, 0).merge(table.cell(1, 0))  # vertical merge: "Form 1" covers two rows
    table.cell(2, 1).merge(table.cell(2, 2))  # horizontal merge
    table.cell(2, 1).text = "wide"
    buffer = io.BytesIO()
    document.save(buffer)
    header, rows = rows_of("c.docx", buffer.getvalue())
    assert header == ["Column 1", "Column 2", "Column 3"]
    assert rows[:2] == [["Form 1", "Ann", "0712345678"], ["Form 1", "Bob", "0733123456"]]
    assert rows[2][1:] == ["wide", "wide"]


def test_docx_paragraphs_become_name_mobile_email_rows():
    data = docx_bytes(
        paragraphs=[
            "Parents' contacts",
            "1. Jane Doe - 0712 345 678",
            "John Otieno, +254733123456, john@example.com",
            "Amina 0722-000-111",
            "+254 711 222 333",
            "Meeting on 12 May 2024",
            "",
        ]
    )
    assert rows_of("c.docx", data) == (
        ["Name", "Mobile", "Email"],
        [
            ["Jane Doe", "0712 345 678", ""],
            ["John Otieno", "+254733123456", "john@example.com"],
            ["Amina", "0722-000-111", ""],
            ["", "+254 711 222 333", ""],
        ],
    )


def test_docx_without_any_contact():
    with pytest.raises(ContactFileError, match="contains no contacts"):
        read_table("c.docx", docx_bytes(["Hello", "No numbers here"]))


def test_broken_docx():
    data = docx_bytes(["Ann 0712345678"])
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as original, zipfile.ZipFile(patched, "w") as copy:
        for item in original.infolist():
            if item.filename != "word/document.xml":
                copy.writestr(item, original.read(item.filename))
    with pytest.raises(ContactFileError, match="not a valid Word document"):
        read_table("c.docx", patched.getvalue())


# --------------------------------------------------------------------------------------------------------
# DOC (antiword)


def test_parse_word_text_splits_tables_from_lines():
    tables, lines = parse_word_text(ANTIWORD_SAMPLE)
    assert tables == [
        [
            ["Name", "Phone number"],
            ["Wanjiku Kamau", "0712 345 678"],
            ["Otieno Odhiambo", "+254 733 123 456"],
            ["", ""],
        ]
    ]
    assert "Parents contact list" in lines and "Updated in May." in lines


def test_doc_reads_antiword_tables(monkeypatch):
    monkeypatch.setattr(contact_files, "_antiword_text", lambda data: ANTIWORD_SAMPLE)
    assert rows_of("c.doc", ole2("WordDocument")) == (
        ["Name", "Phone number"],
        [["Wanjiku Kamau", "0712 345 678"], ["Otieno Odhiambo", "+254 733 123 456"]],
    )


def test_doc_reads_antiword_lines_when_no_table(monkeypatch):
    monkeypatch.setattr(contact_files, "_antiword_text", lambda data: "Class list\n\nAnn - 0712 345 678\n")
    assert rows_of("c.doc", ole2("WordDocument"))[1] == [["Ann", "0712 345 678", ""]]


def test_doc_without_antiword_says_how_to_proceed(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ContactFileError, match=r"need the 'antiword' program .* save the document as \.docx"):
        read_table("c.doc", ole2("WordDocument"))


@pytest.mark.skipif(not shutil.which("antiword"), reason="antiword is not installed")
def test_antiword_refuses_a_fake_word_file():
    with pytest.raises(ContactFileError, match="Word \\(.doc\\) document could not be read"):
        read_table("c.doc", ole2("WordDocument"))


@pytest.mark.skipif(
    not (shutil.which("antiword") and ODOO_SAMPLE_DOC.is_file()), reason="antiword or the sample .doc is missing"
)
def test_real_doc_through_antiword():
    header, rows = rows_of("cv.doc", ODOO_SAMPLE_DOC.read_bytes())
    assert header == ["Name", "Mobile", "Email"]
    assert ["Mobile", "9963214587", ""] in rows
    assert ["Email", "", "ShaneWilliams@info.com"] in rows


# --------------------------------------------------------------------------------------------------------
# Header detection, mapping, free-text lines


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["Name", "Mobile"], True),
        (["Full Name", "Phone No."], True),
        (["Jina", "Namba ya simu"], True),
        (["MSISDN"], True),
        (["E-mail"], True),
        (["Ann", "0712345678"], False),
        (["Name", "0712345678"], False),  # a contact called "Name" is still data
        (["a@b.co", "Email"], False),
        (["Ann", "Bob"], False),
    ],
)
def test_looks_like_header(cells, expected):
    assert looks_like_header(cells) is expected


def test_guess_mapping_from_header_words():
    header = ["No.", "Parent name", "Name", "ID number", "Phone", "E-mail address", "Nchi"]
    assert guess_mapping(header) == {"name": 2, "mobile": 4, "email": 5, "country": 6}
    assert guess_mapping(["Jina", "Simu", "Barua pepe"]) == {"name": 0, "mobile": 1, "email": 2}
    assert guess_mapping(["Full name", "Phone number"]) == {"name": 0, "mobile": 1}


def test_guess_mapping_from_content_when_header_is_silent():
    header = ["Column 1", "Column 2", "Column 3", "Column 4"]
    sample = [["1", "Ann", "0712 345 678", "ann@x.org"], ["2", "Bob", "+254733123456", ""]]
    assert guess_mapping(header, sample) == {"mobile": 2, "email": 3, "name": 1}
    assert guess_mapping(["Name", "Column 2"], [["Ann", "0712345678"]]) == {"name": 0, "mobile": 1}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Jane Doe, +254712345678", ["Jane Doe", "+254712345678", ""]),
        ("Jane Doe - 0712 345 678", ["Jane Doe", "0712 345 678", ""]),
        ("Jane Doe 0712 345 678", ["Jane Doe", "0712 345 678", ""]),
        ("(0712) 345 678 Jane", ["Jane", "(0712) 345 678", ""]),
        ("0712345678", ["", "0712345678", ""]),
        ("• Baraka: jane@x.co.ke", ["Baraka", "", "jane@x.co.ke"]),
        ("Room 12", None),
        ("", None),
    ],
)
def test_split_contact_line(line, expected):
    assert split_contact_line(line) == expected


# --------------------------------------------------------------------------------------------------------
# Volume: 100k rows in seconds and bounded memory


ROWS = 100_000


def peak_memory_of(function):
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - started
        return result, tracemalloc.get_traced_memory()[1], elapsed
    finally:
        tracemalloc.stop()


def count_rows(filename, data, width=3):
    table = read_table(filename, data)
    count = 0
    for row in table.rows:
        count += 1
        assert len(row) == width
    return count


def test_100k_row_csv_streams():
    data = b"Name,Mobile,Email\n" + b"".join(
        b"Person %d,07%08d,p%d@example.com\n" % (i, i, i) for i in range(ROWS)
    )
    count, peak, _elapsed = peak_memory_of(lambda: count_rows("big.csv", data))
    assert count == ROWS
    # The decoded text is about the size of the file; rows must not pile up on top of it
    # (a list of 100k rows of three strings alone would take well over 20 MB).
    assert peak < len(data) + 4_000_000, peak


def big_xlsx(numbers_only=False) -> bytes:
    """A 100k-row workbook written directly as XML, as Excel does: texts in the shared strings table, phone
    numbers as numbers. openpyxl would take several seconds to write it.

    ``numbers_only`` gives one column of phone numbers, whose memory use owes nothing to the shared strings
    table (which openpyxl, like Excel, holds in memory whole).
    """
    if numbers_only:
        header = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        rows = "".join('<row r="%d"><c r="A%d"><v>2547%08d</v></c></row>' % (n, n, n) for n in range(2, ROWS + 2))
        strings = ["Mobile"]
    else:
        header = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
        rows = "".join(
            '<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d"><v>2547%08d</v></c><c r="C%d" t="s"><v>%d</v></c>'
            "</row>" % (n, n, 2 * n - 1, n, n, n, 2 * n)
            for n in range(2, ROWS + 2)
        )
        strings = ["Name", "Mobile", "Email"]
        for n in range(2, ROWS + 2):
            strings += ["Person %d" % n, "p%d@example.com" % n]
    shared = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'
        % (len(strings), len(strings), "".join("<si><t>%s</t></si>" % text for text in strings))
    )
    template = io.BytesIO(xlsx_bytes([["x"]]))  # openpyxl writes inline strings: the part is added below
    buffer = io.BytesIO()
    with zipfile.ZipFile(template) as original, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as copy:
        for item in original.infolist():
            content = original.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                start, end = content.index(b"<sheetData>"), content.index(b"</sheetData>")
                content = content[:start] + ("<sheetData>" + header + rows).encode() + content[end:]
                last_cell = b"A%d" % (ROWS + 1) if numbers_only else b"C%d" % (ROWS + 1)
                content = content.replace(b'<dimension ref="A1:A1"/>', b'<dimension ref="A1:%s"/>' % last_cell)
            elif item.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            copy.writestr(item.filename, content)
        copy.writestr("xl/sharedStrings.xml", shared)
    return buffer.getvalue()


def test_100k_row_xlsx_reads_every_row():
    # Speed is measured by `make bench`, not asserted here: a busy machine must not fail the suite.
    data = big_xlsx()
    table = read_table("big.xlsx", data)
    assert table.row_count_hint == ROWS
    assert sum(1 for _ in table.rows) == ROWS


def test_100k_row_xlsx_streams_in_bounded_memory():
    # One column only: tracemalloc slows openpyxl's parsing several times over.
    data = big_xlsx(numbers_only=True)
    count, peak, _elapsed = peak_memory_of(lambda: count_rows("big.xlsx", data, width=1))
    assert count == ROWS
    # Holding the 100k rows in a list peaks at about 24 MB here; streaming must stay well under half of it.
    assert peak < 12_000_000, peak


# --------------------------------------------------------------------------------------------------------
# Properties: nothing but ContactFileError, whatever the bytes


FILENAMES = st.sampled_from(["c.csv", "c.xlsx", "c.docx", "c.doc", "c.xls", "contacts", "c.txt"])
PREFIXES = st.sampled_from([b"", b"PK\x03\x04", contact_files._OLE2_MAGIC, b"\xef\xbb\xbf", b"\xff\xfe", b"Name,"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filename=FILENAMES, prefix=PREFIXES, body=st.binary(max_size=400))
def test_readers_raise_only_contact_file_error(filename, prefix, body):
    try:
        table = read_table(filename, prefix + body, max_rows=50)
        for row in table.rows:
            assert all(isinstance(cell, str) for cell in row)
    except ContactFileError as error:
        assert str(error)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.text(max_size=20), max_size=5), max_size=10))
def test_any_text_csv_reads_or_refuses_cleanly(rows):
    data = "\n".join(",".join('"%s"' % cell.replace('"', '""') for cell in row) for row in rows).encode()
    with contextlib.suppress(ContactFileError):
        list(read_table("c.csv", data).rows)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_split_contact_line_never_raises(line):
    result = split_contact_line(line)
    assert result is None or len(result) == 3


# ---------------------------------------------------------------------- formula injection (issue 15, item 7)

@pytest.mark.parametrize('value, expected', [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ('@SUM(1)', "'@SUM(1)"),
    ('+1+1', "'+1+1"),
    ('-2+3', "'-2+3"),
    ('\t=1', "'\t=1"),
    ('\r=1', "'\r=1"),
    ('+254722000001', '+254722000001'),  # E.164: a number to a spreadsheet, never a formula
    ('+2547 2200 0001', "'+2547 2200 0001"),
    ('+254722000001=1', "'+254722000001=1"),
    ('Jane', 'Jane'),
    (7, '7'),
    (None, ''),
])
def test_spreadsheet_safe(value, expected):
    assert contact_files.spreadsheet_safe(value) == expected


def test_guess_mapping_consent_column():
    from tools.contact_files import guess_mapping
    assert guess_mapping(["Jina", "Simu", "Idhini"]) == {"name": 0, "mobile": 1, "consent": 2}
    assert guess_mapping(["Name", "Mobile", "SMS consent"])["consent"] == 2
