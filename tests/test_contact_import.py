"""The SMS contact import wizard on real files: CSV, XLSX, DOCX, DOC, broken ones and 100k rows."""

import base64
import csv
import io
import logging
import os
import shutil
import time
from unittest.mock import patch

import docx
import openpyxl

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools.misc import file_path

from ..wizard.sms_contact_import import FILE_ERROR_MESSAGES, _sql_insert_possible
from .common import AfricasTalkingCase

_logger = logging.getLogger(__name__)

WILLIAMS_CV_DOC = file_path("hr_recruitment/data/hr_recruitment_demo_williams_cv.doc")


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, merges=()):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def docx_bytes(table_rows=None, lines=()):
    document = docx.Document()
    document.add_paragraph("Form 3 parents")
    for line in lines:
        document.add_paragraph(line)
    if table_rows:
        table = document.add_table(rows=len(table_rows), cols=len(table_rows[0]))
        for row, values in zip(table.rows, table_rows, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@tagged("post_install", "-at_install")
class TestContactImport(AfricasTalkingCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.list_parents = cls.env["mailing.list"].create({"name": "Form 3 parents"})
        cls.env["phone.blacklist"]._add(["+254733000009"])

    def _wizard(self, filename, data, lists=None, **values):
        wizard = self.env["sms.contact.import"].with_user(self.user_marketing).create({
            "file": base64.b64encode(data),
            "filename": filename,
            "list_ids": [(6, 0, (lists or self.list_parents).ids)],
            **values,
        })
        wizard._onchange_file()
        return wizard

    def _import(self, filename, data, **kwargs):
        wizard = self._wizard(filename, data, **kwargs)
        wizard.action_import()
        return wizard

    def _contacts(self, mailing_list=None):
        return (mailing_list or self.list_parents).with_context(active_test=False).contact_ids

    def _report_rows(self, wizard):
        text = base64.b64decode(wizard.report_attachment_id.datas).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text)))

    def assertImportsNothing(self, filename, data, message):
        before = self.env["mailing.contact"].search_count([])
        with self.assertRaisesRegex(UserError, message):
            self._import(filename, data)
        self.assertEqual(self.env["mailing.contact"].search_count([]), before)

    # ------------------------------------------------------------------
    # CSV, normalisation and deduplication
    # ------------------------------------------------------------------

    def test_csv_normalise_dedup_reject(self):
        data = csv_bytes([
            ["Name", "Mobile", "Email", "Class"],
            ["Amina Otieno", "0712 345 678", "amina@example.com", "3B"],
            ["Baraka Mwangi", "+254 723 456 789", "", "3B"],
            ["Chebet", "254734567890", "", "3C"],
            ["Amina again", "0712-345-678", "", "3B"],                 # duplicate of row 2
            ["Student in the list", "0722000001", "", ""],             # already in self.mailing_list
            ["Opted out", "0733 000 009", "", ""],                     # blacklisted
            ["No number", "", "nonumber@example.com", ""],
            ["Typo", "07123", "", ""],
            ["Letters", "N/A", "", ""],
        ])
        wizard = self._wizard("parents.csv", data, lists=self.list_parents | self.mailing_list)
        wizard.column_ids.filtered(lambda c: c.name == "Class").field = "tag"
        wizard.action_import()
        self.assertEqual(wizard.state, "done")
        self.assertEqual(
            (wizard.row_count, wizard.created_count, wizard.duplicate_count, wizard.existing_count,
             wizard.blacklisted_count, wizard.invalid_count, wizard.subscribed_count, wizard.rejected_count),
            (9, 3, 1, 0, 1, 3, 1, 5),
        )
        contacts = self._contacts()
        self.assertEqual(sorted(contacts.mapped("mobile")), [
            "+254712345678", "+254722000001", "+254723456789", "+254734567890"])
        self.assertEqual(sorted(contacts.mapped("phone_sanitized")), sorted(contacts.mapped("mobile")))
        amina = contacts.filtered(lambda c: c.mobile == "+254712345678")
        self.assertEqual((amina.name, amina.email, amina.tag_ids.name), ("Amina Otieno", "amina@example.com", "3B"))
        self.assertEqual(amina.list_ids, self.list_parents | self.mailing_list)
        # The student already in "Students" is only added to the parents' list, not duplicated.
        student = contacts.filtered(lambda c: c.mobile == "+254722000001")
        self.assertEqual(len(student), 1)
        self.assertEqual(student.list_ids, self.list_parents | self.mailing_list)
        report = self._report_rows(wizard)
        self.assertEqual(report[0], ["Row", "Name", "Mobile", "Email", "Class", "Reason"])
        reasons = {row[0]: row[-1] for row in report[1:]}
        self.assertEqual(reasons, {
            "5": "Duplicate of row 2",
            "7": "Blacklisted: this number opted out of SMS",
            "8": "No mobile number",
            "9": "Invalid number",
            "10": "Not a phone number",
        })
        self.assertIn("Duplicate of row 2", wizard.rejected_html)
        action = wizard.action_download_report()
        self.assertEqual(action["url"], "/web/content/%s?download=true" % wizard.report_attachment_id.id)

    def test_sql_insert_stores_what_the_orm_creates(self):
        """The import inserts contacts with SQL; with a record rule on contacts it goes through the ORM instead.
        Both store the same values, subscriptions and tags."""
        other = self.env["mailing.list"].create({"name": "Form 4 parents"})
        data = csv_bytes([
            ["Name", "Surname", "Mobile", "Email", "Country", "School", "Class", "House"],
            ["Amina", "Otieno", "0712 345 678", " Amina.O@Example.com ", "", "Moi Girls", "3B", "Kilima"],
            ["Kato", "", "0772 123456", "", "UG", "", "3B", "3B"],
            ["", "", "+254 723 456 789", "not an email", "Kenya", "", "", ""],
            ["Student", "in the list", "0722000001", "", "", "", "", ""],
        ])

        def run_import(mailing_list, students):
            wizard = self._wizard("parents.csv", data, lists=mailing_list | students)
            fields = {"Name": "name", "Surname": "name", "Mobile": "mobile", "Email": "email", "Country": "country",
                      "School": "company_name", "Class": "tag", "House": "tag"}
            for column in wizard.column_ids:
                column.field = fields[column.name]
            wizard.action_import()
            self.assertEqual((wizard.created_count, wizard.subscribed_count, wizard.rejected_count), (3, 1, 0))
            contacts = self._contacts(mailing_list).filtered(lambda c: c.mobile != "+254722000001")
            return {contact.mobile: (
                contact.name, contact.phone_sanitized, contact.email, contact.email_normalized, contact.country_id,
                contact.company_name, sorted(contact.tag_ids.mapped("name")), contact.message_bounce,
                contact.create_uid, contact.write_uid, contact.list_ids == mailing_list | students,
                contact.subscription_ids.mapped("opt_out"), contact.subscription_ids.mapped("opt_out_datetime"),
            ) for contact in contacts}

        marketing_env = self.env(user=self.user_marketing)
        self.assertTrue(_sql_insert_possible(marketing_env))
        by_sql = run_import(self.list_parents, self.mailing_list)
        self.env["ir.rule"].create({
            "name": "Marketing creates every contact", "model_id": self.env["ir.model"]._get_id("mailing.contact"),
            "domain_force": "[(1, '=', 1)]", "perm_read": False, "perm_write": False, "perm_unlink": False,
        })
        self.assertFalse(_sql_insert_possible(marketing_env))
        other_students = self.env["mailing.list"].create({
            "name": "Students (2)", "contact_ids": [Command.create({"name": "Student", "mobile": "+254722000001"})]})
        by_orm = run_import(other, other_students)
        self.assertEqual(by_sql, by_orm)
        amina = by_sql["+254712345678"]
        self.assertEqual(amina[:7], ("Amina Otieno", "+254712345678", "Amina.O@Example.com", "amina.o@example.com",
                                     self.env.company.country_id, "Moi Girls", ["3B", "Kilima"]))
        self.assertEqual(by_sql["+256772123456"][6], ["3B"], "a tag given twice is set once")
        self.assertFalse(by_sql["+254723456789"][0])
        self.assertFalse(by_sql["+254723456789"][3], "an invalid email has no normalised form")
        self.assertEqual(amina[8:], (self.user_marketing, self.user_marketing, True, [False, False], [False, False]))
        # The students already in a chosen list got the other list through a subscription of their contact.
        self.assertEqual(self._contacts().filtered(lambda c: c.mobile == "+254722000001").list_ids,
                         self.list_parents | self.mailing_list)
        self.assertEqual(self._contacts(other).filtered(lambda c: c.mobile == "+254722000001").list_ids,
                         other | other_students)

    def test_reimport_is_deduplicated_against_the_list(self):
        data = csv_bytes([["Name", "Mobile"], ["Amina", "0712345678"], ["Baraka", "0723456789"]])
        self._import("a.csv", data)
        wizard = self._import("a.csv", data)
        self.assertEqual((wizard.created_count, wizard.existing_count), (0, 2))
        self.assertEqual(len(self._contacts()), 2)
        self.assertEqual({row[-1] for row in self._report_rows(wizard)[1:]}, {"Already in the mailing list"})

    def test_default_country_and_country_column(self):
        data = csv_bytes([["Name", "Phone", "Country"], ["Kato", "0772 123456", "UG"],
                          ["Juma", "0754 123 456", "Tanzania"], ["Wanjiru", "0712345678", ""]])
        wizard = self._import("c.csv", data, country_id=self.env.ref("base.ke").id)
        self.assertEqual(wizard.created_count, 3)
        contacts = self._contacts()
        self.assertEqual(sorted(contacts.mapped("mobile")), ["+254712345678", "+255754123456", "+256772123456"])
        self.assertEqual(contacts.filtered(lambda c: c.name == "Kato").country_id, self.env.ref("base.ug"))
        wizard = self._import("u.csv", csv_bytes([["Name", "Mobile"], ["Okello", "0772 654321"]]),
                              country_id=self.env.ref("base.ug").id)
        self.assertEqual(wizard.created_count, 1)
        self.assertIn("+256772654321", self._contacts().mapped("mobile"))

    def test_wrong_encodings(self):
        rows = [["Name", "Mobile"], ["Zoë Achieng'", "0712345678"], ["Renée Njeri", "0723456789"]]
        for encoding, filename in (("cp1252", "ansi.csv"), ("utf-16", "utf16.csv"), ("utf-8-sig", "bom.csv")):
            with self.subTest(encoding=encoding):
                mailing_list = self.env["mailing.list"].create({"name": encoding})
                self._import(filename, csv_bytes(rows, encoding=encoding, delimiter=";"), lists=mailing_list)
                self.assertEqual(sorted(self._contacts(mailing_list).mapped("name")), ["Renée Njeri", "Zoë Achieng'"])

    def test_mapping_guess_preview_and_manual_mapping(self):
        data = csv_bytes([["Simu", "Jina", "Notes"], ["0712345678", "Amina", "x"], ["12", "Bad", "y"]])
        with Form(self.env["sms.contact.import"].with_user(self.user_marketing)) as form:
            form.list_ids.add(self.list_parents)
            form.file = base64.b64encode(data)
            self.assertEqual(len(form.column_ids), 3, "the columns are proposed as soon as the file is chosen")
            wizard = form.save()
        self.assertEqual(wizard.column_ids.mapped("field"), ["mobile", "name", "ignore"])
        self.assertIn("+254712345678", wizard.preview_html)
        self.assertIn("Invalid number", wizard.preview_html)
        # The user maps the notes column as an extra tag.
        wizard.column_ids.filtered(lambda c: c.name == "Notes").field = "tag"
        wizard.action_import()
        amina = self._contacts().filtered(lambda c: c.name == "Amina")
        self.assertEqual(amina.tag_ids.name, "x", wizard.read(["created_count", "rejected_html"])
                         + wizard.column_ids.read(["name", "field", "column_index"]))

    def test_no_mobile_column(self):
        wizard = self._wizard("e.csv", csv_bytes([["Name", "Email"], ["A", "a@example.com"]]))
        wizard.column_ids.filtered(lambda c: c.field == "mobile").field = "ignore"
        with self.assertRaisesRegex(UserError, "mobile numbers"):
            wizard.action_import()

    # ------------------------------------------------------------------
    # XLSX, DOCX, DOC
    # ------------------------------------------------------------------

    def test_xlsx_with_merged_cells_and_numeric_phones(self):
        data = xlsx_bytes([
            ["Class", "Name", "Mobile"],
            ["3B", "Amina", 254712345678],
            [None, "Baraka", 723456789.0],
            ["3C", "Chebet", "0734 567 890"],
        ], merges=["A2:A3"])
        wizard = self._import("class.xlsx", data)
        self.assertEqual(wizard.created_count, 3)
        contacts = self._contacts()
        self.assertEqual(sorted(contacts.mapped("mobile")), ["+254712345678", "+254723456789", "+254734567890"])
        # "Class" is not guessed; map it as a tag and the merged cell gives Baraka the class too.
        self.assertEqual(wizard.column_ids.filtered(lambda c: c.name == "Class").field, "ignore")
        wizard = self._wizard("class.xlsx", data, lists=self.mailing_list)
        wizard.column_ids.filtered(lambda c: c.name == "Class").field = "tag"
        wizard.action_import()
        baraka = self._contacts(self.mailing_list).filtered(lambda c: c.name == "Baraka")
        self.assertEqual(baraka.tag_ids.name, "3B")

    def test_docx_table_and_plain_lines(self):
        table = docx_bytes([["Name", "Mobile", "Email"], ["Amina", "0712 345 678", "amina@example.com"],
                            ["Baraka", "0723456789", ""]])
        wizard = self._import("parents.docx", table)
        self.assertEqual(wizard.created_count, 2)
        lines = docx_bytes(lines=["1. Chebet Kirui - 0734 567 890", "2. Daudi 0745678901, daudi@example.com",
                                  "Signed: the class teacher"])
        wizard = self._import("lines.docx", lines, lists=self.mailing_list)
        self.assertEqual(wizard.created_count, 2)
        daudi = self._contacts(self.mailing_list).filtered(lambda c: c.mobile == "+254745678901")
        self.assertEqual((daudi.name, daudi.email), ("Daudi", "daudi@example.com"))

    def test_legacy_doc_through_antiword(self):
        if not (shutil.which("antiword") and os.path.isfile(WILLIAMS_CV_DOC)):
            self.skipTest("antiword or the sample .doc is not available")
        with open(WILLIAMS_CV_DOC, "rb") as document:
            data = document.read()
        wizard = self._import("cv.doc", data, country_id=self.env.ref("base.in").id)
        self.assertEqual(wizard.created_count, 1)
        self.assertEqual(self._contacts().mobile, "+919963214587")

    def test_legacy_doc_without_antiword(self):
        with open(WILLIAMS_CV_DOC, "rb") as document:
            data = document.read()
        # An empty PATH is a server without antiword.
        with patch.dict(os.environ, {"PATH": ""}):
            self.assertImportsNothing("cv.doc", data, r"antiword.*save the document as \.docx")

    # ------------------------------------------------------------------
    # Broken files
    # ------------------------------------------------------------------

    def test_broken_and_wrong_type_files(self):
        good = xlsx_bytes([["Name", "Mobile"], ["Amina", "0712345678"]])
        cases = [
            ("empty.csv", b"", "The file is empty"),
            ("blank.csv", b"\n\n ,, \n", "no contacts"),
            ("truncated.xlsx", good[: len(good) // 2], "not a valid Excel workbook"),
            ("photo.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image"),
            ("report.xlsx", b"%PDF-1.4 fake", "PDF"),
            ("renamed.docx", b"Name,Mobile\nAmina,0712345678\n", "not a valid Word document"),
            ("binary.csv", bytes(range(256)) * 8, "not a text"),
            ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "Workbook".encode("utf-16-le") + b"\x00" * 64,
             r"\.xls\) are not supported"),
        ]
        for filename, data, message in cases:
            with self.subTest(filename=filename):
                self.assertImportsNothing(filename, data, message)
        wizard = self._wizard("photo.csv", b"\x89PNG\r\n\x1a\n")
        self.assertIn("image", wizard.file_error)
        self.assertFalse(wizard.column_ids)

    def test_file_error_messages_are_translatable_copies(self):
        for english, translatable in FILE_ERROR_MESSAGES.items():
            self.assertEqual(str(translatable), english, "the copy must match tools.contact_files word for word")

    def test_swahili_user(self):
        self.env["res.lang"]._activate_lang("sw")
        self.env["ir.module.module"]._load_module_terms(["sms_africastalking"], ["sw"], overwrite=True)
        wizard = self._wizard("sw.csv", csv_bytes([["Jina", "Simu"], ["Amina", "07123"], ["Baraka", "0712345678"],
                                                   ["Baraka tena", "0712 345 678"]])).with_context(lang="sw")
        wizard.action_import()
        self.assertIn("Namba batili", wizard.rejected_html)
        self.assertIn("Nakala ya mstari 3", wizard.rejected_html)
        with self.assertRaisesRegex(UserError, "Faili ni tupu"):
            self._wizard("empty.csv", b"").with_context(lang="sw").action_import()

    def test_header_only_file(self):
        self.assertImportsNothing("h.csv", csv_bytes([["Name", "Mobile"]]), "no contacts")

    # ------------------------------------------------------------------
    # Volume
    # ------------------------------------------------------------------

    def test_100k_rows_csv(self):
        rows = 100_000
        lines = ["Name,Mobile,Class"]
        lines += ["Student %d,07%08d,Form %d" % (index, 10_000_000 + index, index % 4 + 1) for index in range(rows)]
        lines.append("Duplicate,0710000000,Form 1")
        data = ("\n".join(lines) + "\n").encode()
        wizard = self._wizard("big.csv", data)
        wizard.column_ids.filtered(lambda c: c.name == "Class").field = "tag"
        self.env.flush_all()
        queries_before = self.env.cr.sql_log_count
        started = time.monotonic()
        wizard.action_import()
        elapsed = time.monotonic() - started
        queries = self.env.cr.sql_log_count - queries_before
        _logger.info("100k-row CSV import: %.1fs, %d SQL queries, %.0f rows/s", elapsed, queries, rows / elapsed)
        self.assertEqual((wizard.row_count, wizard.created_count, wizard.duplicate_count), (rows + 1, rows, 1))
        self.assertEqual(self.list_parents.contact_count, rows)
        # Contacts, subscriptions and tags inserted by batches of 50,000: a few queries per batch (plus three COPY
        # statements per batch, which the cursor does not count).
        self.assertLess(queries, 200)
        contact = self._contacts().filtered(lambda c: c.mobile == "+254710000007")
        self.assertEqual((contact.name, contact.phone_sanitized, contact.tag_ids.name), (
            "Student 7", "+254710000007", "Form 4"))
