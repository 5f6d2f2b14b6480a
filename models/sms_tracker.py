from odoo import api, models
from odoo.addons.mass_mailing_sms.models.sms_tracker import SmsTracker as MassSmsTracker
from odoo.addons.sms.models.sms_tracker import SmsTracker as SmsTrackerBase


class SmsTracker(models.Model):
    """Knows "unknown outcome". What Africa's Talking said about the SMS is on its trace and in the message log."""

    _inherit = "sms.tracker"

    # An unknown outcome shows as "processing" in the chatter: never "error", which would offer a resend.
    SMS_STATE_TO_NOTIFICATION_STATUS = {**SmsTrackerBase.SMS_STATE_TO_NOTIFICATION_STATUS, "unknown": "process"}
    SMS_STATE_TO_TRACE_STATUS = {**MassSmsTracker.SMS_STATE_TO_TRACE_STATUS, "unknown": "unknown"}

    @api.model
    def _africastalking_after_sql_update(self, message_ids, trace_ids, trace_status):
        """What follows a set-based update of SMS, notifications and traces (the SQL versions of
        ``_action_update_from_sms_state``): drop the ORM's cached values, tell the chatter of the messages whose
        notifications changed and close the mailings that are done (``trace_ids``: one trace per mailing)."""
        for model in ("sms.sms", "sms.tracker", "mail.notification", "mailing.trace"):
            self.env[model].invalidate_model()
        if message_ids:
            self.env["mail.message"].browse(message_ids)._notify_message_notification_update()
        if trace_ids:
            self._update_sms_mailings(trace_status, self.env["mailing.trace"].browse(trace_ids))

    def _update_sms_traces(self, trace_status, failure_type=False, failure_reason=False):
        if trace_status != "unknown":
            return super()._update_sms_traces(trace_status, failure_type=failure_type, failure_reason=failure_reason)
        traces = self.mailing_trace_id.filtered(lambda t: t.trace_status in ("outgoing", "process"))
        traces.write({"trace_status": "unknown", "failure_type": False, "failure_reason": failure_reason})
        return traces

    def _update_sms_mailings(self, trace_status, traces):
        """A mailing is done once no SMS of it is queued or being sent (stock ignores queued ones).

        The queue dispatches a mailing in batches: stock would mark it done after the first batch, and a mailing
        interrupted while being prepared would then never resume. The check is one indexed lookup per mailing
        (see mailing.trace init()), for mailings not done yet; stock's own query then only sees the mailings that
        may be done. Callers pass one trace per mailing where they can.
        """
        if trace_status == "process" or not traces:
            return super()._update_sms_mailings(trace_status, traces)
        self.env["mailing.trace"].flush_model(["trace_status", "mass_mailing_id"])
        self.env["mailing.mailing"].flush_model(["state"])
        # Mailings already done (most, once reports come in) need no look at their traces.
        self.env.cr.execute(
            """SELECT DISTINCT ON (t.mass_mailing_id) t.mass_mailing_id, t.id
                 FROM mailing_trace t JOIN mailing_mailing m ON m.id = t.mass_mailing_id
                WHERE t.id = ANY(%s) AND m.state != 'done'""", (traces.ids,))
        idle_traces = []
        for mailing_id, trace_id in self.env.cr.fetchall():
            self.env.cr.execute(
                "SELECT EXISTS(SELECT 1 FROM mailing_trace WHERE mass_mailing_id = %s "
                "AND trace_status IN ('outgoing', 'process'))", (mailing_id,))
            if not self.env.cr.fetchone()[0]:
                idle_traces.append(trace_id)
        if not idle_traces:
            return None
        return super()._update_sms_mailings(trace_status, traces.browse(idle_traces))
