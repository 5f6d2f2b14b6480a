import logging
from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..tools.bulk_sql import IntArray
from ..tools.outcomes import delivery_error, message_state_of_send
from .sms_sms import SMS_ORIGINS

# The integer columns of _send_result_columns, passed as one array literal each (IntArray)
INT_RESULT_COLUMNS = ("account_id", "company_id", "status_code", "parts")

_logger = logging.getLogger(__name__)

# An unknown outcome is settled by a report of its number received from its send (less a clock skew) to this long
# after it: AT retries a message for up to about two days.
REPORT_CLOCK_SKEW = timedelta(minutes=1)
REPORT_WINDOW = timedelta(hours=72)
FINAL_STATES = ("delivered", "failed")
# Percent of each page of the message log that inserts fill: the rest is for the new versions of its rows written
# by delivery reports (init()).
MESSAGE_TABLE_FILLFACTOR = 50


class LogReference(fields.Many2one):
    """A many-to-one of the message log without a foreign key in the database.

    The log gets a row per recipient (100,000 per mailing), and PostgreSQL checks a foreign key row by row: four of
    them were a third of the insert, on the write-back that every dispatch batch waits for. The records these
    columns point to (company, AT account, ledger line) are never deleted in practice (companies and accounts by an
    administrator only, ledger lines by nobody: sms.spend has no unlink right), their ids are never reused, and the
    values written come from rows that hold them under a foreign key (the SMS, its account): so the check finds
    nothing. What the foreign key did on a deletion (ON DELETE SET NULL) the deleting model's ``unlink`` does
    (``africastalking.message._forget_deleted``). The partner and the mailing keep theirs: people delete (and merge)
    them every day.
    """

    def update_db_foreign_key(self, model, column):
        return  # none, on purpose (see above); init() drops the one an earlier version created


# The columns written with LogReference, and the constraints earlier versions created on them (dropped by init())
FOREIGN_KEYS_DROPPED = {
    "account_id": "africastalking_message_account_id_fkey",
    "company_id": "africastalking_message_company_id_fkey",
    "spend_id": "africastalking_message_spend_id_fkey",
}


def _strongest_report_per_message(reports):
    """One report per message id: the first final one if any, else the last intermediate one."""
    chosen = {}
    for report in reports:
        current = chosen.get(report.message_id)
        if current is None or (report.is_final and not current.is_final) or not (report.is_final or
                                                                                   current.is_final):
            chosen[report.message_id] = report
    return list(chosen.values())


