import base64
import csv
import io
import logging
import time
from collections import Counter

from markupsafe import Markup

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize
from odoo.tools.misc import clean_context
from odoo.tools.translate import _lt

from ..tools import contact_files
from ..tools.bulk_sql import copy_rows, next_ids
from ..tools.contact_files import ContactFileError, guess_mapping, read_table, write_safe_csv_row
from ..tools.phone import non_mobile_type, normalize_number

_logger = logging.getLogger(__name__)

# Distinct numbers checked and inserted together: a few queries per batch (the list and blacklist look-ups scan
# their tables once per batch), while the rows kept in memory stay bounded.
IMPORT_BATCH_SIZE = 50000
# Stored columns the SQL insert fills itself, with the values the ORM would give them (see _Importer._insert).
CONTACT_COLUMNS = ("name", "mobile", "phone_sanitized", "email", "email_normalized", "country_id", "company_name",
                   "message_bounce")
SUBSCRIPTION_COLUMNS = ("contact_id", "list_id", "opt_out", "opt_out_datetime")
LOG_COLUMNS = ("create_uid", "create_date", "write_uid", "write_date")
PREVIEW_ROWS = 20
# Outcomes of a row that import it (see _RowJudge); the others reject it.
ACCEPTED_KINDS = ("create", "subscribe")
# Rejected rows shown on screen; the downloadable report has all of them.
REJECTS_SHOWN = 50

# The readers' messages (plain English in tools/) as translatable texts; a message not listed is shown as is.
FILE_ERROR_MESSAGES = {
    contact_files.MSG_EMPTY: _lt("The file is empty."),
    contact_files.MSG_NO_ROWS: _lt("The file contains no contacts: every row is empty."),
    contact_files.MSG_CSV_INVALID: _lt(
        "This file could not be read as a CSV text file. Open it in a spreadsheet program, save it as CSV (UTF-8) "
        "or .xlsx and retry."),
    contact_files.MSG_NOT_TEXT: _lt(
        "This file is not a text (CSV) file and not a supported document. Upload a CSV, Excel (.xlsx) or Word "
        "(.docx or .doc) file."),
    contact_files.MSG_XLSX_INVALID: _lt(
        "This file is not a valid Excel workbook (.xlsx). Save it again as .xlsx or CSV and retry."),
    contact_files.MSG_XLS_UNSUPPORTED: _lt(
        "Old Excel workbooks (.xls) are not supported. Open the file in Excel or LibreOffice, save it as .xlsx or "
        "CSV and retry."),
    contact_files.MSG_ENCRYPTED: _lt(
        "This file is password-protected. Open it, remove the password (or save an unprotected copy as .xlsx or "
        "CSV) and retry."),
    contact_files.MSG_DOCX_INVALID: _lt(
        "This file is not a valid Word document (.docx). Open it in Word or LibreOffice, save it again as .docx "
        "and retry."),
    contact_files.MSG_DOC_INVALID: _lt(
        "This Word (.doc) document could not be read; it may be damaged or password-protected. Open it in Word "
        "or LibreOffice, save it as .docx and retry."),
    contact_files.MSG_TOO_LARGE: _lt(
        "The file is larger than 25 MB. Split it into smaller files and import them one after the other."),
    contact_files.MSG_UNPACKS_TOO_LARGE: _lt(
        "This file unpacks to more than 200 MB of data, far more than a contact list needs. Save the list again "
        "as CSV or split it into smaller files and retry."),
    contact_files.MSG_TOO_MANY_ROWS: _lt(
        "The file has more than 250,000 rows. Split it into smaller files and import them one after the other."),
    contact_files.MSG_TOO_MANY_COLUMNS: _lt(
        "A row of the file has more than 200 columns. Keep only the contact columns (name, mobile, email...) and "
        "retry."),
    contact_files.MSG_CELL_TOO_LONG: _lt(
        "A cell of the file holds more than 1,000 characters. Contact details are short: check that this is the "
        "right file, or shorten that cell, and retry."),
    contact_files.MSG_MERGED_TOO_LARGE: _lt(
        "The spreadsheet merges cells across more than 200 columns or over more than 1,000,000 cells. Unmerge "
        "those cells and retry."),
    contact_files.MSG_DOCUMENT_TOO_LONG: _lt(
        "This Word document has more than 50,000 paragraphs or table cells, far more than a contact list needs. "
        "Save the list as CSV or .xlsx and retry."),
    contact_files.MSG_ANTIWORD_MISSING: _lt(
        "Legacy Word (.doc) files need the 'antiword' program on the server. Install it (Debian: apt-get install "
        "antiword) or save the document as .docx."),
}


