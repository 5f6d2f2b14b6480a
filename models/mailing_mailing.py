import csv
import io
import logging
import re
import threading
from uuid import uuid4

from werkzeug.urls import url_join

from odoo import fields, models, tools
from odoo.addons.sms.tools.sms_tools import sms_content_to_rendered_html

_logger = logging.getLogger(__name__)

# Recipients prepared (rendered, filtered, written) per transaction: bounds memory and the work lost to a crash.
PREPARE_CHUNK_SIZE = 5000


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    def action_send_sms(self, res_ids=None):
        """Prepare SMS mailings in bulk, then start dispatching at once, not at the next hourly SMS cron.

        Stock goes through the mass composer, which keeps the recipient ids as a Python literal (refused above
        ~16,000 recipients), checks duplicates in O(n²) and creates three ORM records per recipient in one
        transaction. Mailings whose target model has a stored sanitized phone (mailing lists, contacts, partners)
        are prepared here in chunks with the same filtering rules; other models keep the stock path.
        """
        for mailing in self:
            if mailing._africastalking_can_prepare_in_bulk():
                mailing._africastalking_prepare(res_ids)
            else:
                super(MailingMailing, mailing).action_send_sms(res_ids=res_ids)
        self.env["sms.sms"]._africastalking_trigger_queue()
        return True

    def _africastalking_can_prepare_in_bulk(self):
        self.ensure_one()
        target = self.env[self.mailing_model_real]
        return (self.mailing_type == "sms" and isinstance(target, self.pool["mail.thread.phone"])
                and target._fields["phone_sanitized"].store)

    # ------------------------------------------------------------------
    # Bulk preparation
    # ------------------------------------------------------------------

    def _africastalking_prepare(self, res_ids=None):
        self.ensure_one()
        self.env.flush_all()  # recipients are read with SQL
        res_ids = res_ids or self._get_remaining_recipients()
        if not res_ids:
            return
        context = _PrepareContext(self)
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        for chunk in tools.split_every(PREPARE_CHUNK_SIZE, res_ids, list):
            self._africastalking_prepare_chunk(chunk, context)
            if auto_commit:
                self.env["sms.sms"]._africastalking_trigger_queue()
                self.env.cr.commit()  # per chunk: memory stays bounded and a crash resumes where it stopped
        _logger.info("SMS mailing %s prepared: %d recipients", self.id, len(res_ids))
        if not self.env["mailing.trace"].search_count([("mass_mailing_id", "=", self.id),
                                                        ("trace_status", "in", ("outgoing", "process"))], limit=1):
            # Nothing to dispatch (every recipient excluded): no delivery will mark the mailing done.
            self.write({"state": "done", "sent_date": fields.Datetime.now(), "kpi_mail_required": not self.sent_date})

    def _africastalking_prepare_chunk(self, res_ids, context):
        recipients = self._africastalking_read_recipients(res_ids)
        outgoing, traces = [], []
        for res_id, sanitized, raw_number, partner_id, blacklisted in recipients:
            failure_type = context.failure_type(res_id, sanitized, raw_number, blacklisted)
            if failure_type:
                traces.append((res_id, sanitized or raw_number, failure_type))
            else:
                outgoing.append((res_id, sanitized, partner_id))
        bodies = context.render([res_id for res_id, _number, _partner in outgoing])
        self._africastalking_write_prepared(outgoing, traces, bodies, context)

    def _africastalking_read_recipients(self, res_ids):
        """``(id, sanitized, raw number, partner id, blacklisted)`` per record, in ``res_ids`` order, in one query."""
        target = self.env[self.mailing_model_real]
        number_fields = [fname for fname in target._phone_get_number_fields()
                         if target._fields[fname].store and target._fields[fname].type == "char"]
        raw_number = "COALESCE(%s)" % ", ".join("t.%s" % fname for fname in number_fields) if number_fields else "NULL"
        partner = "t.id" if target._name == "res.partner" else "NULL"
        self.env.cr.execute(
            """
            SELECT t.id, t.phone_sanitized, %s, %s, bl.id IS NOT NULL
              FROM %s t
         LEFT JOIN phone_blacklist bl ON bl.number = t.phone_sanitized AND bl.active
             WHERE t.id = ANY(%%s)
            """ % (raw_number, partner, target._table),  # identifiers from the registry, not from input
            (list(res_ids),),
        )
        rows = {row[0]: row for row in self.env.cr.fetchall()}
        return [rows[res_id] for res_id in res_ids if res_id in rows]

    def _africastalking_write_prepared(self, outgoing, cancelled, bodies, context):
        """Insert SMS, traces and trackers with COPY, ids drawn beforehand so bodies can carry their SMS id."""
        cr = self.env.cr
        sms_ids = _next_ids(cr, "sms_sms_id_seq", len(outgoing))
        trace_ids = _next_ids(cr, "mailing_trace_id_seq", len(outgoing) + len(cancelled))
        tracker_ids = _next_ids(cr, "sms_tracker_id_seq", len(outgoing))
        now, uid = fields.Datetime.now(), self.env.uid
        company_id = (self.user_id.company_id or self.env.company).id
        sms_rows, trace_rows, tracker_rows = [], [], []
        for index, (res_id, number, partner_id) in enumerate(outgoing):
            code, sms_uuid = self.env["mailing.trace"]._get_random_code(), uuid4().hex
            body = context.finalize_body(bodies[res_id], sms_ids[index], code)
            sms_rows.append((sms_ids[index], sms_uuid, number, body, partner_id, self.id, "outgoing", company_id,
                             False, uid, now, uid, now))
            trace_rows.append((trace_ids[index], "sms", self.mailing_model_real, res_id, self.id,
                               self.campaign_id.id or None, sms_ids[index], number, code, "outgoing", None,
                               uid, now, uid, now))
            tracker_rows.append((tracker_ids[index], sms_uuid, trace_ids[index], uid, now, uid, now))
        for index, (res_id, number, failure_type) in enumerate(cancelled, start=len(outgoing)):
            trace_rows.append((trace_ids[index], "sms", self.mailing_model_real, res_id, self.id,
                               self.campaign_id.id or None, None, number or None,
                               self.env["mailing.trace"]._get_random_code(), "cancel", failure_type,
                               uid, now, uid, now))
        self.env.flush_all()
        _copy(cr, "sms_sms", ("id", "uuid", "number", "body", "partner_id", "mailing_id", "state", "company_id",
                              "to_delete", "create_uid", "create_date", "write_uid", "write_date"), sms_rows)
        _copy(cr, "mailing_trace", ("id", "trace_type", "model", "res_id", "mass_mailing_id", "campaign_id",
                                    "sms_id_int", "sms_number", "sms_code", "trace_status", "failure_type",
                                    "create_uid", "create_date", "write_uid", "write_date"), trace_rows)
        _copy(cr, "sms_tracker", ("id", "sms_uuid", "mailing_trace_id", "create_uid", "create_date", "write_uid",
                                  "write_date"), tracker_rows)
        for model in ("sms.sms", "mailing.trace", "sms.tracker"):
            self.env[model].invalidate_model()
        self.invalidate_recordset(["mailing_trace_ids"])
        if self.keep_archives:
            # "Keep archives": as stock, the text sent is logged on each recipient's chatter.
            records = self.env[self.mailing_model_real].browse([res_id for res_id, _number, _partner in outgoing])
            bodies = {res_id: sms_content_to_rendered_html(row[3])
                      for (res_id, _number, _partner), row in zip(outgoing, sms_rows, strict=True)}
            records._message_log_batch(bodies=bodies, message_type="sms")


