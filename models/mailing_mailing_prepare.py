"""Bulk preparation of SMS mailings: recipients read, filtered, rendered and written (sms.sms, mailing.trace,
sms.tracker) in chunks with COPY, instead of stock's mass composer (see action_send_sms in mailing_mailing.py).

Recipients are filtered by RecipientRules (recipient_rules.py), the estimate's own rules; texts are finished by
tools.sms_text.text_as_sent, as the estimate's.
"""
import logging
import re
import time
from collections import Counter
from secrets import token_hex

from werkzeug.urls import url_join

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..tools.bulk_sql import IntArray, next_ids
from ..tools.runtime import cron_time_limit, is_testing
from ..tools.sms_text import text_as_sent
from .mailing_mailing_insert import ARCHIVE_NOTES
from .mailing_trace import unsubscribe_tokens
from .recipient_rules import RecipientRules, estimate_line, trace_failure_type

_logger = logging.getLogger(__name__)

# Recipients prepared (rendered, filtered, written) per transaction: bounds memory and the work lost to a crash.
PREPARE_CHUNK_SIZE = 5000
# The first chunk is smaller: the SMS queue cron, triggered by its commit, starts sending while the next chunks are
# prepared (a fifth of the wait before the first SMS leaves).
PREPARE_FIRST_CHUNK_SIZE = 1000
# Recipient ids fetched per round trip by _get_remaining_recipients
RECIPIENTS_FETCH_SIZE = 20000
# From this many recipients, stale statistics of their table are refreshed before the estimate and the preparation
STATISTICS_MIN_RECIPIENTS = 20000
# Statistics are stale when more rows than this share of the table were written since they were made (autovacuum
# analyzes past 10 %, when it comes to it)
STALE_STATISTICS_SHARE = 0.1
# Recipients per COPY: the next batch is built while the database writes one (tools.bulk_sql.CopyPipe)
COPY_BATCH_SIZE = 1000
# Set by the mass-mailing cron: only there may the preparation commit chunk by chunk.
PREPARE_COMMIT_KEY = "sms_africastalking_prepare_commit"
# Set by the mass-mailing cron: the time.monotonic() after which it prepares no further chunk (preparation_deadline).
PREPARE_DEADLINE_KEY = "sms_africastalking_prepare_deadline"
# Share of Odoo's time limit of a cron job that one run of the mass-mailing cron spends preparing.
PREPARE_TIME_SHARE = 0.5