def file_error_message(error):
    """The user's-language text of a ContactFileError."""
    message = str(error)
    translated = FILE_ERROR_MESSAGES.get(message)
    return str(translated) if translated is not None else message


COLUMN_FIELDS = [
    ("ignore", "Do not import"),
    ("name", "Name"),
    ("mobile", "Mobile"),
    ("email", "Email"),
    ("country", "Country"),
    ("company_name", "Company / Organisation"),
    ("tag", "Extra: tag (class, department, club...)"),
]


class SmsContactImport(models.TransientModel):
    """Import a contact file (CSV, XLSX, DOCX, DOC) into mailing lists, for SMS.

    Rows stay plain Python lists read lazily from the file (``tools.contact_files``); numbers are normalised to
    E.164, duplicates (in the file and in the lists), blacklisted and invalid numbers are rejected with a reason,
    and contacts, subscriptions and tags are inserted with COPY by batches (through the ORM when another module
    makes that necessary, see ``_sql_insert_possible``). Any error in the file rolls the whole import back.
    """

    _name = "sms.contact.import"
    _description = "Import SMS Contacts"

    state = fields.Selection([("upload", "Upload"), ("done", "Done")], default="upload", required=True)
    file = fields.Binary(attachment=False)
    filename = fields.Char("File Name")
    list_ids = fields.Many2many(
        "mailing.list", "sms_contact_import_mailing_list_rel", "wizard_id", "list_id", string="Mailing Lists",
        default=lambda self: self._default_list_ids(),
    )
    country_id = fields.Many2one(
        "res.country", string="Default Country", default=lambda self: self.env.company.country_id,
        help="Numbers written without an international prefix (0712 345 678) are read as numbers of this "
        "country, unless a Country column says otherwise.",
    )
    column_ids = fields.One2many("sms.contact.import.column", "wizard_id", string="Columns")
    file_error = fields.Char(readonly=True)
    preview_html = fields.Html("Preview", compute="_compute_preview_html", sanitize=False)
    # Results
    row_count = fields.Integer("Rows Read", readonly=True)
    created_count = fields.Integer("Contacts Created", readonly=True)
    subscribed_count = fields.Integer("Existing Contacts Added to Lists", readonly=True)
    existing_count = fields.Integer("Already in the Lists", readonly=True)
    duplicate_count = fields.Integer("Duplicates in the File", readonly=True)
    blacklisted_count = fields.Integer("Blacklisted", readonly=True)
    invalid_count = fields.Integer("Invalid or Missing Numbers", readonly=True)
    rejected_count = fields.Integer("Rows Not Imported", readonly=True)
    rejected_html = fields.Html("Rejected Rows", readonly=True, sanitize=False)
    report_attachment_id = fields.Many2one("ir.attachment", readonly=True)
    duration = fields.Float("Duration (s)", readonly=True, digits=(16, 1))

    def _default_list_ids(self):
        list_ids = self.env.context.get("default_mailing_list_ids") or []
        if not list_ids and self.env.context.get("active_model") == "mailing.list":
            list_ids = self.env.context.get("active_ids") or []
        return [Command.set(list_ids)]

    # ------------------------------------------------------------------
    # Upload and mapping
    # ------------------------------------------------------------------

    def _file_data(self):
        self.ensure_one()
        # The web client reads binaries with bin_size (a size text instead of the content): ask for the data.
        data = self.with_context(bin_size=False, bin_size_file=False).file
        return base64.b64decode(data) if data else b""

    def _read_table(self, max_rows=None):
        try:
            return read_table(self.filename or "", self._file_data(), max_rows=max_rows)
        except ContactFileError as exc:
            raise UserError(file_error_message(exc)) from None

    @api.onchange("file", "filename")
    def _onchange_file(self):
        self.file_error = False
        if not self.file:
            self.column_ids = [Command.clear()]
            return
        try:
            table = read_table(self.filename or "", self._file_data(), max_rows=PREVIEW_ROWS)
            sample = list(table.rows)
        except ContactFileError as exc:
            self.column_ids = [Command.clear()]
            self.file_error = file_error_message(exc)
            return
        self.column_ids = [Command.clear()] + self._column_commands(table.header, sample)

    @api.model
    def _column_commands(self, header, sample):
        width = max([len(header)] + [len(row) for row in sample])
        header = header + ["Column %d" % index for index in range(len(header) + 1, width + 1)]
        by_index = {index: field for field, index in guess_mapping(header, sample).items()}
        commands = []
        for index, name in enumerate(header):
            values = [row[index] for row in sample if index < len(row) and row[index]]
            commands.append(Command.create({
                "column_index": index,
                "name": name,
                "sample": ", ".join(values[:3])[:120],
                "field": by_index.get(index, "ignore"),
            }))
        return commands

    def _mapping(self):
        """{field: [column indexes]}; name and tag may combine several columns, the others take the first."""
        mapping = {}
        for column in self.column_ids.sorted("column_index"):
            if column.field and column.field != "ignore":
                mapping.setdefault(column.field, []).append(column.column_index)
        return mapping

    @api.depends("file", "filename", "column_ids.field", "country_id")
    def _compute_preview_html(self):
        for wizard in self:
            wizard.preview_html = wizard._preview_html() if wizard.file and wizard.column_ids else False

    def _preview_html(self):
        try:
            table = read_table(self.filename or "", self._file_data(), max_rows=PREVIEW_ROWS)
            rows = list(table.rows)
        except ContactFileError as exc:
            return Markup('<div class="alert alert-danger" role="alert">%s</div>') % file_error_message(exc)
        # The import's own judge: the preview shows each row's real outcome (duplicate, blacklisted, already in
        # the lists), not only whether its number parses.
        judge = _RowJudge(self, self._mapping())
        head = Markup("").join(Markup("<th>%s</th>") % label for label in (
            _("Row"), _("Name"), _("Mobile"), _("E.164 Number"), _("Email"), _("Check")))
        body = Markup("")
        first_row = 2 if table.has_header else 1
        for outcome in judge.judge(list(enumerate(rows, start=first_row))):
            parsed = outcome.parsed
            css = "text-success" if outcome.kind in ACCEPTED_KINDS else "text-danger"
            status = Markup('<span class="%s" data-outcome="%s">%s</span>') % (css, outcome.kind, outcome.reason)
            body += Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>") % (
                outcome.row_number, parsed.name, parsed.raw_mobile, parsed.e164 or "", parsed.email, status)
        return Markup('<table class="table table-sm o_sms_contact_import_preview"><thead><tr>%s</tr></thead>'
                      '<tbody>%s</tbody></table>') % (head, body)

    # ------------------------------------------------------------------
    # Import
    # ------------------------------------------------------------------

    def action_import(self):
        self.ensure_one()
        if not self.file:
            # Odoo stores an empty upload as no file at all.
            raise UserError(_("The file is empty.") if self.filename else _("Upload a contact file first."))
        if not self.list_ids:
            raise UserError(_("Choose the mailing list(s) to import the contacts into."))
        # Lists owned by another team are refused (contacts may be inserted with SQL, past the ORM's checks).
        self.env["mailing.list"].browse(self.sudo().list_ids.ids).check_access_rule("read")
        if not self.column_ids:
            self._onchange_file()
            if self.file_error:
                raise UserError(self.file_error)
        mapping = self._mapping()
        if "mobile" not in mapping:
            raise UserError(_("Choose the column holding the mobile numbers."))
        started = time.monotonic()
        table = self._read_table()
        importer = _Importer(self, mapping, table)
        try:
            importer.run()
        except ContactFileError as exc:
            # Raised while reading a late row: the UserError rolls back what the earlier batches created.
            raise UserError(file_error_message(exc)) from None
        self.write({**importer.result_values(), "state": "done", "duration": time.monotonic() - started})
        _logger.info("SMS contact import of %s rows done in %.1fs", self.row_count, self.duration)
        return self._reopen()

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Import SMS Contacts"),
        }

    def action_download_report(self):
        self.ensure_one()
        if not self.report_attachment_id:
            raise UserError(_("Every row was imported: there is no report of rejected rows."))
        return {
            "type": "ir.actions.act_url",
            "url": "/web/content/%s?download=true" % self.report_attachment_id.id,
            "target": "self",
        }

    def action_view_contacts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mass_mailing_sms.mailing_contact_action_sms")
        action["domain"] = [("list_ids", "in", self.list_ids.ids)]
        action["context"] = {"default_list_ids": self.list_ids.ids}
        return action


