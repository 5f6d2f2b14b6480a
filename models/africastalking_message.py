import logging

from odoo import _, api, fields, models

from ..tools.at_callbacks import FAILED_STATUSES, FAILURE_REASON_TO_DELIVERY_ERROR, STATUS_TO_DELIVERY_ERROR
from .phone_blacklist import NETWORK_BLACKLIST_REASONS

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
        self._block_numbers_blacklisted_at_network(reports)

    @api.model
    def _block_numbers_blacklisted_at_network(self, reports):
        """UserInBlacklist: the subscriber refused promotional SMS at the operator; stop mailing them."""
        numbers = [report.phone_number for report in reports
                   if report.status in FAILED_STATUSES and report.failure_reason in NETWORK_BLACKLIST_REASONS]
        if numbers:
            self.env["phone.blacklist"]._africastalking_block(
                numbers, "network",
                message=_("Africa's Talking reported UserInBlacklist: the subscriber blocks promotional SMS "
                          "at the mobile network."))

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
        """Log one row per send result; a row already created by an early report is completed instead."""
        early = self.search([("at_message_id", "in", [r.message_id for r in results if r.message_id]),
                             ("sms_uuid", "=", False)])
        early_by_id = {message.at_message_id: message for message in early}
        values_list, completed = [], self.browse()
        for result in results:
            values = self._send_result_values(result, sms_by_uuid.get(result.key))
            message = early_by_id.get(result.message_id)
            if message:
                # The report already set the delivery state: keep it, add what the send said.
                values.pop("state")
                message.write(values)
                completed |= message
            else:
                values_list.append(values)
        created = self.create(values_list)
        completed._propagate_to_trackers()
        return created | completed

    @api.model
    def _send_result_values(self, result, sms):
        account = result.account
        state = {"success": "pending", "unknown_outcome": "unknown"}.get(result.state, "rejected")
        return {
            "account_id": account.id if account else False,
            "company_id": (account.company_id.id if account else False) or (sms.company_id.id if sms else False),
            "sms_uuid": result.key,
            "number": result.number,
            "body": sms.body if sms else False,
            "partner_id": sms.partner_id.id if sms else False,
            "mailing_id": sms.mailing_id.id if sms else False,
            "state": state,
            "at_message_id": result.message_id or False,
            "status_code": result.status_code or False,
            "at_status": result.status or False,
            "failure_reason": result.failure_reason or False,
            "cost": float(result.cost) if result.cost is not None else 0.0,
            "currency": result.currency or False,
            "parts": result.parts or 0,
        }

    def _propagate_send_values_to_trackers(self):
        """Copy AT's id, cost and parts to the trackers and traces of these messages (at send time)."""
        trackers = self.env["sms.tracker"].search([("sms_uuid", "in", [m.sms_uuid for m in self if m.sms_uuid])])
        messages_by_uuid = {message.sms_uuid: message for message in self}
        for tracker in trackers:
            tracker._africastalking_update(messages_by_uuid[tracker.sms_uuid])
