import logging
import re

from odoo import api, models, tools
from odoo.addons.sms.tools.sms_tools import sms_content_to_rendered_html
from odoo.tools import SQL

from ..tools.archive_bodies import ArchiveBodies
from ..tools.bulk_sql import (
    CopyPipe,
    constraint_modules,
    create_overrides,
    field_redefined_by,
    fields_sql_would_miss,
)

_logger = logging.getLogger(__name__)

ADDON = "sms_africastalking"
LOG_COLUMNS = ("create_uid", "create_date", "write_uid", "write_date")
# What the preparation writes, per model, in the order of its rows (mailing_mailing.py _africastalking_write_prepared)
PREPARED_COLUMNS = {
    "sms.sms": ("id", "uuid", "number", "body", "partner_id", "mailing_id", "state", "company_id", "to_delete",
                *LOG_COLUMNS),
    "mailing.trace": ("id", "trace_type", "model", "res_id", "mass_mailing_id", "campaign_id", "sms_id_int",
                      "sms_number", "sms_code", "trace_status", "failure_type", *LOG_COLUMNS),
    "sms.tracker": ("id", "sms_uuid", "mailing_trace_id", *LOG_COLUMNS),
}
# A batch's keep-archives notes, when the preparation copies them with the rows (ArchiveNotes.insert_query)
ARCHIVE_NOTES = "mail.message"
SMS_BODY = PREPARED_COLUMNS["sms.sms"].index("body")
TRACE_SMS_ID = PREPARED_COLUMNS["mailing.trace"].index("sms_id_int")
TRACKER_TRACE_ID = PREPARED_COLUMNS["sms.tracker"].index("mailing_trace_id")


