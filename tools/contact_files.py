"""Read uploaded contact files (CSV, XLSX, DOCX, legacy DOC) into rows of text for the import wizard.

Plain Python (no ``odoo`` import). ``read_table(filename, data)`` gives a ``Table``: a header (the file's first
row when it looks like one, else ``Column 1..n``) and a generator of rows, so a 100k-row file is never held
twice in memory. ``guess_mapping`` proposes which column holds the name, mobile, email and country.

Every problem with the file itself raises ``ContactFileError`` whose message is a plain English sentence
for the user saying what to do; no other exception type escapes, even while the rows are being iterated.
"""
import codecs
import csv
import datetime
import io
import re
import shutil
import subprocess
import tempfile
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice

import docx
import openpyxl
from docx.text.paragraph import Paragraph
from lxml import etree

FORMATS = ("csv", "xlsx", "docx", "doc")
# For the upload widget's ``accept`` attribute.
ACCEPTED_FILE_TYPES = ".csv,.txt,.xlsx,.xlsm,.docx,.doc"

ANTIWORD_TIMEOUT_SECONDS = 30

# Resource limits: a contact list is far below each of them; a file above is refused with a message saying which
# limit it hit, before (or while) it is read, so no upload can exhaust the server's memory or time.
MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # XLSX / DOCX: the sum of the archive's unpacked parts
MAX_ROWS = 250_000
MAX_COLUMNS = 200
MAX_CELL_CHARS = 1000
MAX_MERGED_CELLS = 1_000_000  # XLSX: cells covered by merged ranges, all ranges together
MAX_DOCUMENT_PARAGRAPHS = 50_000  # DOCX: paragraphs and table cells

MSG_EMPTY = "The file is empty."
MSG_TOO_LARGE = "The file is larger than 25 MB. Split it into smaller files and import them one after the other."
MSG_UNPACKS_TOO_LARGE = (
    "This file unpacks to more than 200 MB of data, far more than a contact list needs. Save the list again as "
    "CSV or split it into smaller files and retry."
)
MSG_TOO_MANY_ROWS = (
    "The file has more than 250,000 rows. Split it into smaller files and import them one after the other."
)
MSG_TOO_MANY_COLUMNS = (
    "A row of the file has more than 200 columns. Keep only the contact columns (name, mobile, email...) and retry."
)
MSG_CELL_TOO_LONG = (
    "A cell of the file holds more than 1,000 characters. Contact details are short: check that this is the right "
    "file, or shorten that cell, and retry."
)
MSG_MERGED_TOO_LARGE = (
    "The spreadsheet merges cells across more than 200 columns or over more than 1,000,000 cells. Unmerge those "
    "cells and retry."
)
MSG_DOCUMENT_TOO_LONG = (
    "This Word document has more than 50,000 paragraphs or table cells, far more than a contact list needs. "
    "Save the list as CSV or .xlsx and retry."
)
MSG_NO_ROWS = "The file contains no contacts: every row is empty."
MSG_CSV_INVALID = (
    "This file could not be read as a CSV text file. Open it in a spreadsheet program, "
    "save it as CSV (UTF-8) or .xlsx and retry."
)
MSG_NOT_TEXT = (
    "This file is not a text (CSV) file and not a supported document. "
    "Upload a CSV, Excel (.xlsx) or Word (.docx or .doc) file."
)
MSG_XLSX_INVALID = (
    "This file is not a valid Excel workbook (.xlsx). Save it again as .xlsx or CSV and retry."
)
MSG_XLS_UNSUPPORTED = (
    "Old Excel workbooks (.xls) are not supported. Open the file in Excel or LibreOffice, "
    "save it as .xlsx or CSV and retry."
)
MSG_ENCRYPTED = (
    "This file is password-protected. Open it, remove the password (or save an unprotected copy as .xlsx "
    "or CSV) and retry."
)
MSG_DOCX_INVALID = (
    "This file is not a valid Word document (.docx). Open it in Word or LibreOffice, save it again as "
    ".docx and retry."
)
MSG_DOC_INVALID = (
    "This Word (.doc) document could not be read; it may be damaged or password-protected. Open it in Word "
    "or LibreOffice, save it as .docx and retry."
)
MSG_DOC_TIMEOUT = "Reading this Word (.doc) document took too long. Save it as .docx and retry."
MSG_ANTIWORD_MISSING = (
    "Legacy Word (.doc) files need the 'antiword' program on the server. Install it "
    "(Debian: apt-get install antiword) or save the document as .docx."
)
MSG_OPENDOCUMENT = (
    "OpenDocument files (.ods, .odt) are not supported. Save the file as .xlsx, CSV or .docx and retry."
)
MSG_UNKNOWN_ARCHIVE = (
    "This archive does not contain a contact list. Upload a CSV, Excel (.xlsx) or Word (.docx) file."
)
MSG_OTHER_OFFICE_FILE = (
    "This is an old Microsoft Office file that is neither a Word document nor a workbook. "
    "Upload a CSV, Excel (.xlsx) or Word (.docx or .doc) file."
)
MSG_RTF = "Rich Text (.rtf) documents are not supported. Open it in Word or LibreOffice, save it as .docx and retry."

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Known non-contact files get a message naming what they are instead of a generic "not a text file".
_OTHER_SIGNATURES = (
    (b"\x89PNG", "This file is an image (PNG), not a contact list."),
    (b"\xff\xd8\xff", "This file is an image (JPEG), not a contact list."),
    (b"GIF8", "This file is an image (GIF), not a contact list."),
    (b"%PDF", "PDF files are not supported. Export the list as CSV or Excel (.xlsx) and retry."),
    (b"{\\rtf", MSG_RTF),
)
_INVALID_BY_EXTENSION = {
    "xlsx": MSG_XLSX_INVALID,
    "xlsm": MSG_XLSX_INVALID,
    "xls": MSG_XLS_UNSUPPORTED,
    "docx": MSG_DOCX_INVALID,
    "doc": MSG_DOC_INVALID,
}