class AfricasTalkingMessage(models.Model):
    """One message to one number as Africa's Talking knows it.

    It outlives ``sms.sms`` (which autovacuum deletes once sent), holds what AT said at send time (id, cost,
    parts) and in delivery reports, and keeps reports that arrive before their send is committed: such a row has
    no ``sms_uuid`` until the send's results are written.
    """

    _name = "africastalking.message"
    _description = "Africa's Talking Message"
    _order = "id desc"
    _rec_name = "number"

    # Rows are written in bulk by the SMS queue cron, always as its user: who wrote a row tells nothing, and a link
    # to a user would cost a foreign-key check per row (100,000 per mailing). Only the dates are kept.
    _log_access = False
    create_date = fields.Datetime("Created on", readonly=True, default=fields.Datetime.now)
    write_date = fields.Datetime("Last Updated on", readonly=True, default=fields.Datetime.now)

    # Few indexes on purpose: a mailing inserts one row per recipient. Lookups are by AT id, contact, mailing, and
    # (for unknown outcomes only) by account and number: see init().
    account_id = LogReference("africastalking.account", ondelete="set null", readonly=True)
    company_id = LogReference("res.company", readonly=True)
    sms_uuid = fields.Char("SMS UUID", readonly=True)
    number = fields.Char(readonly=True)
    body = fields.Text(readonly=True)
    partner_id = fields.Many2one("res.partner", index="btree_not_null", ondelete="set null", readonly=True)
    mailing_id = fields.Many2one("mailing.mailing", index="btree_not_null", ondelete="set null", readonly=True)
    state = fields.Selection(
        [
            ("pending", "Sent"),
            ("delivered", "Delivered"),
            ("failed", "Failed"),
            ("rejected", "Not Sent"),
            ("unknown", "Unknown Outcome"),
        ],
        required=True,
        default="pending",
        readonly=True,
    )
    at_message_id = fields.Char("AT Message ID", readonly=True)
    status_code = fields.Integer("AT Status Code", readonly=True)
    at_status = fields.Char("AT Status", readonly=True)
    failure_reason = fields.Char(readonly=True)
    cost = fields.Float(digits=(16, 4), readonly=True)
    currency = fields.Char(readonly=True)
    parts = fields.Integer(readonly=True)
    network_code = fields.Char(readonly=True)
    report_date = fields.Datetime("Last Report", readonly=True)
    origin = fields.Selection(SMS_ORIGINS, readonly=True, index=True)
    # The cost in the list and the analysis with its currency (AT gives a code per message).
    currency_id = fields.Many2one("res.currency", "Cost Currency", compute="_compute_currency_id")

    @api.depends("currency")
    def _compute_currency_id(self):
        codes = {code for code in self.mapped("currency") if code}
        currencies = {currency.name: currency for currency in self.env["res.currency"].with_context(
            active_test=False).search([("name", "in", list(codes))])} if codes else {}
        for message in self:
            message.currency_id = currencies.get(message.currency) or False
    # When the send began (the SMS's claim): the time window in which a report may settle an unknown outcome.
    send_date = fields.Datetime("Sent On", readonly=True)
    report_ambiguous = fields.Boolean(readonly=True,
                                      help="Several SMS to this number have an unknown outcome: a delivery report "
                                           "cannot be matched to one of them.")

    def init(self):
        # AT message ids are unique; reports are looked up by them, and early reports rely on the constraint.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS africastalking_message_at_message_id_uniq "
            "ON africastalking_message (at_message_id) WHERE at_message_id IS NOT NULL"
        )
        # A delivery report settles an unknown outcome by account and number (_adopt_unknown_outcomes): unknown
        # outcomes have no AT id. The predicate is on at_message_id, never on state, which every report changes:
        # a column in an index's predicate (or key) makes each update of it write a new entry into every index of
        # the table; without one, the report's update stays on its page (a "HOT" update, see the fillfactor).
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS africastalking_message_without_at_id_idx "
            "ON africastalking_message (account_id, number) WHERE at_message_id IS NULL"
        )
        # The former indexes on state = 'unknown' (the one by SMS served no query: the expiry's lookup by SMS does
        # not imply its predicate).
        for index in ("africastalking_message_unknown_idx", "africastalking_message_unknown_sms_idx"):
            self.env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
        for constraint in FOREIGN_KEYS_DROPPED.values():
            self.env.cr.execute(SQL("ALTER TABLE africastalking_message DROP CONSTRAINT IF EXISTS %s",
                                    SQL.identifier(constraint)))
        # Reports update each message once or twice, a batch of them page after page: room on every page for the
        # new version of each of its rows keeps those updates in place. The table is the addon's: it goes with it.
        self.env.cr.execute(SQL("ALTER TABLE africastalking_message SET (fillfactor = %s)",
                                MESSAGE_TABLE_FILLFACTOR))

    # ------------------------------------------------------------------
    # Delivery reports
    # ------------------------------------------------------------------

    @api.model
    def _apply_delivery_reports(self, account, reports):
        """Apply parsed :class:`DeliveryReport` objects of ``account`` in set-based SQL; idempotent, order-proof.
        Returns the reports that no message answers yet: the caller keeps them waiting.

        A final state (delivered / failed) never changes again; an intermediate report only moves an unknown
        outcome to "sent". A report for an id not known yet (AT can report before the sending transaction commits)
        waits in the report queue, never in this table: the dispatcher's insert of its messages must not meet a
        row its snapshot cannot see. It is applied when the send's results are written, or settles an unknown
        outcome of its number (_adopt_unknown_outcomes).
        """
        reports = _strongest_report_per_message(reports)
        if not reports:
            return []
        self.flush_model()
        columns = {
            "ids": [r.message_id for r in reports],
            "states": [r.message_state for r in reports],
            "statuses": [r.status for r in reports],
            "networks": [r.network_code or None for r in reports],
            "reasons": [r.failure_text for r in reports],
        }
        # The messages are found by AT id alone, and whether each is still open is read beside it: with statistics
        # made when every earlier message was final (autovacuum's analysis after a mailing was delivered), a
        # condition on the state in the join makes PostgreSQL believe no message matches and compare each report
        # with each message (half a minute per batch of a 100,000 mailing). In Odoo's REPEATABLE READ transaction,
        # "open" is read from the snapshot the UPDATE writes on (a concurrent change fails to serialize).
        self.env.cr.execute(
            """
            WITH r AS MATERIALIZED (
                SELECT * FROM unnest(%(ids)s::varchar[], %(states)s::varchar[], %(statuses)s::varchar[],
                                     %(networks)s::varchar[], %(reasons)s::varchar[])
                           AS r(id, state, status, network, reason)),
            found AS MATERIALIZED (
                SELECT m.id AS message_id, r.*,
                       (m.account_id = %(account)s OR m.account_id IS NULL)
                       AND m.state NOT IN ('delivered', 'failed') AS open
                  FROM r JOIN africastalking_message m ON m.at_message_id = r.id
                 WHERE m.at_message_id = ANY(%(ids)s))
            UPDATE africastalking_message m
               SET state = COALESCE(r.state, CASE WHEN m.state = 'unknown' THEN 'pending' ELSE m.state END),
                   at_status = r.status, network_code = COALESCE(r.network, m.network_code),
                   failure_reason = COALESCE(r.reason, CASE WHEN m.state = 'unknown' THEN NULL
                                                            ELSE m.failure_reason END),
                   report_date = now() at time zone 'UTC', write_date = now() at time zone 'UTC'
              FROM found r
             WHERE m.id = r.message_id AND r.open
         RETURNING m.at_message_id, m.sms_uuid, m.state, m.at_status, m.network_code, m.failure_reason,
                   m.company_id, m.number, COALESCE(m.send_date, m.create_date)
            """,
            {**columns, "account": account.id},
            log_exceptions=False,  # a concurrent update is retried by the applier, not an error to log
        )
        updated = self.env.cr.fetchall()
        self.invalidate_model()
        self._propagate_states([row[1:6] for row in updated if row[1]])
        applied_ids = {row[0] for row in updated}
        # The UPDATE never touches a final message: each final state it returns was reached now.
        finals = [(company_id, number, state, at_status if reason is None else reason, sent_at)
                  for _id, _uuid, state, at_status, _network, reason, company_id, number, sent_at in updated
                  if state in FINAL_STATES]
        unmatched = self._reports_without_message(account, [r for r in reports if r.message_id not in applied_ids])
        adopted_ids = self._adopt_unknown_outcomes(account, unmatched)
        finals += self._final_outcomes_of(adopted_ids)
        applied_ids |= adopted_ids
        self._reports_made_final(finals)
        # Only a report applied to its own message on its own account may block its number: a late "Failed" for a
        # delivered message, or a report posted on another account's URL, changes nothing.
        self._block_numbers_blacklisted_at_network(
            [r for r in reports if r.is_network_opt_out and r.message_id in applied_ids])
        return [r for r in unmatched if r.message_id not in applied_ids]

    @api.model
    def _reports_made_final(self, outcomes):
        """Hook: ``outcomes`` (company id, number, state, failure reason or AT status, sent at) of the messages that
        delivery reports made final just now (each message once: a repeated or late report is not in them)."""

    def _final_outcomes_of(self, at_message_ids):
        """The outcomes (as _reports_made_final takes them) of the final messages among these AT ids."""
        if not at_message_ids:
            return []
        self.flush_model()
        self.env.cr.execute(
            """SELECT company_id, number, state, COALESCE(failure_reason, at_status), COALESCE(send_date, create_date)
                 FROM africastalking_message WHERE at_message_id = ANY(%s) AND state IN %s""",
            (list(at_message_ids), FINAL_STATES))
        return self.env.cr.fetchall()

    @api.model
    def _block_numbers_blacklisted_at_network(self, reports):
        """UserInBlacklist: the subscriber refused promotional SMS at the operator; stop mailing them."""
        numbers = [report.phone_number for report in reports if report.is_network_opt_out]
        if numbers:
            self.env["phone.blacklist"]._africastalking_block(
                numbers, "network",
                message=_("Africa's Talking reported UserInBlacklist: the subscriber blocks promotional SMS "
                          "at the mobile network."))

    def _reports_without_message(self, account, reports):
        """The reports whose AT id no message has (reports for another account's message are logged, dropped)."""
        if not reports:
            return []
        self.env.cr.execute(
            "SELECT at_message_id, account_id FROM africastalking_message WHERE at_message_id = ANY(%s)",
            ([r.message_id for r in reports],),
        )
        known = dict(self.env.cr.fetchall())
        for report in reports:
            if known.get(report.message_id, account.id) not in (account.id, None):
                _logger.warning("Delivery report for message %s ignored: it belongs to another account",
                                report.message_id)
        return [report for report in reports if report.message_id not in known]

    def _adopt_unknown_outcomes(self, account, reports):
        """Settle unknown outcomes (a send whose answer was lost, a dispatcher killed mid-send) with the reports
        whose AT id no message has. Returns the AT ids applied.

        Only what is certain: the account's one unknown outcome to the report's number whose send began before the
        report arrived and within the report window. No adoption while an SMS to that number is being dispatched
        (the report may be that SMS's, whose answer is not written yet): the report waits. Several candidates:
        none is chosen, they stay unknown with the reason, and the report waits (nothing swaps).
        """
        if not reports:
            return set()
        numbers = sorted({r.phone_number for r in reports})
        # An unknown outcome whose SMS a person queued again (after the 48 hours) is not a candidate: the resend's
        # own answer will name its report.
        self.env.cr.execute(
            """SELECT m.id, m.number, COALESCE(m.send_date, m.create_date), s.state IN ('outgoing', 'process')
                 FROM africastalking_message m
                 LEFT JOIN LATERAL (SELECT state FROM sms_sms WHERE uuid = m.sms_uuid LIMIT 1) s ON true
                WHERE m.account_id = %s AND m.state = 'unknown' AND m.at_message_id IS NULL AND m.number = ANY(%s)
                ORDER BY m.id""", (account.id, numbers))
        candidates, busy = defaultdict(list), set()
        for message_id, number, send_date, resending in self.env.cr.fetchall():
            if resending:
                busy.add(number)
            candidates[number].append((message_id, send_date))
        if not candidates:
            return set()  # the usual case: no unknown outcome to these numbers
        # sms_sms has no index by number: asked only for the numbers that have a candidate
        self.env.cr.execute("SELECT DISTINCT number FROM sms_sms WHERE state = 'process' AND number = ANY(%s)",
                            (sorted(candidates),))
        busy.update(row[0] for row in self.env.cr.fetchall())
        adopted, ambiguous, now = {}, set(), fields.Datetime.now()
        for report in reports:
            if report.phone_number in busy:
                continue
            received = report.received_at or now
            window = [message_id for message_id, send_date in candidates[report.phone_number]
                      if send_date - REPORT_CLOCK_SKEW <= received <= send_date + REPORT_WINDOW
                      and message_id not in adopted]
            if len(window) == 1:
                adopted[window[0]] = report
            elif window:
                ambiguous.update(window)
        if ambiguous:
            self.browse(sorted(ambiguous)).write({
                "report_ambiguous": True,
                "failure_reason": _("Several SMS to this number have an unknown outcome: a delivery report cannot "
                                    "tell which one it is about, so none is settled automatically."),
            })
        if not adopted:
            return set()
        messages = self.browse(list(adopted))
        for message in messages:
            report = adopted[message.id]
            message.write({"at_message_id": report.message_id, **self._report_values(report),
                           **({} if report.is_failed else {"failure_reason": False})})
        messages._estimate_missing_cost()
        messages._propagate_to_trackers()
        self._copy_send_facts_to_traces(self._facts_columns(messages))
        return {report.message_id for report in adopted.values()}

    def _estimate_missing_cost(self):
        """A message whose send answer was lost has no cost or parts from AT: count its parts and price them at
        the rate table, as the estimate does (AT's reports carry neither)."""
        for message in self.filtered(lambda m: not m.parts and m.body):
            pricing = self.env["africastalking.rate"]._price_texts([(message.number, message.body)],
                                                                  company=message.company_id or None)
            values = {"parts": pricing.segments}
            if len(pricing.cost_by_currency) == 1:
                currency, cost = next(iter(pricing.cost_by_currency.items()))
                values.update(cost=cost, currency=currency)
            message.write(values)

    @staticmethod
    def _facts_columns(messages):
        return {
            "sms_uuid": [m.sms_uuid for m in messages if m.sms_uuid],
            "at_message_id": [m.at_message_id for m in messages if m.sms_uuid],
            "at_status": [m.at_status or None for m in messages if m.sms_uuid],
            "cost": [m.cost for m in messages if m.sms_uuid],
            "currency": [m.currency or None for m in messages if m.sms_uuid],
            "parts": [m.parts or None for m in messages if m.sms_uuid],
        }

    @staticmethod
    def _report_values(report):
        values = {
            "at_status": report.status,
            "network_code": report.network_code or False,
            "report_date": fields.Datetime.now(),
            "state": report.message_state or "pending",
        }
        if report.is_failed:
            values["failure_reason"] = report.failure_text
        return values

    def _propagate_to_trackers(self):
        """Copy these messages' states to their SMS's notification and mailing trace, in one statement.

        Same rules as ``sms.tracker._action_update_from_sms_state`` / ``_action_update_from_provider_error``: a
        delivered report gives 'sent', a failed one a bounce (invalid destination, not allowed, rejected) or an
        error with Odoo's delivery failure type; nothing moves back from 'sent' nor repeats a bounce or error.
        """
        self._propagate_states([(m.sms_uuid, m.state, m.at_status, m.network_code, m.failure_reason)
                                for m in self if m.sms_uuid])

    @api.model
    def _tracker_statuses(self, state, at_status, failure_reason):
        """(notification status, trace status, failure type, final) for a message's state, as stock's report path
        sets them: a delivered report is the SMS state 'sent', a failed one a provider error (Odoo's delivery error
        of AT's status and reason), an intermediate one the SMS state 'pending'."""
        tracker = self.env["sms.tracker"]
        if state == "failed":
            notification_status, trace_status, failure_type, _reason = \
                tracker._africastalking_statuses_from_provider_error(delivery_error(at_status, failure_reason))
            return notification_status, trace_status, failure_type, True
        sms_state = self.env["sms.sms"].IAP_TO_SMS_STATE_SUCCESS["delivered" if state == "delivered" else "success"]
        notification_status, trace_status = tracker._africastalking_statuses_from_sms_state(sms_state)
        return notification_status, trace_status, None, state == "delivered"

    @api.model
    def _propagate_states(self, states):
        """``states``: (sms uuid, state, AT status, network code, failure reason) of messages; see above."""
        if not states:
            return
        statuses = {}  # a batch has a handful of distinct outcomes
        for _uuid, state, at_status, _network, reason in states:
            if (state, at_status, reason) not in statuses:
                statuses[state, at_status, reason] = self._tracker_statuses(state, at_status, reason)
        rows = []
        for uuid, state, at_status, network, reason in states:
            notification_status, trace_status, failure_type, final = statuses[state, at_status, reason]
            rows.append((uuid, notification_status, trace_status, failure_type, at_status, network or None, final))
        for model in ("sms.tracker", "mail.notification", "mailing.trace", "sms.sms"):
            self.env[model].flush_model()
        tracker = self.env["sms.tracker"]
        # A few thousand index lookups, costed above PostgreSQL's JIT threshold: compiling them would take longer
        # than running them (for the rest of this transaction, which is a batch of the queue or of a dispatch).
        self.env.cr.execute("SET LOCAL jit = off")
        self.env.cr.execute(SQL(
            """
            WITH r AS (
                SELECT * FROM unnest(%(uuids)s::varchar[], %(notif)s::varchar[], %(trace)s::varchar[],
                                     %(failure)s::varchar[], %(status)s::varchar[], %(network)s::varchar[],
                                     %(final)s::bool[])
                       AS r(uuid, notif_status, trace_status, failure_type, at_status, network, final)
            ), trackers AS (
                SELECT t.mail_notification_id, t.mailing_trace_id, r.*
                  FROM r
                  -- One index lookup per SMS: joined as a set, the planner scans every tracker ever written
                  CROSS JOIN LATERAL (SELECT mail_notification_id, mailing_trace_id FROM sms_tracker
                                       WHERE sms_uuid = r.uuid LIMIT 1) t
            ), notifications AS (
                UPDATE mail_notification n
                   SET notification_status = k.notif_status, failure_type = k.failure_type,
                       failure_reason = NULL
                  FROM trackers k
                 WHERE n.id = k.mail_notification_id AND %(notification_moves)s
             RETURNING n.mail_message_id
            ), traces AS (
                UPDATE mailing_trace tr
                   SET trace_status = k.trace_status, failure_type = k.failure_type, failure_reason = NULL,
                       at_status = k.at_status, at_network_code = COALESCE(k.network, tr.at_network_code),
                       sent_datetime = CASE WHEN %(stamps_sent)s
                                            THEN COALESCE(tr.sent_datetime, now() at time zone 'UTC')
                                            ELSE tr.sent_datetime END
                  FROM trackers k
                 WHERE tr.id = k.mailing_trace_id AND %(trace_moves)s
             RETURNING tr.id, tr.mass_mailing_id
            ), done_sms AS (
                -- An unknown outcome a report speaks of was accepted by AT: "Sent", never expired nor resent
                UPDATE sms_sms s
                   SET to_delete = s.to_delete OR x.final,
                       state = CASE WHEN s.state = 'unknown' THEN 'pending' ELSE s.state END,
                       at_failure_reason = CASE WHEN s.state = 'unknown' THEN NULL ELSE s.at_failure_reason END
                  FROM (SELECT s1.id, r.final FROM r CROSS JOIN LATERAL (
                            SELECT id FROM sms_sms WHERE uuid = r.uuid LIMIT 1) s1) x
                 -- (a mailing's SMS is marked to_delete when sent: most final reports leave its row as it is)
                 WHERE s.id = x.id AND ((x.final AND s.to_delete IS NOT TRUE) OR s.state = 'unknown')
            )
            SELECT (SELECT array_agg(DISTINCT mail_message_id) FROM notifications),
                   -- one trace per mailing: enough to tell whether the mailing is done
                   (SELECT array_agg(id) FROM (SELECT DISTINCT ON (mass_mailing_id) id FROM traces
                                                WHERE mass_mailing_id IS NOT NULL) one_per_mailing)
            """,
            **{name: [row[index] for row in rows] for index, name in enumerate(
                ("uuids", "notif", "trace", "failure", "status", "network", "final"))},
            notification_moves=tracker._africastalking_sql_notification_may_move(
                SQL("n.notification_status"), SQL("k.notif_status")),
            trace_moves=tracker._africastalking_sql_trace_may_move(SQL("tr.trace_status"), SQL("k.trace_status")),
            stamps_sent=tracker._africastalking_sql_stamps_sent_datetime(SQL("k.trace_status")),
        ), log_exceptions=False)  # a concurrent update is retried by the caller, not an error to log
        tracker._africastalking_after_sql_update(*self.env.cr.fetchone(), "sent")

    # ------------------------------------------------------------------
    # Send results
    # ------------------------------------------------------------------

    @api.model
    def _record_send_results(self, results):
        """Log one row per send result in one statement, and copy AT's facts to the mailing traces.

        The text, contact, mailing and company come from the SMS row itself (joined by uuid), so the ORM never
        reads thousands of SMS for this. Reports that arrived before these results wait in the report queue (never
        here, so this insert meets no row it cannot see); those this transaction sees are applied at once.
        """
        if not results:
            return self.browse()
        columns = self._send_result_columns(results)
        self.flush_model()
        self.env["sms.sms"].flush_model()
        extra = self._send_result_values()
        self.env.cr.execute(SQL(
            """
            INSERT INTO africastalking_message (
                   account_id, company_id, sms_uuid, number, body, partner_id, mailing_id, state, at_message_id,
                   status_code, at_status, failure_reason, cost, currency, parts, origin, send_date,
                   create_date, write_date %(extra_columns)s)
            SELECT v.account_id, COALESCE(v.company_id, s.company_id), v.sms_uuid, v.number, s.body, s.partner_id,
                   s.mailing_id, v.state, v.at_message_id, v.status_code, v.at_status, v.failure_reason, v.cost,
                   v.currency, v.parts,
                   COALESCE(s.at_origin, CASE WHEN s.mailing_id IS NOT NULL THEN 'mailing' END, 'other'),
                   COALESCE(s.at_claim_date, now() at time zone 'UTC'),
                   now() at time zone 'UTC', now() at time zone 'UTC' %(extra_values)s
              FROM unnest(%(account_id)s::int[], %(company_id)s::int[], %(sms_uuid)s::varchar[],
                          %(number)s::varchar[], %(state)s::varchar[], %(at_message_id)s::varchar[],
                          %(status_code)s::int[], %(at_status)s::varchar[], %(failure_reason)s::varchar[],
                          %(cost)s::numeric[], %(currency)s::varchar[], %(parts)s::int[])
                   AS v(account_id, company_id, sms_uuid, number, state, at_message_id, status_code, at_status,
                        failure_reason, cost, currency, parts)
         LEFT JOIN LATERAL (SELECT * FROM sms_sms WHERE uuid = v.sms_uuid LIMIT 1) s ON true  -- a lookup per SMS
            RETURNING id
            """,
            extra_columns=SQL("").join(SQL(", %s", SQL.identifier(name)) for name in extra),
            extra_values=SQL("").join(SQL(", %s", value) for value in extra.values()),
            **{name: IntArray(values) if name in INT_RESULT_COLUMNS else values
               for name, values in columns.items()},
        ))
        rows = self.env.cr.fetchall()
        self.invalidate_model()
        messages = self.browse([row[0] for row in rows])
        # Accepted sends had their facts written with their status (sms.sms._africastalking_mark_accepted).
        self._copy_send_facts_to_traces({
            name: [value for value, state in zip(values, columns["state"], strict=True) if state != "pending"]
            for name, values in columns.items()})
        self._apply_waiting_reports([value for value in columns["at_message_id"] if value])
        return messages

    @api.model
    def _forget_deleted(self, field_name, ids):
        """Records of a LogReference column deleted: the messages no longer point to them (what ON DELETE SET NULL
        did). Called by the ``unlink`` of the model before it deletes."""
        if not ids:
            return
        self.flush_model([field_name])
        self.env.cr.execute(SQL("UPDATE africastalking_message SET %s = NULL WHERE %s = ANY(%s)",
                                SQL.identifier(field_name), SQL.identifier(field_name), list(ids)))
        self.invalidate_model([field_name])

    @api.model
    def _send_result_values(self):
        """``{column: SQL}``: more columns of the message log written with each send result, computed from the
        SMS's row (alias ``s``, NULL when the SMS is gone): set in the insert, never by a second write of each row."""
        return {}

    @api.model
    def _apply_waiting_reports(self, message_ids):
        """Apply the reports that arrived before these AT ids were written (and that this transaction sees).

        Read only on the report queue: the applier removes them when it takes them again (applying twice changes
        nothing), so the dispatcher never writes a row the applier may hold. Reports committed after this
        transaction began are applied by the applier, woken here.
        """
        queue = self.env["africastalking.delivery.report"]
        for account_id, reports in queue._waiting_reports(message_ids).items():
            account = self.env["africastalking.account"].browse(account_id).exists()
            if account:
                self._apply_delivery_reports(account, reports)
        self.env.cr.execute("SELECT EXISTS(SELECT 1 FROM africastalking_delivery_report WHERE waiting)")
        if self.env.cr.fetchone()[0]:
            queue._trigger_applier()

    @api.model
    def _send_result_columns(self, results):
        names = ("account_id", "company_id", "sms_uuid", "number", "state", "at_message_id", "status_code",
                 "at_status", "failure_reason", "cost", "currency", "parts")
        if not results:
            return {name: [] for name in names}
        # By account record: the results of an account share it (hashing records costs more than the rest)
        account_and_company = {}
        for account in {id(result.account): result.account for result in results}.values():
            account_and_company[id(account)] = ((account.id, account.company_id.id) if account else (None, None))
        states = {state: message_state_of_send(state) for state in {result.state for result in results}}
        rows = [(*account_and_company[id(result.account)], result.key, result.number, states[result.state],
                 result.message_id or None, result.status_code, result.status or None, result.failure_reason or None,
                 result.cost, result.currency, result.parts) for result in results]
        return {name: list(values) for name, values in zip(names, zip(*rows, strict=True), strict=True)}

    @api.model
    def _copy_send_facts_to_traces(self, columns):
        """AT's id, status, cost and parts onto the mailing traces of these SMS, in one statement."""
        if not columns["sms_uuid"]:
            return
        self.env["sms.tracker"].flush_model()
        self.env["mailing.trace"].flush_model()
        self.env.cr.execute(
            """
            UPDATE mailing_trace tr
               SET at_message_id = f.at_message_id, at_status = f.at_status, at_cost = f.cost,
                   at_currency = f.currency, at_parts = f.parts
              FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::numeric[], %s::varchar[], %s::int[])
                   AS f(sms_uuid, at_message_id, at_status, cost, currency, parts)
             CROSS JOIN LATERAL (SELECT mailing_trace_id FROM sms_tracker WHERE sms_uuid = f.sms_uuid LIMIT 1) t
             WHERE tr.id = t.mailing_trace_id
            """,
            (columns["sms_uuid"], columns["at_message_id"], columns["at_status"], columns["cost"],
             columns["currency"], columns["parts"]),
        )
        self.env["mailing.trace"].invalidate_model()
