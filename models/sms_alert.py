import logging
from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup, escape
from psycopg2.extras import execute_values

from odoo import _, api, fields, models

from .recipient_rules import RecipientRules

_logger = logging.getLogger(__name__)

# Rows claimed per transaction by one worker; the rest wait for the next run (the cron re-triggers itself).
SEND_BATCH = 5000


class SmsAlert(models.Model):
    """One scheduled SMS to one recipient: an alert of a rule about one record, or an SMS scheduled by the API.

    A due alert is claimed (``FOR UPDATE SKIP LOCKED``) and marked sent in the same transaction that queues its
    ``sms.sms``; the SMS queue then dispatches it exactly once. ``(rule_id, res_id, recipient_key)`` is unique, so
    a record's recipient is alerted once per rule whatever the number of cron runs.
    """

    _name = "sms.alert"
    _description = "Scheduled SMS Alert"
    _order = "scheduled_at desc, id desc"
    _rec_name = "number"

    rule_id = fields.Many2one("sms.alert.rule", index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, default=lambda self: self.env.company)
    res_model = fields.Char("Document Model", readonly=True)
    res_id = fields.Many2oneReference("Document", model_field="res_model", readonly=True)
    res_name = fields.Char("Document Name", compute="_compute_res_name")
    scheduled_at = fields.Datetime(required=True, index=True, readonly=True)
    recipient_key = fields.Char(required=True, readonly=True)
    partner_id = fields.Many2one("res.partner", string="Contact", index="btree_not_null", ondelete="set null",
                                 readonly=True)
    mailing_contact_id = fields.Many2one("mailing.contact", ondelete="set null",
                                         readonly=True)
    number = fields.Char(readonly=True)
    body = fields.Text(readonly=True, help="The text sent (for API alerts: the text to send).")
    state = fields.Selection(
        [("pending", "Pending"), ("sent", "Sent"), ("cancelled", "Cancelled"), ("failed", "Not Sent")],
        required=True, default="pending", index=True, readonly=True,
    )
    failure_reason = fields.Char(readonly=True)
    cancelled_by_user = fields.Boolean(readonly=True, help="Cancelled by hand: the rule never revives it.")
    sent_at = fields.Datetime(readonly=True)
    sms_uuid = fields.Char("SMS UUID", index="btree_not_null", readonly=True, copy=False)
    delivery_state = fields.Selection(
        lambda self: self.env["africastalking.message"]._fields["state"].selection,
        string="Delivery", compute="_compute_delivery_state",
    )

    _sql_constraints = [
        ("rule_record_recipient_uniq", "UNIQUE(rule_id, res_id, recipient_key)",
         "A record's recipient is alerted once per rule."),
    ]

    def init(self):
        # The cron's claim: pending rows by due time.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_alert_pending_due_idx ON sms_alert (scheduled_at) WHERE state = 'pending'"
        )

    def _compute_res_name(self):
        for alert in self:
            record = self.env[alert.res_model].browse(alert.res_id) if alert.res_model in self.env else None
            alert.res_name = record.sudo().exists().display_name if record else False

    def _compute_delivery_state(self):
        messages = self.env["africastalking.message"].sudo().search(
            [("sms_uuid", "in", [uuid for uuid in self.mapped("sms_uuid") if uuid])])
        state_by_uuid = {message.sms_uuid: message.state for message in messages}
        for alert in self:
            alert.delivery_state = state_by_uuid.get(alert.sms_uuid, False)

    def _refresh_values(self, values):
        """What to write to follow the record (new time, number), as a hashable tuple of items.

        A cancelled alert whose record matches again is pending again, unless it was cancelled by hand.
        """
        self.ensure_one()
        current = {"scheduled_at": self.scheduled_at, "number": self.number, "partner_id": self.partner_id.id,
                   "mailing_contact_id": self.mailing_contact_id.id}
        update = {key: values[key] for key, value in current.items() if value != values[key]}
        if self.state == "cancelled" and not self.cancelled_by_user:
            update.update(state="pending", failure_reason=False)
        return tuple(sorted(update.items()))

    def action_cancel(self):
        """Marketing users read alerts only: the state changes through this action, checked, then as superuser."""
        self.env["sms.alert.rule"]._check_alert_operator()
        self.check_access_rights("read")
        self.check_access_rule("read")
        self.filtered(lambda alert: alert.state == "pending").sudo().write(
            {"state": "cancelled", "cancelled_by_user": True,
             "failure_reason": _("Cancelled by %s.", self.env.user.name)})

    def action_open_document(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id,
                "views": [(False, "form")]}

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------

    @api.model
    def _claim_due(self, now, rule_ids=(), unruled=False, ids=None, limit=SEND_BATCH):
        """Lock the due pending alerts no other worker holds. The lock lasts until this transaction ends.

        Alerts are chosen by rule (``rule_ids``, ``unruled`` for the API's), or by id whatever their rule.
        """
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT id FROM sms_alert
             WHERE state = 'pending' AND scheduled_at <= %(now)s
               AND (%(any_rule)s OR rule_id = ANY(%(rule_ids)s::int[]) OR (%(unruled)s AND rule_id IS NULL))
               AND (%(any_id)s OR id = ANY(%(ids)s::int[]))
             ORDER BY scheduled_at, id
             LIMIT %(limit)s
               FOR UPDATE SKIP LOCKED
            """,
            {"now": now, "rule_ids": list(rule_ids), "unruled": unruled, "any_rule": ids is not None,
             "any_id": ids is None,
             "ids": list(ids or []), "limit": limit},
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _send_due(self, now=None, rule_ids=(), unruled=False, ids=None):
        """Queue the SMS of the due alerts and mark them sent, in this transaction. Returns the alerts sent."""
        now = now or fields.Datetime.now()
        claimed = self._claim_due(now, rule_ids=rule_ids, unruled=unruled, ids=ids).sudo()
        sent = self.browse()
        for rule, alerts in claimed.grouped("rule_id").items():
            if rule:
                alerts, bodies = rule.sudo()._check_alerts_at_send_time(alerts, now)
            else:
                bodies = {alert.id: alert.body for alert in alerts}
            sent |= alerts._queue_sms(bodies)
        return sent

    @api.model
    def _send_due_unruled(self, now=None):
        return self._send_due(now=now, unruled=True)

    def _queue_sms(self, bodies):
        """Create the ``sms.sms`` of ``self`` (bodies by alert id), mark them sent, log on the records' chatter."""
        excluded = self._get_excluded_numbers({alert.number for alert in self if alert.number})
        sms_values, sent_ids = [], []
        for alert in self:
            body = bodies.get(alert.id)
            if not alert.number:
                alert.write({"state": "failed", "failure_reason": _("No mobile number.")})
            elif alert.number in excluded:
                alert.write({"state": "failed", "failure_reason": excluded[alert.number]})
            elif not body:
                alert.write({"state": "failed", "failure_reason": _("The template gave an empty text.")})
            else:
                sms_values.append({"body": body, "number": alert.number, "partner_id": alert.partner_id.id,
                                   "company_id": alert.company_id.id, "state": "outgoing",
                                   "at_origin": "alert" if alert.rule_id else "api"})
                sent_ids.append(alert.id)
        sent = self.browse(sent_ids)
        sms = self.env["sms.sms"].sudo().create(sms_values)
        sent._mark_sent(sms)
        if sms:
            sent._log_on_documents()
            sms._africastalking_trigger_queue()
        return sent

    def _mark_sent(self, sms):
        """Write each alert's SMS (same order as ``self``) in one statement: per-row writes dominate big sends."""
        if not self:
            return
        self.flush_recordset()
        now, uid = fields.Datetime.now(), self.env.uid
        execute_values(
            self.env.cr,
            """
            UPDATE sms_alert alert
               SET state = 'sent', failure_reason = NULL, sent_at = sent.now, write_date = sent.now,
                   write_uid = sent.uid, sms_uuid = sent.uuid, body = sent.body
              FROM (VALUES %s) AS sent (id, uuid, body, now, uid)
             WHERE alert.id = sent.id
            """,
            [(alert.id, one_sms.uuid, one_sms.body, now, uid) for alert, one_sms in zip(self, sms, strict=True)],
            page_size=1000,
        )
        self.invalidate_recordset(["state", "failure_reason", "sent_at", "write_date", "write_uid", "sms_uuid",
                                   "body"])

    def _get_excluded_numbers(self, numbers):
        """``{number: reason}`` of numbers that must not get alerts (nor API SMS): the recipient rules of
        recipient_rules.py that are not about mailings (the blacklist, and any rule added there).

        A number was normalised already (an invalid one is left to the gateway, which refuses it); several alerts
        may go to one number (one per record): no duplicate rule here. Extension point: EXCLUSIONS.
        """
        numbers = {number for number in numbers if number}
        blacklisted = set(self.env["phone.blacklist"].sudo().search([("number", "in", list(numbers))]).mapped(
            "number"))
        rules = RecipientRules(self.env, dedupe=False).load(numbers)
        excluded = {}
        for number in numbers:
            code = rules.exclusion(None, number, number, number in blacklisted)
            if code:
                excluded[number] = rules.reason(code)
        return excluded

    def _log_on_documents(self):
        """One chatter note per record and text, naming who got it."""
        by_document = defaultdict(list)
        for alert in self.filtered(lambda a: a.res_model in self.env and a.res_id):
            by_document[(alert.res_model, alert.res_id, alert.body)].append(alert.id)
        for (res_model, res_id, body), alert_ids in by_document.items():
            alerts = self.browse(alert_ids)
            record = self.env[res_model].browse(res_id).exists()
            if not record or not hasattr(record, "_message_log"):
                continue
            names = ", ".join(alert.partner_id.name or alert.mailing_contact_id.name or alert.number
                              for alert in alerts)
            title = alerts.rule_id.name or _("Scheduled SMS")
            record._message_log(
                body=Markup("<p>%s</p><p>%s</p>") % (
                    _("SMS alert \"%(title)s\" sent to %(names)s:", title=title, names=names), escape(body)),
                message_type="sms",
            )

    @api.model
    def _trigger_cron(self):
        """Wake the alert cron at the next due time when that comes before its next regular run."""
        cron = self.env.ref("sms_africastalking.ir_cron_sms_alert", raise_if_not_found=False)
        if not cron or not cron.sudo().active:
            return
        self.env.cr.execute(
            """
            SELECT MIN(alert.scheduled_at) FROM sms_alert alert
              LEFT JOIN sms_alert_rule rule ON rule.id = alert.rule_id
             WHERE alert.state = 'pending'
               AND (alert.rule_id IS NULL OR (rule.active AND rule.state = 'running'))
            """
        )
        next_due = self.env.cr.fetchone()[0]
        cron = cron.sudo()
        if next_due and next_due < cron.nextcall - timedelta(seconds=30):
            cron._trigger(max(next_due, fields.Datetime.now()))