# Header words per field, with a weight: "number" alone is weaker evidence of a phone column than "mobile".
FIELD_HEADER_WORDS = {
    "name": {"name": 3, "names": 3, "full name": 4, "fullname": 4, "jina": 3, "majina": 3, "jina kamili": 4,
             "contact": 1},
    "mobile": {"mobile": 4, "phone": 4, "msisdn": 4, "tel": 3, "telephone": 4, "cell": 3, "cellphone": 4,
               "mobile number": 5, "phone number": 5, "simu": 4, "namba ya simu": 5, "number": 2, "namba": 2,
               "nambari": 2, "whatsapp": 2},
    "email": {"email": 4, "e mail": 4, "mail": 2, "email address": 5, "barua pepe": 4},
    "country": {"country": 4, "nchi": 4},
    # Swahili: idhini / ridhaa (consent), kubali (agree).
    "consent": {"consent": 4, "sms consent": 5, "opt in": 3, "optin": 3, "idhini": 4, "ridhaa": 4, "kubali": 3},
}

# 7 to 15 digits with separators, optionally after '+' or '('; never the tail of a word or an email.
_PHONE_RUN = re.compile(r"(?<![\w@+(])(?:\+\s?)?\(?\d(?:[\s.\-()]{0,2}\d){6,14}\)?")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,4}[.)]|[•·*\-–—])\s+")
_EDGE_SEPARATORS = re.compile(r"^[\s,;:|\-–—/]+|[\s,;:|\-–—/]+$")
_MERGE_CELL = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?\"")
_CSV_DELIMITERS = (",", ";", "\t", "|")
_SEP_HINT = re.compile(r"^\ufeff?sep=(.)\s*$", re.IGNORECASE)


class ContactFileError(Exception):
    """The uploaded file cannot be read; ``str(error)`` is a sentence to show the user as is."""


@dataclass
class Table:
    """Rows of a contact file as stripped text.

    ``rows`` is a generator (consume it once); rows may be longer than ``header`` when a later row has more
    cells than the first one, and are padded to the header's width when shorter. ``row_count_hint`` is an
    estimate of the number of data rows (None when unknown), good for a progress bar, not for validation.
    """

    header: list[str]
    rows: Iterator[list[str]]
    row_count_hint: int | None
    has_header: bool
    file_format: str