class SmsContactImportColumn(models.TransientModel):
    _name = "sms.contact.import.column"
    _description = "Column of an SMS Contact Import"
    _order = "column_index"

    wizard_id = fields.Many2one("sms.contact.import", "Import", required=True, ondelete="cascade")
    column_index = fields.Integer(required=True)
    name = fields.Char("Column", readonly=True)
    sample = fields.Char("Sample Values", readonly=True)
    field = fields.Selection(COLUMN_FIELDS, string="Import As", required=True, default="ignore")


# ----------------------------------------------------------------------
# Plain helpers: rows are lists of text, never ORM records
# ----------------------------------------------------------------------


class _ParsedRow:
    __slots__ = ("name", "raw_mobile", "e164", "reason", "email", "country_id", "company_name", "tags")


def _values(cells, indexes):
    """The non-empty stripped cells at ``indexes`` (a row can be shorter than the header)."""
    if not indexes:
        return []
    values = [cells[index].strip() for index in indexes if index < len(cells)]
    return [value for value in values if value]


class _RowParser:
    """Turn one row of cells into contact values and a normalised number, with the reason when invalid."""

    def __init__(self, wizard, mapping):
        self.env = wizard.env  # for _(): the user's language
        self.mapping = mapping
        self.default_code = wizard.country_id.code or None
        self.default_country_id = wizard.country_id.id or False
        self.countries = {}
        # Parsing is the costly part of a row (~20 µs): a number repeated in the file (siblings' parent) once.
        self.numbers = {}
        if "country" in mapping:
            for country in wizard.env["res.country"].search_read([], ["code", "name"]):
                self.countries[country["code"].upper()] = (country["id"], country["code"])
                self.countries[country["name"].strip().upper()] = (country["id"], country["code"])
        self.reasons = {
            "missing": _("No mobile number"),
            "unparsable": _("Not a phone number"),
            "invalid": _("Invalid number"),
            "not_mobile": _("Not a mobile number (landline, premium-rate...): cannot receive SMS"),
        }

    def _cell(self, cells, field, joiner=None):
        values = _values(cells, self.mapping.get(field))
        if joiner is None:
            return values[0] if values else ""
        return joiner.join(values)

    def parse(self, cells):
        parsed = _ParsedRow()
        parsed.name = self._cell(cells, "name", " ")
        parsed.raw_mobile = self._cell(cells, "mobile")
        parsed.email = self._cell(cells, "email")
        parsed.company_name = self._cell(cells, "company_name", " ")
        parsed.tags = _values(cells, self.mapping.get("tag"))
        country_id, code = self.default_country_id, self.default_code
        country_text = self._cell(cells, "country").upper() if self.countries else ""
        if country_text and country_text in self.countries:
            country_id, code = self.countries[country_text]
        parsed.country_id = country_id
        key = (parsed.raw_mobile, code)
        normalized = self.numbers.get(key)
        if normalized is None:
            normalized = self.numbers[key] = normalize_number(parsed.raw_mobile, code)
        parsed.e164 = normalized.e164
        parsed.reason = None if normalized.valid else self.reasons.get(normalized.reason, self.reasons["invalid"])
        if normalized.valid and non_mobile_type(normalized.e164):
            # A landline or premium-rate number: a contact no SMS reaches (recipient_rules.py's "not_mobile").
            parsed.e164, parsed.reason = None, self.reasons["not_mobile"]
        return parsed