class MailingMailing(models.Model):
    """How the bulk preparation writes its SMS, traces and trackers: COPY, unless another module needs the ORM.

    The rows are what stock's ``create`` and the addon's own overrides would store: that holds for the modules this
    addon depends on, which it was written against. A module beyond them that overrides ``create``, checks a Python
    constraint, or adds a stored field with a default, a computation or a requirement on ``sms.sms``,
    ``mailing.trace`` or ``sms.tracker`` would be skipped by COPY: then the rows go through the ORM (same values;
    ``create`` gives its own ids and the references follow), as the contact import does (``_sql_insert_possible``).
    """

    _inherit = "mailing.mailing"

    @api.model
    @tools.ormcache()
    def _africastalking_known_modules(self):
        """This addon and every module it depends on, directly or not (cached until the registry changes)."""
        self.env.cr.execute(
            """
            WITH RECURSIVE known(name) AS (
                SELECT %s::varchar
                 UNION
                SELECT d.name FROM ir_module_module_dependency d
                  JOIN ir_module_module m ON m.id = d.module_id
                  JOIN known k ON k.name = m.name
            )
            SELECT name FROM known
            """, (ADDON,))
        return frozenset(row[0] for row in self.env.cr.fetchall())

    @api.model
    def _africastalking_sql_insert_possible(self, model_name, columns):
        """Whether rows of ``model_name`` written with COPY into ``columns`` are what ``create`` would store."""
        known = self._africastalking_known_modules()
        model = self.env[model_name]

        def unknown(module):
            return module not in known

        obstacles = [
            *("%s.create (%s)" % (model_name, cls._module)
              for cls in create_overrides(model, unknown)),
            *("constraint of %s" % module for module in constraint_modules(model) - known),
            *(str(field) for field in fields_sql_would_miss(
                model, columns, counts=lambda field: field_redefined_by(model, field, unknown))),
        ]
        if obstacles:
            _logger.info("SMS mailing rows of %s written through the ORM: %s", model_name, ", ".join(obstacles))
        return not obstacles

    @api.model
    def _africastalking_bulk_sql_possible(self):
        """Whether the SMS, traces and trackers of a preparation may be written with COPY (see the class)."""
        return all(self._africastalking_sql_insert_possible(model_name, columns)
                   for model_name, columns in PREPARED_COLUMNS.items())

    def _africastalking_insert_prepared(self, rows_by_model, context, use_sql=None):
        """Write the preparation's rows (``{model: rows}``, tuples in PREPARED_COLUMNS order, ids drawn beforehand):
        with one COPY per table when ``use_sql`` (by default: _africastalking_bulk_sql_possible), else through
        ``create``, which assigns its own ids: the rows' references (trace to SMS, tracker to trace) and the SMS
        ids in the texts' tracked links follow. Returns the SMS texts as sent, in the SMS rows' order."""
        return self._africastalking_insert_prepared_batches([rows_by_model], context, use_sql=use_sql)

    def _africastalking_insert_prepared_batches(self, batches, context, use_sql=None):
        """``_africastalking_insert_prepared`` of each ``{model: rows}`` of ``batches`` (an iterable; rows refer only
        to rows of their own batch). With COPY, the next batch is built while the database writes the previous one
        (CopyPipe): ``batches`` must not query. A batch may also hold, under ARCHIVE_NOTES, the INSERT of its
        keep-archives notes (COPY only). Returns the SMS texts as sent, in order."""
        if use_sql is None:
            use_sql = self._africastalking_bulk_sql_possible()
        bodies = []
        if not use_sql:
            for rows_by_model in batches:
                bodies += self._africastalking_create_prepared(rows_by_model, context)
            return bodies
        with CopyPipe(self.env.cr) as pipe:
            for rows_by_model in batches:
                for model_name in PREPARED_COLUMNS:  # SMS, traces, then the trackers that refer to the traces
                    rows = rows_by_model.get(model_name, ())
                    pipe.put(self.env[model_name]._table, PREPARED_COLUMNS[model_name], rows)
                if rows_by_model.get(ARCHIVE_NOTES):  # the batch's keep-archives notes (ArchiveNotes.insert_query)
                    pipe.put_query(rows_by_model[ARCHIVE_NOTES])
                bodies += [row[SMS_BODY] for row in rows_by_model.get("sms.sms", ())]
        return bodies

    def _africastalking_create_prepared(self, rows_by_model, context):
        sms = self._africastalking_create_rows("sms.sms", rows_by_model.get("sms.sms", []))
        new_sms_id = dict(zip([row[0] for row in rows_by_model.get("sms.sms", [])], sms.ids, strict=True))
        traces = self._africastalking_create_rows("mailing.trace", [
            (*row[:TRACE_SMS_ID], new_sms_id.get(row[TRACE_SMS_ID]), *row[TRACE_SMS_ID + 1:])
            for row in rows_by_model.get("mailing.trace", [])])
        new_trace_id = dict(zip([row[0] for row in rows_by_model.get("mailing.trace", [])], traces.ids, strict=True))
        self._africastalking_create_rows("sms.tracker", [
            (*row[:TRACKER_TRACE_ID], new_trace_id[row[TRACKER_TRACE_ID]], *row[TRACKER_TRACE_ID + 1:])
            for row in rows_by_model.get("sms.tracker", [])])
        if traces:
            context.newest_trace_id = max(traces.ids + [context.newest_trace_id or 0])
        if context.has_short_links:
            # The tracked links carry the SMS id: the one create gave, not the one drawn
            drawn_id = {new: old for old, new in new_sms_id.items()}
            for record in sms:
                record.body = re.sub(r"(/r/[\w-]+/s/)%d\b" % drawn_id[record.id], r"\g<1>%d" % record.id, record.body)
        return sms.mapped("body")

    def _africastalking_create_rows(self, model_name, rows):
        # As stock's mailing preparation creates its SMS: with sudo(), the caller's rights were checked before.
        columns = PREPARED_COLUMNS[model_name]
        return self.env[model_name].sudo().create([
            {column: value for column, value in zip(columns, row, strict=True)
             if column not in LOG_COLUMNS and value is not None}
            for row in rows])

    # Keep archives: the SMS text as a note on each recipient's chatter

    @api.model
    def _africastalking_archive_sql_possible(self):
        """Whether the keep-archives notes may be copied with SQL from one written by the ORM (see
        ``_africastalking_log_archives``): no module beyond the known ones hooks ``mail.message``'s create, checks
        a constraint on it, or adds a stored field that SQL would copy wrongly."""
        known = self._africastalking_known_modules()
        message = self.env["mail.message"]
        columns = [name for name, field in message._fields.items() if field.store and field.column_type
                   and not field_redefined_by(message, field, lambda module: module not in known)]
        return self._africastalking_sql_insert_possible("mail.message", columns)

    def _africastalking_log_archives(self, res_ids, texts, use_sql=None):
        """Log the SMS ``texts`` (``{res_id: text as sent}``) on the recipients ``res_ids`` of the mailing's model, as
        stock's ``_message_log_batch(bodies, message_type="sms")`` does with ``sms_content_to_rendered_html`` of each
        (sms.composer, mass_keep_log).

        The ORM creates each message one by one and sanitizes each body twice: most of a large preparation's time.
        Here the ORM writes the first recipient's message through stock's very call, and one INSERT ... SELECT
        copies that row for the others, changing only the record and the body: the same author, subtype, date,
        message-id, reply-to... as stock's batch gives them all. Each body is what the field's own sanitizer stores
        (the body is plain text escaped by ``sms_content_to_rendered_html``, so it is safe either way, but the
        sanitizer also normalizes the markup, e.g. ``<p>``, ``<br>``), sanitized once per shape of text
        (tools.archive_bodies). When another module hooks ``mail.message``
        (``_africastalking_archive_sql_possible``), all go through the ORM."""
        if not res_ids:
            return
        records = self.env[self.mailing_model_real].browse(res_ids)
        if use_sql is None:
            use_sql = self._africastalking_archive_sql_possible()
        if not use_sql or len(res_ids) == 1:
            records._message_log_batch(bodies={res_id: sms_content_to_rendered_html(texts.get(res_id, ""))
                                               for res_id in res_ids}, message_type="sms")
            return
        notes = self._africastalking_archive_notes(res_ids[0], texts.get(res_ids[0], ""))
        self.env.cr.execute(notes.insert_query([(res_id, notes.stored_body(texts.get(res_id, "")))
                                                for res_id in res_ids[1:]]))
        self._africastalking_archives_logged(res_ids)

    def _africastalking_archive_notes(self, res_id, text):
        """Log ``text`` on the recipient ``res_id`` through stock's ``_message_log_batch`` and return the
        ``ArchiveNotes`` that copy this note for the other recipients with SQL (see _africastalking_log_archives)."""
        record = self.env[self.mailing_model_real].browse(res_id)
        template = record._message_log_batch(bodies={res_id: sms_content_to_rendered_html(text)}, message_type="sms")
        self.env.flush_all()
        return ArchiveNotes(template)

    def _africastalking_archives_logged(self, res_ids):
        # As mail.message's create: the documents' messages are read again (_invalidate_documents)
        self.env[self.mailing_model_real].browse(res_ids).invalidate_recordset(
            ["message_ids", "message_needaction", "message_needaction_counter"])