# ---------------------------------------------------------------------------------------------------------
# Format detection


def detect_format(filename, data: bytes) -> str:
    """Return 'csv', 'xlsx', 'docx' or 'doc', judged by content first and by the file name second."""
    if not data:
        raise ContactFileError(MSG_EMPTY)
    extension = _extension(filename)
    if data.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return _detect_zip_format(data, extension)
    if data.startswith(_OLE2_MAGIC):
        return _detect_ole2_format(data)
    for signature, message in _OTHER_SIGNATURES:
        if data.startswith(signature):
            raise ContactFileError(message)
    if extension in _INVALID_BY_EXTENSION:
        # Named like an Office file but not one: a renamed or truncated download.
        raise ContactFileError(_INVALID_BY_EXTENSION[extension])
    return "csv"


def _extension(filename) -> str:
    if not isinstance(filename, str) or "." not in filename:
        return ""
    return filename.rsplit(".", 1)[1].strip().lower()


def _detect_zip_format(data: bytes, extension: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            mimetype = archive.read("mimetype")[:80] if "mimetype" in names else b""
            # zipfile never unpacks more than a member's declared size: the sum bounds what readers can inflate.
            unpacked = sum(info.file_size for info in archive.infolist())
    except Exception as exc:
        raise ContactFileError(_INVALID_BY_EXTENSION.get(extension, MSG_UNKNOWN_ARCHIVE)) from exc
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        raise ContactFileError(MSG_OPENDOCUMENT)
    if unpacked > MAX_UNCOMPRESSED_BYTES:
        raise ContactFileError(MSG_UNPACKS_TOO_LARGE)
    if "[Content_Types].xml" in names:
        if any(name.startswith("xl/") for name in names):
            return "xlsx"
        if any(name.startswith("word/") for name in names):
            return "docx"
    raise ContactFileError(_INVALID_BY_EXTENSION.get(extension, MSG_UNKNOWN_ARCHIVE))


def _detect_ole2_format(data: bytes) -> str:
    # OLE2 directory entries store stream names in UTF-16LE; their presence tells Word from Excel
    # without an OLE parser.
    def has_stream(name):
        return name.encode("utf-16-le") in data

    if has_stream("EncryptedPackage"):
        raise ContactFileError(MSG_ENCRYPTED)
    if has_stream("WordDocument"):
        return "doc"
    if has_stream("Workbook") or has_stream("Book"):
        raise ContactFileError(MSG_XLS_UNSUPPORTED)
    raise ContactFileError(MSG_OTHER_OFFICE_FILE)


# ---------------------------------------------------------------------------------------------------------
# Entry point


def read_table(filename, data: bytes, *, max_rows: int | None = None) -> Table:
    """Read an uploaded file into a ``Table``; ``max_rows`` limits the data rows (for a preview)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ContactFileError(MSG_EMPTY)
    data = bytes(data)
    if len(data) > MAX_FILE_BYTES:
        raise ContactFileError(MSG_TOO_LARGE)
    file_format = detect_format(filename, data)
    reader = _READERS[file_format]
    raw_rows, row_count_hint, error_message = reader(data)
    return _build_table(file_format, raw_rows, row_count_hint, error_message, max_rows)


def _build_table(file_format, raw_rows, row_count_hint, error_message, max_rows) -> Table:
    """Pick the header, then hand the rest over as a guarded, padded generator."""
    rows = _guarded(_non_empty_rows(raw_rows), error_message)
    first = next(rows, None)
    if first is None:
        raise ContactFileError(MSG_NO_ROWS)
    has_header = looks_like_header(first)
    if has_header:
        header = [cell or "Column %d" % index for index, cell in enumerate(first, start=1)]
        body = rows
        if row_count_hint:
            row_count_hint -= 1
    else:
        header = _generated_header(len(first))
        body = chain([first], rows)
    body = _padded(_limited(body), len(header))
    if max_rows is not None:
        body = islice(body, max(0, max_rows))
        row_count_hint = min(row_count_hint, max_rows) if row_count_hint is not None else None
    return Table(header, body, row_count_hint, has_header, file_format)


def _guarded(rows: Iterator[list[str]], error_message: str) -> Iterator[list[str]]:
    """Turn any failure while reading into ContactFileError, even one raised late during iteration."""
    try:
        yield from rows
    except ContactFileError:
        raise
    except Exception as exc:
        raise ContactFileError(error_message) from exc


def _limited(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    for count, row in enumerate(rows, start=1):
        if count > MAX_ROWS:
            raise ContactFileError(MSG_TOO_MANY_ROWS)
        yield row


def _non_empty_rows(rows: Iterable[Iterable]) -> Iterator[list[str]]:
    for row in rows:
        cells = [_clean_cell(cell) for cell in row]
        while cells and not cells[-1]:
            cells.pop()
        if len(cells) > MAX_COLUMNS:
            raise ContactFileError(MSG_TOO_MANY_COLUMNS)
        if any(len(cell) > MAX_CELL_CHARS for cell in cells):
            raise ContactFileError(MSG_CELL_TOO_LONG)
        if cells:
            yield cells


def _clean_cell(value) -> str:
    return value.strip() if isinstance(value, str) else _cell_text(value)


def _padded(rows: Iterator[list[str]], width: int) -> Iterator[list[str]]:
    for row in rows:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
        yield row


def _generated_header(width: int) -> list[str]:
    return ["Column %d" % index for index in range(1, width + 1)]


# ---------------------------------------------------------------------------------------------------------
# Header detection and column mapping


def _header_tokens(cell) -> str:
    """' full name ' for 'Full-Name:' - padded with spaces so phrases match on word boundaries."""
    text = unicodedata.normalize("NFKD", str(cell or ""))
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    return " %s " % " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _field_scores(cell) -> dict[str, int]:
    tokens = _header_tokens(cell)
    scores = {}
    for field, words in FIELD_HEADER_WORDS.items():
        best = max((weight for word, weight in words.items() if " %s " % word in tokens), default=0)
        if best:
            # An exact header ("Name") beats a qualified one ("Parent name").
            scores[field] = best + (1 if tokens.strip() in words else 0)
    return scores


def _looks_like_data(cell: str) -> bool:
    return bool(_EMAIL.search(cell)) or sum(char.isdigit() for char in cell) >= 7


def looks_like_header(cells: list[str]) -> bool:
    """True when a row names columns: one cell is a known header word and no cell holds a number or email."""
    if any(_looks_like_data(cell) for cell in cells):
        return False
    return any(_field_scores(cell) for cell in cells)


def guess_mapping(header: list[str], sample_rows: Iterable[list[str]] = ()) -> dict[str, int]:
    """Propose ``{field: column_index}`` for 'name', 'mobile', 'email', 'country', 'consent' from header words.

    Fields the header does not name are guessed from ``sample_rows`` (a few data rows) by content:
    the column of phone-like numbers, the column of email addresses, the first column of words. Each column
    serves at most one field; fields that cannot be guessed are left out.
    """
    candidates = [
        (score, -index, field)
        for index, cell in enumerate(header)
        for field, score in _field_scores(cell).items()
    ]
    mapping: dict[str, int] = {}
    for _score, negative_index, field in sorted(candidates, reverse=True):
        if field not in mapping and -negative_index not in mapping.values():
            mapping[field] = -negative_index
    sample = list(islice(sample_rows, 50))
    if sample:
        _guess_from_content(mapping, sample, len(header))
    return mapping


def _guess_from_content(mapping: dict[str, int], sample: list[list[str]], width: int) -> None:
    checks = (
        ("mobile", lambda cell: bool(_PHONE_RUN.fullmatch(cell.strip().removeprefix("+")))),
        ("email", lambda cell: bool(_EMAIL.fullmatch(cell.strip()))),
        ("name", lambda cell: any(char.isalpha() for char in cell) and not _looks_like_data(cell)),
    )
    for field, check in checks:
        if field in mapping:
            continue
        for index in range(width):
            if index in mapping.values():
                continue
            values = [row[index] for row in sample if index < len(row) and row[index].strip()]
            if values and sum(map(check, values)) * 2 > len(values):
                mapping[field] = index
                break


# ---------------------------------------------------------------------------------------------------------
# CSV


def _read_csv(data: bytes):
    text = _decode_text(data)
    if text.startswith("\ufeff"):
        text = text[1:]  # a second byte order mark, left by tools that add one to a file that had one
    _reject_binary(text)
    if "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line endings
    lines = _iter_lines(text)
    first_line = next(lines, "")
    sep_hint = _SEP_HINT.match(first_line)
    if sep_hint:
        # Excel's "sep=;" first line names the delimiter and is not data.
        delimiter = sep_hint.group(1)
    else:
        delimiter = _sniff_delimiter(text)
        lines = chain([first_line], lines)
    row_count_hint = text.count("\n") + (0 if text.endswith("\n") else 1) - (1 if sep_hint else 0)
    return csv.reader(lines, delimiter=delimiter), row_count_hint, MSG_CSV_INVALID


def _decode_text(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16/32 (BOM, or UTF-16 recognised by its zero bytes), else cp1252/latin-1."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    bomless_utf16 = _bomless_utf16(data)
    if bomless_utf16:
        return data.decode(bomless_utf16, errors="replace")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")  # maps every byte: the last resort never fails


def _bomless_utf16(data: bytes) -> str | None:
    # Mostly-ASCII UTF-16 has a zero in every other byte; binary files do not show that regularity.
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even_zeros, odd_zeros = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd_zeros > 0.9 * half and even_zeros == 0:
        return "utf-16-le"
    if even_zeros > 0.9 * half and odd_zeros == 0:
        return "utf-16-be"
    return None


def _reject_binary(text: str) -> None:
    sample = text[:65536]
    if "\x00" in sample:
        raise ContactFileError(MSG_NOT_TEXT)
    controls = sum(1 for char in sample if ord(char) < 32 and char not in "\t\n\r\f\v")
    # A stray control character happens in real exports; a few percent of them is binary data.
    if controls > max(2, len(sample) // 50):
        raise ContactFileError(MSG_NOT_TEXT)


def _iter_lines(text: str) -> Iterator[str]:
    """Lines with their endings, lazily: csv.reader then joins quoted multi-line cells itself."""
    start = 0
    while True:
        end = text.find("\n", start)
        if end == -1:
            if start < len(text):
                yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _sniff_delimiter(text: str) -> str:
    """The delimiter giving the most rows of the same width (>1) in the first lines; ',' when none does."""
    sample_lines = list(islice(_iter_lines(text[:65536]), 50))
    if len(sample_lines) > 1 and not sample_lines[-1].endswith("\n"):
        sample_lines.pop()  # cut by the sample limit
    best_delimiter, best_score = ",", (0, 0)
    for delimiter in _CSV_DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(sample_lines, delimiter=delimiter) if any(row)]
        except csv.Error:
            continue
        if not widths:
            continue
        width, frequency = Counter(widths).most_common(1)[0]
        if width > 1 and (frequency, width) > best_score:
            best_delimiter, best_score = delimiter, (frequency, width)
    return best_delimiter


# ---------------------------------------------------------------------------------------------------------
# XLSX


def _read_xlsx(data: bytes):
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; irrelevant to contact data.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise ContactFileError(MSG_XLSX_INVALID) from exc
    return _first_non_empty_sheet_rows(workbook, data), _row_count_hint(workbook), MSG_XLSX_INVALID


def _row_count_hint(workbook) -> int | None:
    try:
        sheet = workbook.worksheets[0]
        return sheet.max_row
    except Exception:  # noqa: BLE001 - a hint, never a reason to fail
        return None


def _first_non_empty_sheet_rows(workbook, data: bytes) -> Iterator[list]:
    """Rows of the first sheet holding data (visible sheets first); closes the workbook at the end."""
    try:
        sheets = sorted(workbook.worksheets, key=lambda sheet: sheet.sheet_state != "visible")
        for sheet in sheets:
            rows = _sheet_rows(sheet, data)
            for row in rows:
                if any(_cell_text(value) for value in row):
                    yield row
                    yield from rows
                    return
    finally:
        workbook.close()


def _sheet_rows(sheet, data: bytes) -> Iterator[list]:
    """Cell values of one sheet, row by row, with merged ranges filled from their top-left cell.

    Read-only mode keeps memory bounded by one row, whatever the sheet's size, but it does not expose merged
    ranges (non-top-left cells read as empty). Loading the sheet in normal mode to get them would build every
    cell object of a 100k-row sheet in memory, so the ranges are read separately by streaming the sheet's XML.
    """
    fill_merged = _MergedCellFiller(_merged_ranges(data, getattr(sheet, "_worksheet_path", None)))
    # Some generators write a wrong <dimension>; without it openpyxl reads every cell the file really has.
    sheet.reset_dimensions()
    for row_number, values in enumerate(sheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
        yield fill_merged([_cell_text(value) for value in values], row_number)


def _cell_text(value) -> str:
    """Text of a cell value: whole floats without '.0' (phone numbers stored as numbers), dates in ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


def _merged_ranges(data: bytes, sheet_path) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col) of each merged range, scanned in chunks: memory stays small."""
    if not sheet_path:
        return []
    ranges, merged_cells = [], 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(sheet_path.lstrip("/")) as source:
        tail = b""
        while True:
            chunk = source.read(1 << 18)
            if not chunk:
                break
            buffer = tail + chunk
            last_end = 0
            for match in _MERGE_CELL.finditer(buffer):
                ranges.append(_merge_bounds(match))
                last_end = match.end()
                merged_cells += _merged_area(ranges[-1])
                if ranges[-1][3] > MAX_COLUMNS or merged_cells > MAX_MERGED_CELLS:
                    # The filler would widen every covered row to the range (C1:XFD1000: 16 million cells).
                    raise ContactFileError(MSG_MERGED_TOO_LARGE)
            # Keep the end of the buffer in case a tag is cut in two, but never re-read a matched tag.
            tail = buffer[max(last_end, len(buffer) - 256):]
    return ranges


def _merged_area(bounds) -> int:
    min_row, min_col, max_row, max_col = bounds
    return max(0, max_row - min_row + 1) * max(0, max_col - min_col + 1)


def _merge_bounds(match) -> tuple[int, int, int, int]:
    first_col, first_row, last_col, last_row = match.groups()
    min_col = openpyxl.utils.column_index_from_string(first_col.decode())
    max_col = openpyxl.utils.column_index_from_string(last_col.decode()) if last_col else min_col
    return int(first_row), min_col, int(last_row or first_row), max_col


class _MergedCellFiller:
    """Fills merged cells as rows stream by; remembers only the ranges that cover the current row."""

    def __init__(self, ranges):
        self._starting = {}
        for bounds in ranges:
            self._starting.setdefault(bounds[0], []).append(bounds)
        self._active = []  # [bounds, top-left value]

    def __call__(self, cells: list[str], row_number: int) -> list[str]:
        if not self._starting and not self._active:
            return cells
        for bounds in self._starting.pop(row_number, ()):
            min_col = bounds[1]
            self._active.append((bounds, cells[min_col - 1] if min_col <= len(cells) else ""))
        self._active = [(bounds, value) for bounds, value in self._active if bounds[2] >= row_number]
        for (min_row, min_col, _max_row, max_col), value in self._active:
            if len(cells) < max_col:
                cells.extend([""] * (max_col - len(cells)))
            for column in range(min_col, max_col + 1):
                if (row_number, column) != (min_row, min_col):
                    cells[column - 1] = value
        return cells


# ---------------------------------------------------------------------------------------------------------
# DOCX and DOC


def _read_docx(data: bytes):
    _check_document_length(data)
    try:
        document = docx.Document(io.BytesIO(data))
        tables = [_docx_table_rows(table) for table in document.tables]
        lines = [] if any(tables) else [line for p in document.paragraphs for line in p.text.splitlines()]
    except Exception as exc:
        raise ContactFileError(MSG_DOCX_INVALID) from exc
    return _document_rows(tables, lines), None, MSG_DOCX_INVALID


def _check_document_length(data: bytes) -> None:
    """Refuse a DOCX with more than MAX_DOCUMENT_PARAGRAPHS paragraphs and cells before python-docx loads it.

    python-docx builds the whole document tree and an object per paragraph (1 M tiny paragraphs: 74 s and 775 MB
    for a 20-row preview). The main part is streamed here with iterparse, each element dropped once counted,
    and the count stops at the limit: memory stays flat and the cost is bounded.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(_docx_main_part(archive)) as source:
            elements = etree.iterparse(source, events=("end",), tag=list(_DOCX_COUNTED_TAGS),
                                       resolve_entities=False, no_network=True)
            for count, (_event, element) in enumerate(elements, start=1):
                if count > MAX_DOCUMENT_PARAGRAPHS:
                    raise ContactFileError(MSG_DOCUMENT_TOO_LONG)
                element.clear(keep_tail=True)
    except ContactFileError:
        raise
    except Exception as exc:
        raise ContactFileError(MSG_DOCX_INVALID) from exc