class _Outcome:
    """What the import does with one row: ``kind`` is ``create`` or ``subscribe`` (ACCEPTED_KINDS), or the reason
    it is rejected (``invalid``, ``duplicate``, ``blacklisted``, ``existing``); ``reason`` says it to a person."""

    __slots__ = ("row_number", "cells", "parsed", "kind", "reason", "contact_id", "missing_list_ids")

    def __init__(self, row_number, cells, parsed, kind, reason, contact_id=None, missing_list_ids=()):
        self.row_number = row_number
        self.cells = cells
        self.parsed = parsed
        self.kind = kind
        self.reason = reason
        self.contact_id = contact_id
        self.missing_list_ids = missing_list_ids


class _RowJudge:
    """The one place that decides each row's outcome, for the preview and the import alike.

    Rows are judged batch by batch in file order: a number seen in an earlier row (or batch) is a duplicate, then
    the batch's numbers are looked up in the blacklist and in the chosen lists with one query each.
    """

    def __init__(self, wizard, mapping):
        self.env = wizard.env
        self.parser = _RowParser(wizard, mapping)
        self.list_ids = wizard.list_ids._origin.ids  # the preview runs in an onchange, on a new wizard
        self.seen = {}  # E.164 -> first row number: duplicates inside the file
        self.reasons = {
            "create": _("OK: new contact"),
            "subscribe": _("OK: existing contact, added to the lists"),
            "blacklisted": _("Blacklisted: this number opted out of SMS"),
            "existing": _("Already in the mailing list"),
        }

    def judge(self, rows):
        """``[_Outcome]`` of ``rows``, pairs of (row number, cells), in their order."""
        outcomes, candidates = [], []
        for row_number, cells in rows:
            parsed = self.parser.parse(cells)
            if not parsed.e164:
                outcomes.append(_Outcome(row_number, cells, parsed, "invalid", parsed.reason))
            elif parsed.e164 in self.seen:
                outcomes.append(_Outcome(row_number, cells, parsed, "duplicate",
                                         _("Duplicate of row %s", self.seen[parsed.e164])))
            else:
                self.seen[parsed.e164] = row_number
                outcome = _Outcome(row_number, cells, parsed, "create", self.reasons["create"])
                outcomes.append(outcome)
                candidates.append(outcome)
        numbers = [outcome.parsed.e164 for outcome in candidates]
        blacklisted = self._blacklisted(numbers) if numbers else set()
        in_lists = self._subscriptions(numbers) if numbers else {}
        for outcome in candidates:
            number = outcome.parsed.e164
            contact_id, lists_present = in_lists.get(number, (None, set()))
            missing = [list_id for list_id in self.list_ids if list_id not in lists_present]
            if number in blacklisted:
                outcome.kind = "blacklisted"
            elif self.list_ids and not missing:
                outcome.kind = "existing"
            elif contact_id:
                outcome.kind, outcome.contact_id, outcome.missing_list_ids = "subscribe", contact_id, missing
            outcome.reason = self.reasons[outcome.kind]
        return outcomes

    def _blacklisted(self, numbers):
        self.env["phone.blacklist"].flush_model(["number", "active"])
        self.env.cr.execute(
            "SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)", (numbers,)
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def _subscriptions(self, numbers):
        """{E.164: (contact id, {list ids it is subscribed to among the wizard's lists})}."""
        self.env["mailing.contact"].flush_model(["phone_sanitized"])
        self.env["mailing.subscription"].flush_model(["contact_id", "list_id"])
        self.env.cr.execute(
            """
            SELECT c.phone_sanitized, c.id, array_agg(s.list_id)
              FROM mailing_contact c
              JOIN mailing_subscription s ON s.contact_id = c.id AND s.list_id = ANY(%s)
             WHERE c.phone_sanitized = ANY(%s)
          GROUP BY c.phone_sanitized, c.id
          ORDER BY c.id
            """,
            (self.list_ids, numbers),
        )
        found = {}
        for number, contact_id, list_ids in self.env.cr.fetchall():
            if number in found:
                # Two contacts share the number: the lists of both count, the first contact gets the new ones.
                found[number] = (found[number][0], found[number][1] | set(list_ids))
            else:
                found[number] = (contact_id, set(list_ids))
        return found


class _Importer:
    """One pass over the rows: reject, deduplicate, then insert contacts batch by batch."""

    def __init__(self, wizard, mapping, table):
        self.wizard = wizard
        self.env = wizard.env
        self.table = table
        self.judge = _RowJudge(wizard, mapping)
        self.list_ids = self.judge.list_ids
        self.counts = Counter()
        self.tag_ids = {}
        self.report = io.StringIO()
        self.report_writer = csv.writer(self.report)
        # The report holds the uploaded cells: each is neutralized so that opening it in Excel runs no formula.
        write_safe_csv_row(self.report_writer, [_("Row"), *table.header, _("Reason")])
        self.rejects_shown = []
        # A new context (not merged): default_list_ids of a mailing-list action would add every list to every
        # contact through mailing.contact.create.
        self.contact_model = self.env["mailing.contact"].with_context(
            clean_context(self.env.context), tracking_disable=True, mail_create_nolog=True,
            mail_create_nosubscribe=True, mail_notrack=True,
        )
        self.use_sql = _sql_insert_possible(self.env)

    def run(self):
        # Contacts and the blacklist are read with SQL: what the ORM still holds must be written first.
        self.env.flush_all()
        batch = []
        first_row = 2 if self.table.has_header else 1
        for row_number, cells in enumerate(self.table.rows, start=first_row):
            self.counts["rows"] += 1
            batch.append((row_number, cells))
            if len(batch) >= IMPORT_BATCH_SIZE:
                self._flush(batch)
                batch = []
        self._flush(batch)
        if not self.counts["rows"]:
            raise UserError(_("The file contains no contacts."))

    def _reject(self, row_number, cells, reason, kind):
        self.counts[kind] += 1
        write_safe_csv_row(self.report_writer, [row_number, *cells, reason])
        if len(self.rejects_shown) < REJECTS_SHOWN:
            self.rejects_shown.append((row_number, " | ".join(cell for cell in cells if cell), reason))

    def _flush(self, batch):
        if not batch:
            return
        to_create, to_subscribe = [], []
        for outcome in self.judge.judge(batch):
            if outcome.kind == "create":
                to_create.append(outcome.parsed)
            elif outcome.kind == "subscribe":
                to_subscribe += [(outcome.contact_id, list_id) for list_id in outcome.missing_list_ids]
                self.counts["subscribed"] += 1
            else:
                self._reject(outcome.row_number, outcome.cells, outcome.reason, outcome.kind)
        if self.use_sql:
            self._insert(to_create, to_subscribe)
        else:
            self._create(to_create, to_subscribe)
        self.counts["created"] += len(to_create)
        # Keep memory bounded by one batch, and let no cache hide the rows written with SQL.
        self.env.invalidate_all()

    def _insert(self, to_create, to_subscribe):
        """Contacts, their subscriptions and tags with COPY: the rows the ORM would write, without its per-record
        work (~0.4 ms a contact). The numbers are valid E.164, so they are their own sanitized form."""
        cr = self.env.cr
        contact_ids = next_ids(cr, "mailing_contact_id_seq", len(to_create))
        log = (self.env.uid, cr.now(), self.env.uid, cr.now())
        contacts, tags = [], []
        subscriptions = [(contact_id, list_id, "f", None, *log) for contact_id, list_id in to_subscribe]
        for contact_id, parsed in zip(contact_ids, to_create, strict=True):
            email_normalized = email_normalize(parsed.email, strict=False) if parsed.email else None
            contacts.append((contact_id, parsed.name or None, parsed.e164, parsed.e164, parsed.email or None,
                             email_normalized or None, parsed.country_id or None, parsed.company_name or None, 0,
                             *log))
            subscriptions += [(contact_id, list_id, "f", None, *log) for list_id in self.list_ids]
            tags += [(contact_id, tag_id) for tag_id in dict.fromkeys(self._tag_id(name) for name in parsed.tags)]
        self.env["res.partner.category"].flush_model()  # tags created above are referenced by the COPY
        copy_rows(cr, "mailing_contact", ("id", *CONTACT_COLUMNS, *LOG_COLUMNS), contacts)
        copy_rows(cr, "mailing_subscription", (*SUBSCRIPTION_COLUMNS, *LOG_COLUMNS), subscriptions)
        field = self.contact_model._fields["tag_ids"]
        copy_rows(cr, field.relation, (field.column1, field.column2), tags)

    def _create(self, to_create, to_subscribe):
        """The same contacts through the ORM, when another module gives contacts values the SQL insert would miss."""
        if to_create:
            self.contact_model.create([self._contact_values(parsed) for parsed in to_create])
        if to_subscribe:
            # A new context, not a merged one: the default_* keys of the calling action must not leak in.
            self.env["mailing.subscription"].with_context(  # pylint: disable=context-overridden
                clean_context(self.env.context)).create([
                {"contact_id": contact_id, "list_id": list_id} for contact_id, list_id in to_subscribe])
        self.env.flush_all()

    def _contact_values(self, parsed):
        values = {
            "name": parsed.name or False,
            "mobile": parsed.e164,
            "email": parsed.email or False,
            "country_id": parsed.country_id,
            "company_name": parsed.company_name or False,
            "subscription_ids": [Command.create({"list_id": list_id}) for list_id in self.list_ids],
        }
        if parsed.tags:
            values["tag_ids"] = [Command.set([self._tag_id(name) for name in parsed.tags])]
        return values

    def _tag_id(self, name):
        if name not in self.tag_ids:
            tag = self.env["res.partner.category"].search([("name", "=ilike", name)], limit=1)
            self.tag_ids[name] = tag.id or self.env["res.partner.category"].create({"name": name}).id
        return self.tag_ids[name]

    def result_values(self):
        counts = self.counts
        rejected = counts["invalid"] + counts["duplicate"] + counts["blacklisted"] + counts["existing"]
        values = {
            "row_count": counts["rows"],
            "created_count": counts["created"],
            "subscribed_count": counts["subscribed"],
            "existing_count": counts["existing"],
            "duplicate_count": counts["duplicate"],
            "blacklisted_count": counts["blacklisted"],
            "invalid_count": counts["invalid"],
            "rejected_count": rejected,
            "rejected_html": self._rejected_html(rejected),
            "report_attachment_id": False,
        }
        if rejected:
            values["report_attachment_id"] = self.env["ir.attachment"].create({
                "name": _("Rejected rows - %s.csv", (self.wizard.filename or "import").rsplit(".", 1)[0]),
                # UTF-8 with BOM: Excel then opens the accents and Swahili names correctly.
                "raw": self.report.getvalue().encode("utf-8-sig"),
                "mimetype": "text/csv",
                "res_model": self.wizard._name,
                "res_id": self.wizard.id,
            }).id
        return values

    def _rejected_html(self, rejected):
        if not rejected:
            return False
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>") % (row, cells, reason)
            for row, cells, reason in self.rejects_shown
        )
        more = Markup("")
        if rejected > len(self.rejects_shown):
            more = Markup("<p>%s</p>") % _("%(shown)s of %(total)s rejected rows shown; download the report for all.",
                                           shown=len(self.rejects_shown), total=rejected)
        return Markup('<table class="table table-sm o_sms_contact_import_rejects"><thead><tr><th>%s</th><th>%s</th>'
                      "<th>%s</th></tr></thead><tbody>%s</tbody></table>%s") % (
            _("Row"), _("Content"), _("Reason"), rows, more)


def _sql_insert_possible(env):
    """Whether contacts and subscriptions inserted with SQL are exactly what ``create`` would store.

    Checks the access rights ``create`` would check (and raises the same error). Record rules on create, or a
    stored field another module adds with a default, a computation or a constraint, need the ORM: the import
    then creates through it.
    """
    for model_name, columns in (("mailing.contact", CONTACT_COLUMNS), ("mailing.subscription", SUBSCRIPTION_COLUMNS)):
        model = env[model_name]
        model.check_access_rights("create")
        if not env.su and env["ir.rule"]._compute_domain(model_name, "create"):
            return False
        handled = {"id", *columns, *LOG_COLUMNS}
        for field in model._fields.values():
            if field.name in handled:
                dependents = env.registry.get_dependent_fields(field)
                if any(dep.store and (dep.model_name != model_name or dep.name not in handled) for dep in dependents):
                    return False
            elif field.store and field.column_type and (
                    field.compute or field.related or field.required or field.default is not None):
                return False
    return not env["mailing.contact"]._constraint_methods and not env["mailing.subscription"]._constraint_methods
