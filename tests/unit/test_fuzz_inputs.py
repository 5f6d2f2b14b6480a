"""Property-based tests of the inputs strangers control, completing the ones beside each tool.

Already elsewhere: any form of any keys to the three callback parsers (test_at_callbacks), any bytes to the file
readers and any text as CSV (test_contact_files), any value to the phone normaliser (test_phone), any text to the
segmenter (test_segments). Here: well-formed callbacks with one field fuzzed (so parsing goes deep) and errors that
never echo the input; well-formed XLSX / DOCX files with any cell text, damaged ones, and any antiword output for
DOC; normalisation that is stable.
"""
import io
import string
import zipfile

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_contact_files import docx_bytes, xlsx_bytes

from tools import contact_files
from tools.at_callbacks import CallbackError, parse_delivery_report, parse_inbound_message, parse_opt_out
from tools.contact_files import ContactFileError, read_table
from tools.phone import is_e164, normalize_number

VALID = {
    parse_delivery_report: {"id": "ATXid_1", "status": "Failed", "phoneNumber": "+254711000001",
                            "networkCode": "63902", "failureReason": "DeliveryFailure", "retryCount": "2"},
    parse_inbound_message: {"id": "in-1", "from": "+254711000001", "text": "STOP", "to": "20414",
                            "linkId": "x", "date": "2026-11-26 10:00:00", "networkCode": "63902"},
    parse_opt_out: {"phoneNumber": "+254711000001", "senderId": "UNIVERSITY"},
}
# Digits of every script (Arabic-Indic, superscripts, fractions...) look like numbers to str.isdigit().
DIGITISH = st.text(alphabet=st.characters(whitelist_categories=("Nd", "No", "Nl")), min_size=1, max_size=8)
ANY_VALUE = st.one_of(st.text(max_size=40), DIGITISH, st.text(alphabet="+0123456789 ", max_size=25),
                      st.just("x" * 2000))


@settings(max_examples=300)
@given(st.sampled_from(sorted(VALID, key=lambda parser: parser.__name__)), st.data())
def test_one_fuzzed_field_parses_cleanly_or_raises_callback_error(parser, data):
    form = dict(VALID[parser])
    name = data.draw(st.sampled_from(sorted(form)))
    form[name] = data.draw(ANY_VALUE)
    try:
        result = parser(form)
    except CallbackError as error:
        if len(form[name].strip()) > 3:
            assert form[name].strip() not in str(error), "errors are logged: they never echo the input"
        return
    number = getattr(result, "phone_number", None) or getattr(result, "from_number", None)
    assert number.startswith("+") and number[1:].isdecimal() and number[1:].isascii()
    if parser is parse_delivery_report:
        assert isinstance(result.retry_count, int) and result.retry_count >= 0


def test_digits_of_other_scripts_are_a_callback_error():
    for name, value in (("retryCount", "²"), ("retryCount", "½"), ("retryCount", "٣"),
                        ("phoneNumber", "+٢٥٤٧١١٠٠٠٠٠١"), ("networkCode", "٦٣٩٠٢")):
        with pytest.raises(CallbackError):
            parse_delivery_report({**VALID[parse_delivery_report], name: value})


# --------------------------------------------------------------------------------------------------------
# Files

# What an office program can store in a cell: any character but XML-illegal control characters and surrogates.
CELL_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
ROWS = st.lists(st.lists(st.one_of(CELL_TEXT, st.integers(-10**12, 10**12), st.none()), min_size=1, max_size=5),
                max_size=8)


def _read_all(filename, data):
    table = read_table(filename, data, max_rows=100)
    rows = list(table.rows)
    for row in [table.header, *rows]:
        assert all(isinstance(cell, str) for cell in row)
    return table, rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS)
def test_any_xlsx_cells_read_as_text(rows):
    try:
        data = xlsx_bytes(rows)
    except Exception:  # openpyxl refuses some strings (e.g. a leading '='-formula it cannot store)
        assume(False)
    try:
        table, read_rows = _read_all("contacts.xlsx", data)
    except ContactFileError as error:
        assert str(error)
        return
    # A first row that looks like a header (e.g. "NAME") is the header, not data.
    cells = {cell for row in read_rows for cell in row} | set(table.header)
    numbers = {str(cell) for row in rows for cell in row if isinstance(cell, int)}
    assert numbers <= cells | {"0"}, "whole numbers are read as their digits"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CELL_TEXT, max_size=6),
       st.lists(st.lists(st.lists(CELL_TEXT, min_size=2, max_size=2), min_size=1, max_size=4), max_size=2))
def test_any_docx_text_reads_or_refuses_cleanly(paragraphs, tables):
    data = docx_bytes(paragraphs, tables)
    try:
        _read_all("contacts.docx", data)
    except ContactFileError as error:
        assert str(error)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["xlsx", "docx"]), st.data())
def test_damaged_office_files_raise_contact_file_error(kind, data):
    original = (xlsx_bytes([["Name", "Mobile"], ["Amani", "0712345678"]]) if kind == "xlsx"
                else docx_bytes(["Amani 0712345678"], [[["Name", "Mobile"], ["Amani", "0712345678"]]]))
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    victim = data.draw(st.sampled_from(sorted(members)))
    members[victim] = data.draw(st.one_of(st.binary(max_size=200), st.just(members[victim][: len(members[victim])
                                                                                          // 2])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    try:
        _read_all("contacts." + kind, buffer.getvalue())
    except ContactFileError as error:
        assert str(error)


ANTIWORD_LINE = st.one_of(
    CELL_TEXT,
    st.lists(CELL_TEXT.map(lambda text: text.replace("|", "")), min_size=1, max_size=4).map(
        lambda cells: "|" + "|".join(cells) + "|"),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(ANTIWORD_LINE, max_size=12))
def test_any_antiword_output_reads_or_refuses_cleanly(lines):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(contact_files, "_antiword_text", lambda data: "\n".join(lines))
        try:
            _table, rows = _read_all("contacts.doc", contact_files._OLE2_MAGIC + b"\0" * 600)
        except ContactFileError as error:
            assert str(error)
            return
    width = max((len(row) for row in rows), default=0)
    assert all(len(row) == width for row in rows), "rows are padded to one width"


# --------------------------------------------------------------------------------------------------------
# Phone numbers

@given(st.text(alphabet=string.digits + " +-()./", max_size=20), st.sampled_from(["KE", "UG", "TZ", "RW", None]))
def test_normalisation_is_stable(raw, country):
    first = normalize_number(raw, country)
    if first.valid:
        assert is_e164(first.e164)
        again = normalize_number(first.e164, country)
        assert again.e164 == first.e164, "an E.164 number normalises to itself"
        other_country = normalize_number(first.e164, "NG")
        assert other_country.e164 == first.e164, "an E.164 number ignores the default country"