def preparation_deadline():
    """The ``time.monotonic()`` at which a mass-mailing cron run stops preparing, None when the server sets no limit:
    a 1,000,000-recipient mailing is prepared over several runs, each well within the limit, instead of one run
    the server kills and restarts forever."""
    limit = cron_time_limit()
    return time.monotonic() + limit * PREPARE_TIME_SHARE if limit else None


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    # Set while a preparation that may stop half-way (crash, time limit) has recipients left: the dispatch, finding
    # every prepared SMS sent, does not close the mailing, and the next run of the mass-mailing cron goes on.
    sms_preparation_pending = fields.Boolean("Recipients Left to Prepare", readonly=True, copy=False)

    def _africastalking_can_prepare_in_bulk(self):
        self.ensure_one()
        target = self.env[self.mailing_model_real]
        return (self.mailing_type == "sms" and isinstance(target, self.pool["mail.thread.phone"])
                and target._fields["phone_sanitized"].store)

    # ------------------------------------------------------------------
    # Bulk preparation
    # ------------------------------------------------------------------

    def _africastalking_prepare(self, res_ids=None, rules=None):
        self.ensure_one()
        self.env.flush_all()  # recipients are read with SQL
        res_ids = res_ids or self._get_remaining_recipients()
        if not res_ids:
            return
        if rules is None:
            rules = RecipientRules.for_mailing(self).dedupe_by_position(self._sms_first_positions(res_ids))
        context = _PrepareContext(self, rules)
        # Chunks are committed only in the mass-mailing cron; "Send Now" from a web request prepares in its own
        # transaction, which the request commits or rolls back as a whole.
        auto_commit = self.env.context.get(PREPARE_COMMIT_KEY)  # set by the cron only: see _process_mass_mailing_queue
        deadline = self.env.context.get(PREPARE_DEADLINE_KEY)  # set by the cron only: see _process_mass_mailing_queue
        resumable = self._africastalking_resumable()
        for start, chunk in _chunks(res_ids):
            if self._sms_preparation_cancelled(can_rollback=auto_commit and start > 0):
                if self.sms_preparation_pending:
                    self.sms_preparation_pending = False
                return  # Cancel pressed since the preparation began: later chunks are not prepared
            if start and deadline is not None and time.monotonic() > deadline and resumable:
                self._africastalking_prepare_in_next_run(start, len(res_ids))
                return
            # Written with the first chunk (under the mailing's lock), cleared with the last one
            pending = resumable and start + len(chunk) < len(res_ids)
            if self.sms_preparation_pending != pending:
                self.sms_preparation_pending = pending
            positions = {res_id: start + offset for offset, res_id in enumerate(chunk)}
            chunk = self._africastalking_lock_untraced(chunk, context)
            self._africastalking_prepare_chunk(chunk, context, positions)
            if auto_commit:
                # The queue cron sends this chunk while the next one is prepared (it is notified at the commit)
                self.env["sms.sms"]._africastalking_trigger_queue()
                # Per chunk: memory stays bounded and a crash resumes where it stopped
                self.env.cr.commit()  # pylint: disable=invalid-commit
                _logger.debug("SMS mailing %s: recipients %d to %d committed (thread CPU %.2f s)", self.id, start,
                              start + len(chunk), time.thread_time())
        _logger.info("SMS mailing %s prepared: %d recipients", self.id, len(res_ids))
        if not self.env["mailing.trace"].search_count([("mass_mailing_id", "=", self.id),
                                                        ("trace_status", "in", ("outgoing", "process"))], limit=1):
            # Nothing to dispatch (every recipient excluded): no delivery will mark the mailing done.
            self.write({"state": "done", "sent_date": fields.Datetime.now(), "kpi_mail_required": not self.sent_date})
            self._message_log(body=_("No SMS was sent: every recipient is excluded (%s).",
                                     self._sms_excluded_text(context.excluded)))

    def _get_remaining_recipients(self):
        """Stock's list of recipients (the records of the mailing's domain in the model's order, less those this
        mailing traced), read from a server-side cursor in batches: stock holds the whole result as rows and then
        as records first (~120 MB of peak memory at 1,000,000 recipients) to return a list of ids."""
        if not self._africastalking_resumable():
            return super()._get_remaining_recipients()
        self._africastalking_fresh_trace_statistics()
        cr = self.env.cr
        cr.execute(SQL("DECLARE sms_africastalking_recipients NO SCROLL CURSOR FOR %s",
                       self._africastalking_untraced_query().select()))
        res_ids = []
        while True:
            cr.execute("FETCH FORWARD %s FROM sms_africastalking_recipients", (RECIPIENTS_FETCH_SIZE,))
            rows = cr.fetchall()
            if not rows:
                break
            res_ids.extend(row[0] for row in rows)
        cr.execute("CLOSE sms_africastalking_recipients")
        return res_ids

    def _africastalking_resumable(self):
        """Whether the mailing's remaining recipients are the recipients it has not traced yet, so that its
        preparation may stop and go on in a later run: not for A/B tests (stock draws a new random sample at each
        call) nor guardians (several recipients per record)."""
        return (len(self) == 1 and self._africastalking_can_prepare_in_bulk() and not self.ab_testing_enabled
                and not self._sms_targets_guardians())

    def _africastalking_untraced_query(self):
        """The Query of the mailing's recipients without a trace of it, in the model's order."""
        model = self._sms_recipient_model()
        query = model._search(self._parse_mailing_domain(), order=model._order)
        self.env["mailing.trace"].flush_model(["mass_mailing_id", "model", "res_id"])
        query.add_where(SQL(
            "NOT EXISTS (SELECT 1 FROM mailing_trace tr WHERE tr.mass_mailing_id = %s AND tr.model = %s "
            "AND tr.res_id = %s)", self.id, model._name, SQL.identifier(model._table, "id")))
        return query

    def _sms_recipient_model(self):
        """The model the recipients are searched in (models/mailing_mailing_audience.py adds the sender's rules)."""
        return self.env[self.mailing_model_real]

    def _africastalking_fresh_trace_statistics(self):
        """Analyze mailing_trace when many rows were written since its last analysis and this mailing has traces
        (a preparation going on in a later run, or after a crash): with statistics that predate the mailing's
        traces, PostgreSQL joins every recipient with every trace in a nested loop (minutes at 100,000) instead of
        hashing them."""
        cr = self.env.cr
        cr.execute("SELECT EXISTS(SELECT 1 FROM mailing_trace WHERE mass_mailing_id = %s)", (self.id,))
        if not cr.fetchone()[0]:
            return
        cr.execute("SELECT n_mod_since_analyze, reltuples FROM pg_stat_user_tables s "
                   "JOIN pg_class c ON c.oid = s.relid WHERE s.relid = 'mailing_trace'::regclass")
        row = cr.fetchone()
        if row and row[0] >= STATISTICS_MIN_RECIPIENTS and row[0] > row[1] * STALE_STATISTICS_SHARE:
            _logger.info("SMS mailing %s: analyzing mailing_trace (%d rows written since its statistics)", self.id,
                         row[0])
            cr.execute("ANALYZE mailing_trace")

    def _africastalking_fresh_statistics(self, count):
        """Analyze the recipients' table when PostgreSQL believes it holds fewer rows than the ``count`` recipients
        about to be read: its statistics predate a bulk insert (an import moments ago, before autovacuum analyzed
        it), and every chunk's read by id would scan the whole table instead of its primary key (minutes at
        1,000,000 recipients)."""
        table = self.env[self.mailing_model_real]._table
        self.env.cr.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,))
        row = self.env.cr.fetchone()
        if row and row[0] < count and count >= STATISTICS_MIN_RECIPIENTS:
            _logger.info("SMS mailing %s: analyzing %s (statistics older than its %d recipients)", self.id, table,
                         count)
            self.env.cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))

    def _africastalking_lock_untraced(self, res_ids, context):
        """Lock the mailing, then keep the recipients that still have no trace.

        Two preparations of one mailing (the cron and a "Send Now", or two cron workers) take turns chunk by
        chunk, and the second skips what the first wrote: nobody is prepared, so sent, twice. Traces are only
        looked up when someone else wrote some since our last chunk (the mailing's newest trace is not ours): a
        lookup per chunk among all the mailing's traces would make a large mailing's preparation quadratic.
        """
        self.env.cr.execute("SELECT id FROM mailing_mailing WHERE id = %s FOR NO KEY UPDATE", (self.id,))
        self.env["mailing.trace"].flush_model(["mass_mailing_id", "res_id", "model"])
        # The EXISTS (one probe of the index on mass_mailing_id) spares the mailing's first chunk a walk down the
        # whole primary key: PostgreSQL answers max(id) by reading ids backwards until one is the mailing's, and
        # before its first chunk none is (a second on a database holding 1,000,000 traces).
        self.env.cr.execute("SELECT max(id) FROM mailing_trace WHERE mass_mailing_id = %s "
                            "AND EXISTS(SELECT 1 FROM mailing_trace WHERE mass_mailing_id = %s)", (self.id, self.id))
        newest = self.env.cr.fetchone()[0]
        alone = context.newest_trace_id is not None and newest == context.newest_trace_id
        context.newest_trace_id = newest
        if alone:
            return res_ids
        self.env.cr.execute(
            "SELECT res_id FROM mailing_trace WHERE mass_mailing_id = %s AND model = %s AND res_id = ANY(%s)",
            (self.id, self.mailing_model_real, list(res_ids)))
        traced = {row[0] for row in self.env.cr.fetchall()}
        return [res_id for res_id in res_ids if res_id not in traced] if traced else res_ids

    def _africastalking_prepare_in_next_run(self, prepared, total):
        """Leave the rest of the recipients to the next run of the mass-mailing cron, called at once: the mailing
        stays "sending", and the next run prepares the recipients still without a trace, deduplicated against the
        numbers traced so far (as after a crash)."""
        self.env.ref("mass_mailing.ir_cron_mass_mailing_queue")._trigger()
        _logger.info("SMS mailing %s: %d of %d recipients prepared in this run of the cron (time limit); the next "
                     "run goes on", self.id, prepared, total)

    @api.model
    def _process_mass_mailing_queue(self):
        self._sms_unqueue_empty_mailings()
        # The cron's auto_commit, decided as stock's SMS queue does (true, except under test), and its time budget,
        # for the preparation
        return super(MailingMailing, self.with_context(**{
            PREPARE_COMMIT_KEY: not is_testing(), PREPARE_DEADLINE_KEY: preparation_deadline(),
        }))._process_mass_mailing_queue()

    @api.model
    def _sms_unqueue_empty_mailings(self):
        """Due SMS mailings that never had anyone to send to go back to draft with a note: stock would mark them
        sent with 0 messages, silently (a scheduled mailing whose lists were emptied, a filter matching nobody)."""
        due = self.search([("mailing_type", "=", "sms"), ("state", "in", ("in_queue", "sending")),
                           "|", ("schedule_date", "<", fields.Datetime.now()), ("schedule_date", "=", False)])
        for mailing in due:
            if self.env["mailing.trace"].search_count([("mass_mailing_id", "=", mailing.id)], limit=1):
                continue
            if mailing._sms_targets_guardians():
                empty = not mailing._get_recipients()
            else:
                empty = not self.env[mailing.mailing_model_real].search_count(mailing._parse_mailing_domain(),
                                                                              limit=1)
            if empty:
                mailing.write({"state": "draft"})
                mailing._message_log(body=_("Not sent: the audience was empty when the mailing was due (no "
                                            "recipient in its lists or filter). Add recipients and send again."))
                _logger.info("SMS mailing %s had no recipient when due: back to draft", mailing.id)

    def _sms_first_positions(self, res_ids):
        """``{number: position in res_ids of its first recipient}`` for the sanitized numbers that several of
        ``res_ids`` share (RecipientRules.dedupe_by_position): one query, a dict the size of the duplicates."""
        target = self.env[self.mailing_model_real]
        if not res_ids or "phone_sanitized" not in target._fields or not target._fields["phone_sanitized"].store:
            return {}
        target.flush_model(["phone_sanitized"])
        ids = IntArray(res_ids[:])  # a copy without iterating a caller's sequence
        # The join alone reads the whole table by its primary key in a merge join once the table holds many more
        # rows than the mailing (a year of lists: a million contacts, half a second); the same ids as an index
        # condition make PostgreSQL look up only the recipients.
        self.env.cr.execute(SQL(
            """
            SELECT t.phone_sanitized, min(r.position) - 1
              FROM unnest(%s) WITH ORDINALITY AS r(id, position)
              JOIN %s t ON t.id = r.id
             WHERE t.id = ANY(%s) AND t.phone_sanitized IS NOT NULL AND t.phone_sanitized != ''
          GROUP BY t.phone_sanitized
            HAVING count(*) > 1
            """, ids, SQL.identifier(target._table), ids))
        return dict(self.env.cr.fetchall())

    def _africastalking_prepare_chunk(self, res_ids, context, positions=None):
        """Prepare ``res_ids``; ``positions``: their ranks among the mailing's recipients (rules deduping by
        position)."""
        recipients = self._africastalking_read_recipients(res_ids)
        context.rules.load(row[1] for row in recipients)
        outgoing, traces = [], []
        positions = positions or {}
        for res_id, sanitized, raw_number, partner_id, blacklisted in recipients:
            reason = context.rules.exclusion(res_id, sanitized, raw_number, blacklisted, positions.get(res_id))
            if reason:
                traces.append((res_id, sanitized or raw_number, trace_failure_type(reason)))
                context.excluded[estimate_line(reason)] += 1
            else:
                outgoing.append((res_id, sanitized, partner_id))
        bodies = context.render([res_id for res_id, _number, _partner in outgoing])
        self._africastalking_write_prepared(outgoing, traces, bodies, context)

    def _africastalking_read_recipients(self, res_ids):
        """``(id, sanitized, raw number, partner id, blacklisted)`` per record, in ``res_ids`` order, in one query."""
        target = self.env[self.mailing_model_real]
        number_fields = [fname for fname in target._phone_get_number_fields()
                         if target._fields[fname].store and target._fields[fname].type == "char"]
        raw_number = (SQL("COALESCE(%s)", SQL(", ").join(SQL.identifier("t", fname) for fname in number_fields))
                      if number_fields else SQL("NULL"))
        partner = SQL("t.id") if target._name == "res.partner" else SQL("NULL")
        self.env.cr.execute(SQL(
            """
            SELECT t.id, t.phone_sanitized, %s, %s, bl.id IS NOT NULL
              FROM %s t
         LEFT JOIN phone_blacklist bl ON bl.number = t.phone_sanitized AND bl.active
             WHERE t.id = ANY(%s)
            """,
            raw_number, partner, SQL.identifier(target._table), list(res_ids),
        ))
        rows = {row[0]: row for row in self.env.cr.fetchall()}
        return [rows[res_id] for res_id in res_ids if res_id in rows]

    def _africastalking_write_prepared(self, outgoing, cancelled, bodies, context):
        """Insert SMS, traces and trackers with COPY, ids drawn beforehand so bodies can carry their SMS id."""
        cr = self.env.cr
        sms_ids = next_ids(cr, "sms_sms_id_seq", len(outgoing))
        trace_ids = next_ids(cr, "mailing_trace_id_seq", len(outgoing) + len(cancelled))
        tracker_ids = next_ids(cr, "sms_tracker_id_seq", len(outgoing))
        token_key = self.env["mailing.trace"]._sms_token_key()
        if trace_ids:
            context.newest_trace_id = max(trace_ids)  # drawn under the mailing's lock: newer than any other
        now, uid = fields.Datetime.now(), self.env.uid
        company_id = (self.user_id.company_id or self.env.company).id
        # Read once: per recipient, every ORM field access costs more than the row it helps write.
        mailing_id, model, campaign_id = self.id, self.mailing_model_real, self.campaign_id.id or None

        use_sql = self._africastalking_bulk_sql_possible()
        first_codes = unsubscribe_tokens(token_key, min(COPY_BATCH_SIZE, len(outgoing)))
        # "Keep archives": as stock, the text sent is logged on each recipient's chatter. With COPY, the notes are
        # copied from the first recipient's (written by the ORM now) batch by batch with the rows: their bodies are
        # made while the database writes the previous batch.
        notes = None
        if self.keep_archives and outgoing and use_sql and self._africastalking_archive_sql_possible():
            first_id = outgoing[0][0]
            notes = self._africastalking_archive_notes(
                first_id, context.finalize_body(bodies[first_id], sms_ids[0], first_codes[0]))

        def batches():
            """The rows, batch by batch: plain Python (no query), built while the previous batch is written."""
            for start in range(0, len(outgoing), COPY_BATCH_SIZE):
                sms_rows, trace_rows, tracker_rows, note_rows = [], [], [], []
                batch = outgoing[start:start + COPY_BATCH_SIZE]
                codes = unsubscribe_tokens(token_key, len(batch)) if start else first_codes
                for index, (res_id, number, partner_id) in enumerate(batch, start=start):
                    sms_id, trace_id, code, sms_uuid = sms_ids[index], trace_ids[index], codes[index - start], \
                        token_hex(16)
                    body = context.finalize_body(bodies[res_id], sms_id, code)
                    sms_rows.append((sms_id, sms_uuid, number, body, partner_id, mailing_id, "outgoing", company_id,
                                     False, uid, now, uid, now))
                    trace_rows.append((trace_id, "sms", model, res_id, mailing_id, campaign_id, sms_id, number, code,
                                       "outgoing", None, uid, now, uid, now))
                    tracker_rows.append((tracker_ids[index], sms_uuid, trace_id, uid, now, uid, now))
                    if notes and index:  # the first recipient's note is the template
                        note_rows.append((res_id, notes.stored_body(body)))
                yield {"sms.sms": sms_rows, "mailing.trace": trace_rows, "sms.tracker": tracker_rows,
                       ARCHIVE_NOTES: notes.insert_query(note_rows) if note_rows else None}
            if cancelled:
                codes = unsubscribe_tokens(token_key, len(cancelled))
                yield {"mailing.trace": [
                    (trace_ids[index], "sms", model, res_id, mailing_id, campaign_id, None, number or None,
                     codes[index - len(outgoing)], "cancel", failure_type, uid, now, uid, now)
                    for index, (res_id, number, failure_type) in enumerate(cancelled, start=len(outgoing))]}

        self.env.flush_all()
        # COPY, or the ORM when another module needs it (mailing_mailing_insert.py); rows in PREPARED_COLUMNS order
        sent_bodies = self._africastalking_insert_prepared_batches(batches(), context, use_sql=use_sql)
        for model_name in ("sms.sms", "mailing.trace", "sms.tracker"):
            self.env[model_name].invalidate_model()
        self.invalidate_recordset(["mailing_trace_ids"])
        res_ids = [res_id for res_id, _number, _partner in outgoing]
        if notes:
            self._africastalking_archives_logged(res_ids)
        elif self.keep_archives:
            self._africastalking_log_archives(res_ids, dict(zip(res_ids, sent_bodies, strict=True)))


