import logging

from odoo import api, fields, models

from ..tools.at_callbacks import FAILED_STATUSES, FAILURE_REASON_TO_DELIVERY_ERROR, STATUS_TO_DELIVERY_ERROR

_logger = logging.getLogger(__name__)

FINAL_STATES = ("delivered", "failed")


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

    account_id = fields.Many2one("africastalking.account", index=True, ondelete="set null", readonly=True)
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    sms_uuid = fields.Char("SMS UUID", index=True, readonly=True)
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
        index=True,
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

    def init(self):
        # AT message ids are unique; reports are looked up by them, and early reports rely on the constraint.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS africastalking_message_at_message_id_uniq "
            "ON africastalking_message (at_message_id) WHERE at_message_id IS NOT NULL"
        )

    # ------------------------------------------------------------------
    # Delivery reports
    # ------------------------------------------------------------------

    @api.model
    def _apply_delivery_reports(self, account, reports):
        """Apply parsed :class:`DeliveryReport` objects of ``account``; idempotent and order-insensitive.

        A final state (delivered / failed) is never changed again; intermediate reports only refresh the AT status
        of a message still pending. Reports for ids not known yet are kept and applied when the send is recorded.
        """
        messages = self.search([("at_message_id", "in", [report.message_id for report in reports])])
        by_id = {message.at_message_id: message for message in messages}
        for report in reports:
            message = by_id.get(report.message_id) or self._adopt_unknown_outcome(account, report)
            if not message:
                by_id[report.message_id] = self._create_early_report(account, report)
            elif message.account_id and message.account_id != account:
                _logger.warning("Delivery report for message %s ignored: it belongs to another account",
                                report.message_id)
            else:
                message._apply_report(report)

    def _adopt_unknown_outcome(self, account, report):
        """Reconcile a message whose send answer was lost: the report names its number and gives its AT id."""
        message = self.search([
            ("account_id", "=", account.id), ("state", "=", "unknown"), ("at_message_id", "=", False),
            ("number", "=", report.phone_number),
        ], order="id", limit=1)
        if message:
            message.at_message_id = report.message_id
        return message

    def _create_early_report(self, account, report):
        return self.create({
            "account_id": account.id,
            "company_id": account.company_id.id,
            "at_message_id": report.message_id,
            "number": report.phone_number,
            **self._report_values(report),
        })

    @staticmethod
    def _report_values(report):
        values = {
            "at_status": report.status,
            "network_code": report.network_code or False,
            "report_date": fields.Datetime.now(),
        }
        if report.is_delivered:
            values["state"] = "delivered"
        elif report.status in FAILED_STATUSES:
            values.update(state="failed", failure_reason=report.failure_reason or report.status)
        return values

    def _apply_report(self, report):
        self.ensure_one()
        if self.state in FINAL_STATES:
            return  # a repeat, or an intermediate report arriving after the final one
        values = self._report_values(report)
        if self.state == "unknown" and "state" not in values:
            values["state"] = "pending"  # AT knows the message: it was sent
        self.write(values)
        if self.sms_uuid:
            self._propagate_to_trackers()

    def _propagate_to_trackers(self):
        """Copy this message's state to Odoo's notification / trace through ``sms.tracker``."""
        trackers = self.env["sms.tracker"].search([("sms_uuid", "in", self.mapped("sms_uuid"))])
        trackers_by_uuid = {tracker.sms_uuid: tracker for tracker in trackers}
        for message in self:
            tracker = trackers_by_uuid.get(message.sms_uuid)
            if not tracker:
                continue
            tracker._africastalking_update(message)
            if message.state == "delivered":
                tracker._action_update_from_sms_state("sent")
            elif message.state == "failed":
                tracker._action_update_from_provider_error(message._delivery_error())
            elif message.state == "pending":
                tracker._action_update_from_sms_state("pending")
        sms = self.env["sms.sms"].search([("uuid", "in", self.filtered(lambda m: m.state in FINAL_STATES)
                                           .mapped("sms_uuid"))])
        sms.to_delete = True

    def _delivery_error(self):
        return (FAILURE_REASON_TO_DELIVERY_ERROR.get(self.failure_reason)
                or STATUS_TO_DELIVERY_ERROR.get(self.at_status) or "not_delivered")

    # ------------------------------------------------------------------
    # Send results
    # ------------------------------------------------------------------

    @api.model
    def _record_send_results(self, results, sms_by_uuid):
        """Log one row per send result in one statement, and copy AT's facts to trackers and traces.

        A row that a delivery report created before these results (same AT id, no SMS yet) is completed instead:
        it keeps its delivery state, which is then applied to the SMS's tracker.
        """
        if not results:
            return self.browse()
        columns = self._send_result_columns(results, sms_by_uuid)
        self.flush_model()
        self.env.cr.execute(
            """
            INSERT INTO africastalking_message (
                   account_id, company_id, sms_uuid, number, body, partner_id, mailing_id, state, at_message_id,
                   status_code, at_status, failure_reason, cost, currency, parts,
                   create_uid, create_date, write_uid, write_date)
            SELECT v.*, %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
              FROM unnest(%(account_id)s::int[], %(company_id)s::int[], %(sms_uuid)s::varchar[],
                          %(number)s::varchar[], %(body)s::text[], %(partner_id)s::int[], %(mailing_id)s::int[],
                          %(state)s::varchar[], %(at_message_id)s::varchar[], %(status_code)s::int[],
                          %(at_status)s::varchar[], %(failure_reason)s::varchar[], %(cost)s::numeric[],
                          %(currency)s::varchar[], %(parts)s::int[]) AS v
            ON CONFLICT (at_message_id) WHERE at_message_id IS NOT NULL DO UPDATE
               SET sms_uuid = EXCLUDED.sms_uuid, body = EXCLUDED.body, partner_id = EXCLUDED.partner_id,
                   mailing_id = EXCLUDED.mailing_id, status_code = EXCLUDED.status_code, cost = EXCLUDED.cost,
                   currency = EXCLUDED.currency, parts = EXCLUDED.parts, company_id = EXCLUDED.company_id,
                   write_date = EXCLUDED.write_date
            RETURNING id, xmax <> 0
            """,
            {**columns, "uid": self.env.uid},
        )
        rows = self.env.cr.fetchall()
        self.invalidate_model()
        messages = self.browse([row[0] for row in rows])
        self._copy_send_facts_to_trackers(columns)
        # Rows completed on conflict carry an earlier delivery report: apply it now that the SMS is known.
        self.browse([row[0] for row in rows if row[1]])._propagate_to_trackers()
        return messages

    @api.model
    def _send_result_columns(self, results, sms_by_uuid):
        states = {"success": "pending", "unknown_outcome": "unknown"}
        columns = {name: [] for name in (
            "account_id", "company_id", "sms_uuid", "number", "body", "partner_id", "mailing_id", "state",
            "at_message_id", "status_code", "at_status", "failure_reason", "cost", "currency", "parts")}
        for result in results:
            sms = sms_by_uuid.get(result.key)
            account = result.account
            values = {
                "account_id": account.id if account else None,
                "company_id": (account.company_id.id if account else None) or (sms.company_id.id if sms else None),
                "sms_uuid": result.key,
                "number": result.number,
                "body": sms.body if sms else None,
                "partner_id": (sms.partner_id.id or None) if sms else None,
                "mailing_id": (sms.mailing_id.id or None) if sms else None,
                "state": states.get(result.state, "rejected"),
                "at_message_id": result.message_id or None,
                "status_code": result.status_code,
                "at_status": result.status or None,
                "failure_reason": result.failure_reason or None,
                "cost": result.cost,
                "currency": result.currency,
                "parts": result.parts,
            }
            for name, value in values.items():
                columns[name].append(value)
        return columns

    @api.model
    def _copy_send_facts_to_trackers(self, columns):
        """AT's id, status, cost and parts onto the trackers and mailing traces of these SMS, in two statements."""
        self.env["sms.tracker"].flush_model()
        self.env["mailing.trace"].flush_model()
        self.env.cr.execute(
            """
            WITH facts AS (
                SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::numeric[], %s::varchar[],
                                     %s::int[]) AS f(sms_uuid, at_message_id, at_status, cost, currency, parts)
            ), trackers AS (
                UPDATE sms_tracker t
                   SET at_message_id = f.at_message_id, at_status = f.at_status, at_cost = f.cost,
                       at_currency = f.currency, at_parts = f.parts
                  FROM facts f
                 WHERE t.sms_uuid = f.sms_uuid AND t.sms_uuid = ANY(%s)  -- lets the planner use the index
             RETURNING t.mailing_trace_id, f.*
            )
            UPDATE mailing_trace tr
               SET at_message_id = trackers.at_message_id, at_status = trackers.at_status,
                   at_cost = trackers.cost, at_currency = trackers.currency, at_parts = trackers.parts
              FROM trackers
             WHERE tr.id = trackers.mailing_trace_id
            """,
            (columns["sms_uuid"], columns["at_message_id"], columns["at_status"], columns["cost"],
             columns["currency"], columns["parts"], columns["sms_uuid"]),
        )
        self.env["sms.tracker"].invalidate_model()
        self.env["mailing.trace"].invalidate_model()