class _PrepareContext:
    """What a mailing's preparation computes once and reuses for every chunk."""

    def __init__(self, mailing):
        self.mailing = mailing
        self.opt_out_ids = set(mailing._get_opt_out_list_sms())
        self.seen_numbers = set(mailing._get_seen_list_sms()[1])
        self.base_url = mailing.get_base_url()
        self.template = self._shortened_template()
        self.is_static = "{{" not in self.template and "{%" not in self.template
        self.has_short_links = (self.base_url + "/r/") in self.template
        composer = mailing.env["sms.composer"].with_context(lang=mailing.env.context.get("lang"))
        self.unsubscribe_format = (composer._get_unsubscribe_info(url_join(self.base_url, "/sms/%s/%s" % (
            mailing.id, "__CODE__"))) if mailing.sms_allow_unsubscribe else None)

    def _shortened_template(self):
        """Shorten the links of the text once, before rendering (stock shortens every rendered body)."""
        mailing = self.mailing
        body = mailing.body_plaintext or ""
        return mailing.env["mail.render.mixin"].sudo()._shorten_links_text(
            body, mailing._get_link_tracker_values())

    def failure_type(self, res_id, sanitized, raw_number, blacklisted):
        """Stock's composer rules, in stock's order; the first record of a number wins, even if excluded.

        Numbers already traced by this mailing count as seen too, so that chunks, and a run resumed after a crash,
        dedupe exactly like one stock batch.
        """
        if not sanitized:
            return "sms_number_format" if raw_number else "sms_number_missing"
        duplicate = sanitized in self.seen_numbers
        self.seen_numbers.add(sanitized)
        if blacklisted:
            return "sms_blacklist"
        if res_id in self.opt_out_ids:
            return "sms_optout"
        return "sms_duplicate" if duplicate else False

    def render(self, res_ids):
        if self.is_static or not res_ids:
            return dict.fromkeys(res_ids, self.template)
        mailing = self.mailing
        template = mailing.sms_template_id
        if template and mailing.body_plaintext == template.body:
            # A template renders in each recipient's language, as stock's composer does.
            rendered = template._render_field("body", res_ids, compute_lang=True)
            return {res_id: mailing.env["mail.render.mixin"].sudo()._shorten_links_text(
                body, mailing._get_link_tracker_values()) for res_id, body in rendered.items()}
        return mailing.env["mail.render.mixin"]._render_template(self.template, mailing.mailing_model_real, res_ids)

    def finalize_body(self, body, sms_id, code):
        body = body or ""
        if self.has_short_links:
            # Stock's sms.sms._update_body_short_links: clicks are traced back to this SMS.
            body = re.sub(r"(%s/r/[\w-]+)(?![\w@:%%.+&~#=/-])" % re.escape(self.base_url), r"\1/s/%d" % sms_id, body)
        if self.unsubscribe_format:
            body = "%s\n%s" % (body, self.unsubscribe_format.replace("__CODE__", code))
        return body


def _next_ids(cr, sequence, count):
    if not count:
        return []
    cr.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (sequence, count))
    return [row[0] for row in cr.fetchall()]


def _copy(cr, table, columns, rows):
    if not rows:
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    buffer.seek(0)
    # Table and column names are constants of this module, never input.
    cr.copy_expert("COPY %s (%s) FROM STDIN WITH (FORMAT csv)" % (table, ", ".join(columns)), buffer)