_WORD_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DOCX_COUNTED_TAGS = frozenset({_WORD_NS + "p", _WORD_NS + "tc"})
_OFFICE_DOCUMENT_TARGET = re.compile(rb'Type="[^"]*/officeDocument"[^>]*?Target="/?([^"]+)"|'
                                     rb'Target="/?([^"]+)"[^>]*?Type="[^"]*/officeDocument"')


def _docx_main_part(archive) -> str:
    """The document part named by the package relationships (word/document.xml in practice)."""
    try:
        match = _OFFICE_DOCUMENT_TARGET.search(archive.read("_rels/.rels")[:65536])
    except KeyError:
        match = None
    return (match.group(1) or match.group(2)).decode() if match else "word/document.xml"


def _docx_table_rows(table) -> list[list[str]]:
    """Rows of a Word table; merged cells repeat their text in every grid column and row they cover."""
    rows, above = [], []
    for tr in table._tbl.tr_lst:
        cells = [""] * (tr.grid_before or 0)
        for tc in tr.tc_lst:
            column = len(cells)
            if tc.vMerge == "continue":
                text = above[column] if column < len(above) else ""
            else:
                text = " ".join(Paragraph(p, None).text.strip() for p in tc.p_lst).strip()
            cells.extend([text] * max(1, tc.grid_span or 1))
        rows.append(cells)
        above = cells
    return rows