def _chunks(res_ids):
    """``(position of its first recipient, recipients)`` per chunk of ``res_ids``, read as they are prepared:
    PREPARE_FIRST_CHUNK_SIZE first (at most PREPARE_CHUNK_SIZE), then PREPARE_CHUNK_SIZE."""
    start, chunk, size = 0, [], min(PREPARE_FIRST_CHUNK_SIZE, PREPARE_CHUNK_SIZE)
    for res_id in res_ids:
        chunk.append(res_id)
        if len(chunk) == size:
            yield start, chunk
            start, chunk, size = start + size, [], PREPARE_CHUNK_SIZE
    if chunk:
        yield start, chunk


class _PrepareContext:
    """What a mailing's preparation computes once and reuses for every chunk."""

    def __init__(self, mailing, rules=None):
        self.mailing = mailing
        self.rules = rules or RecipientRules.for_mailing(mailing)
        # The newest trace of the mailing when we last held its lock, or the one we wrote (None: not looked yet)
        self.newest_trace_id = None
        self.excluded = Counter()  # {estimate reason: count}, for the note when nobody is left to send to
        self.smart_encoding = mailing.env.company.sms_smart_encoding
        self.base_url = mailing.get_base_url()
        self.template = self._shortened_template()
        self.is_static = "{{" not in self.template and "{%" not in self.template
        self.has_short_links = (self.base_url + "/r/") in self.template
        self.short_link_pattern = re.compile(r"(%s/r/[\w-]+)(?![\w@:%%.+&~#=/-])" % re.escape(self.base_url))
        composer = mailing.env["sms.composer"].with_context(lang=mailing.env.context.get("lang"))
        self.unsubscribe_format = (composer._get_unsubscribe_info(url_join(self.base_url, "/sms/%s/%s" % (
            mailing.id, "__CODE__"))) if mailing.sms_allow_unsubscribe else None)

    def _shortened_template(self):
        """Shorten the links of the text once, before rendering (stock shortens every rendered body)."""
        mailing = self.mailing
        body = mailing.body_plaintext or ""
        return mailing.env["mail.render.mixin"].sudo()._shorten_links_text(
            body, mailing._get_link_tracker_values())

    def render(self, res_ids):
        if self.is_static or not res_ids:
            return dict.fromkeys(res_ids, self.template)
        mailing = self.mailing._sms_render_as_author()
        template = mailing.sms_template_id
        if template and mailing.body_plaintext == template.body:
            # A template renders in each recipient's language, as stock's composer does.
            rendered = template._render_field("body", res_ids, compute_lang=True)
            return {res_id: mailing.env["mail.render.mixin"].sudo()._shorten_links_text(
                body, mailing._get_link_tracker_values()) for res_id, body in rendered.items()}
        return mailing._africastalking_render(self.template, mailing.mailing_model_real, res_ids)

    def finalize_body(self, body, sms_id, code):
        def complete_links(text):
            # Stock's sms.sms._update_body_short_links: clicks are traced back to this SMS. The pattern is compiled
            # once and the suffix given as a function: a replacement string is parsed anew for each SMS id.
            suffix = "/s/%d" % sms_id
            return self.short_link_pattern.sub(lambda match: match.group(1) + suffix, text)

        unsubscribe = self.unsubscribe_format.replace("__CODE__", code) if self.unsubscribe_format else ""
        return text_as_sent(body, self.smart_encoding, complete_links if self.has_short_links else None,
                             unsubscribe)