class ArchiveNotes:
    """The keep-archives notes of a preparation, copied with SQL from the note ``template`` the ORM wrote: each row
    the template's but for its record and its body. Plain Python and SQL: usable while a CopyPipe holds the cursor."""

    def __init__(self, template):
        self.template_id = template.id
        message = template.env["mail.message"]
        body_field = message._fields["body"]
        # What the field stores (its sanitizer), once per shape of text (tools.archive_bodies)
        self.stored_body = ArchiveBodies(sms_content_to_rendered_html,
                                         lambda html: body_field.convert_to_column(html, template))
        self.table = message._table
        self.columns = [name for name, field in message._fields.items()
                        if field.store and field.column_type and name != "id"]

    def insert_query(self, rows):
        """The INSERT ... SELECT of the notes ``rows`` (``(res_id, stored body)``), in their order."""
        copied = SQL(", ").join(
            SQL("r.res_id") if name == "res_id" else SQL("r.body") if name == "body" else SQL.identifier("m", name)
            for name in self.columns)
        return SQL(
            """
            INSERT INTO %s (%s)
                 SELECT %s
                   FROM %s m,
                        unnest(%s::int[], %s::text[]) WITH ORDINALITY AS r(res_id, body, position)
                  WHERE m.id = %s
               ORDER BY r.position
            """,
            SQL.identifier(self.table), SQL(", ").join(SQL.identifier(name) for name in self.columns), copied,
            SQL.identifier(self.table), [res_id for res_id, _body in rows], [body for _res_id, body in rows],
            self.template_id,
        )