def _read_doc(data: bytes):
    return _document_rows(*parse_word_text(_antiword_text(data))), None, MSG_DOC_INVALID


def _antiword_text(data: bytes) -> str:
    antiword = shutil.which("antiword")
    if not antiword:
        raise ContactFileError(MSG_ANTIWORD_MISSING)
    # antiword needs a seekable file, not a pipe.
    with tempfile.NamedTemporaryFile(suffix=".doc") as document:
        document.write(data)
        document.flush()
        try:
            result = subprocess.run(  # noqa: S603 - fixed program, no shell, our own temp file
                [antiword, "-w", "0", "-m", "UTF-8.txt", document.name],
                capture_output=True,
                timeout=ANTIWORD_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ContactFileError(MSG_DOC_TIMEOUT) from exc
        except OSError as exc:
            raise ContactFileError(MSG_DOC_INVALID) from exc
    if result.returncode != 0:
        raise ContactFileError(MSG_DOC_INVALID)
    return result.stdout.decode("utf-8", errors="replace")


def parse_word_text(text: str) -> tuple[list[list[list[str]]], list[str]]:
    """Split antiword's text output into tables (lines drawn as ``|cell|cell|``) and the other lines.

    Consecutive table lines form one table. The other lines are only used when there is no table.
    """
    tables, lines, current = [], [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.count("|") >= 2:
            if current is None:
                current = []
                tables.append(current)
            current.append(_pipe_cells(stripped))
        else:
            current = None
            lines.append(line)
    return tables, lines


def _pipe_cells(line: str) -> list[str]:
    inner = line[1:-1] if line.endswith("|") else line[1:]
    return [cell.strip() for cell in inner.split("|")]


def _document_rows(tables: list[list[list[str]]], lines: list[str]) -> Iterator[list[str]]:
    """Tables when the document has any (one header for all), else one contact per line of text."""
    tables = [table for table in tables if any(any(cell.strip() for cell in row) for row in table)]
    if not tables:
        contacts = (split_contact_line(line) for line in lines)
        found = [contact for contact in contacts if contact]
        # Lines of free text carry no header: name the columns so guess_mapping recognises them.
        return iter([["Name", "Mobile", "Email"], *found]) if found else iter(())
    return _merge_tables(tables)


def _merge_tables(tables: list[list[list[str]]]) -> Iterator[list[str]]:
    """One stream of rows; only the first table may give the header, later header rows are dropped."""
    header = None
    for table_index, table in enumerate(tables):
        rows = [row for row in table if any(cell.strip() for cell in row)]
        order = None
        if rows and looks_like_header(rows[0]):
            if table_index == 0:
                header = rows[0]
                yield header
            elif header is not None:
                # A table continued on the next page may repeat its header in another column order.
                order = _column_order(rows[0], header)
            rows = rows[1:]
        for row in rows:
            yield [row[index] if 0 <= index < len(row) else "" for index in order] if order else row


def _column_order(table_header: list[str], header: list[str]) -> list[int] | None:
    """Where each column of the first header sits in a later table's header, when they differ in order."""
    positions = {_header_tokens(cell): index for index, cell in enumerate(table_header)}
    order = [positions.get(_header_tokens(cell), -1) for cell in header]
    return order if -1 not in order and order != list(range(len(header))) else None


def split_contact_line(line: str) -> list[str] | None:
    """'1. Jane Doe - 0712 345 678, jane@example.com' -> ['Jane Doe', '0712 345 678', 'jane@example.com'].

    The first phone-like run (7 to 15 digits, separators allowed) is the mobile, the first email address
    the email, what remains the name. Lines with neither (titles, blank lines) give None.
    """
    if not isinstance(line, str):
        return None
    email_match = _EMAIL.search(line)
    email = email_match.group(0) if email_match else ""
    rest = line.replace(email, " ") if email else line
    phone_match = _PHONE_RUN.search(rest)
    if not phone_match and not email:
        return None
    mobile = phone_match.group(0).strip() if phone_match else ""
    if phone_match:
        rest = rest[:phone_match.start()] + " " + rest[phone_match.end():]
    name = _EDGE_SEPARATORS.sub("", _LIST_MARKER.sub("", rest))
    return [" ".join(name.split()), mobile, email]


_READERS = {"csv": _read_csv, "xlsx": _read_xlsx, "docx": _read_docx, "doc": _read_doc}


# ----------------------------------------------------------------------------------------------------------------
# Writing user data back out (the "Rejected rows" report)
# ----------------------------------------------------------------------------------------------------------------

# OWASP "CSV Injection": a cell starting with one of these is read as a formula (or DDE call) by spreadsheets.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A "+" and 7 to 15 digits (E.164) and nothing else: a spreadsheet reads it as that positive number, never as a
# function call or reference, so it cannot run anything; left as typed, the number stays usable (copy, re-import).
_E164_CELL = re.compile(r"^\+[1-9][0-9]{6,14}$")


def spreadsheet_safe(value) -> str:
    """``value`` as text a spreadsheet shows as typed: a leading formula trigger gets a ``'`` (OWASP)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_TRIGGERS) and not _E164_CELL.match(text):
        return "'" + text
    return text


def write_safe_csv_row(writer, row) -> None:
    """``writer.writerow`` with every cell made :func:`spreadsheet_safe` (for files users open in Excel)."""
    writer.writerow([spreadsheet_safe(cell) for cell in row])
