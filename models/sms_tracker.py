from odoo import fields, models
from odoo.addons.mass_mailing_sms.models.sms_tracker import SmsTracker as MassSmsTracker
from odoo.addons.sms.models.sms_tracker import SmsTracker as SmsTrackerBase


class SmsTracker(models.Model):
    """Keeps what Africa's Talking said about the SMS (id, cost, parts, status) and knows "unknown outcome"."""

    _inherit = "sms.tracker"

    # An unknown outcome shows as "processing" in the chatter: never "error", which would offer a resend.
    SMS_STATE_TO_NOTIFICATION_STATUS = {**SmsTrackerBase.SMS_STATE_TO_NOTIFICATION_STATUS, "unknown": "process"}
    SMS_STATE_TO_TRACE_STATUS = {**MassSmsTracker.SMS_STATE_TO_TRACE_STATUS, "unknown": "unknown"}

    at_message_id = fields.Char("AT Message ID", index="btree_not_null", readonly=True)
    at_status = fields.Char("AT Status", readonly=True)
    at_cost = fields.Float("Cost", digits=(16, 4), readonly=True)
    at_currency = fields.Char("Currency", readonly=True)
    at_parts = fields.Integer("Parts", readonly=True)

    def _update_sms_traces(self, trace_status, failure_type=False, failure_reason=False):
        if trace_status != "unknown":
            return super()._update_sms_traces(trace_status, failure_type=failure_type, failure_reason=failure_reason)
        traces = self.mailing_trace_id.filtered(lambda t: t.trace_status in ("outgoing", "process"))
        traces.write({"trace_status": "unknown", "failure_type": False, "failure_reason": failure_reason})
        return traces

    def _africastalking_update(self, message):
        """Copy an ``africastalking.message``'s AT facts to this tracker and its mailing trace."""
        values = {
            "at_message_id": message.at_message_id,
            "at_status": message.at_status,
            "at_cost": message.cost,
            "at_currency": message.currency,
            "at_parts": message.parts,
        }
        self.write(values)
        if self.mailing_trace_id:
            self.mailing_trace_id.write({**values, "at_network_code": message.network_code})

    def _update_sms_mailings(self, trace_status, traces):
        """A mailing is done once no SMS of it is queued or being sent (stock ignores queued ones).

        The queue dispatches a mailing in batches: stock would mark it done after the first batch, and a mailing
        interrupted while being prepared would then never resume. Stock only needs the traces' mailings, so it
        gets one trace per mailing that is not busy (thousands of traces come in one delivery batch).
        """
        if trace_status != "process" and traces:
            self.env["mailing.trace"].flush_model(["trace_status", "mass_mailing_id"])
            self.env.cr.execute(
                """
                SELECT DISTINCT ON (t.mass_mailing_id) t.id
                  FROM mailing_trace t
                 WHERE t.id = ANY(%s)
                   AND NOT EXISTS (SELECT 1 FROM mailing_trace busy
                                    WHERE busy.mass_mailing_id = t.mass_mailing_id
                                      AND busy.trace_status IN ('outgoing', 'process'))
                """,
                (traces.ids,),
            )
            traces = traces.browse([row[0] for row in self.env.cr.fetchall()])
        return super()._update_sms_mailings(trace_status, traces)
