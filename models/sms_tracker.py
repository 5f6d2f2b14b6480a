from odoo import api, models
from odoo.addons.mass_mailing_sms.models.sms_tracker import SmsTracker as MassSmsTracker
from odoo.addons.sms.models.sms_tracker import SmsTracker as SmsTrackerBase
from odoo.tools import SQL

# Stock's rules for moving a notification or a trace, written once for the set-based SQL paths (dispatch write-back,
# delivery reports). For each new status, the current statuses that are left alone: nothing moves "back" (stock's
# sms.tracker._update_sms_notifications and mass_mailing_sms's _update_sms_traces, which keep them inline).
# TestStateTransitionsParity runs every current status x every outcome through stock's ORM path and through the SQL
# built from these tables, and compares the rows.
NOTIFICATION_STATUSES_TO_IGNORE = {
    "canceled": ("canceled", "process", "pending", "sent"),
    "ready": ("ready", "process", "pending", "sent"),
    "process": ("process", "pending", "sent"),
    "pending": ("pending", "sent"),
    "bounce": ("bounce", "sent"),
    "sent": ("sent",),
    "exception": ("exception",),
}
TRACE_STATUSES_TO_IGNORE = {
    "cancel": ("cancel", "process", "pending", "sent"),
    "outgoing": ("outgoing", "process", "pending", "sent"),
    "process": ("process", "pending", "sent"),
    "pending": ("pending", "sent"),
    "bounce": ("bounce",),
    "sent": ("sent",),
    "error": ("error",),
}
# A trace that moves to any other status gets its sent date, when it has none.
TRACE_STATUSES_WITHOUT_SENT_DATETIME = ("outgoing", "process", "error", "cancel")


class SmsTracker(models.Model):
    """Knows "unknown outcome". What Africa's Talking said about the SMS is on its trace and in the message log."""

    _inherit = "sms.tracker"

    # An unknown outcome shows as "processing" in the chatter: never "error", which would offer a resend.
    SMS_STATE_TO_NOTIFICATION_STATUS = {**SmsTrackerBase.SMS_STATE_TO_NOTIFICATION_STATUS, "unknown": "process"}
    SMS_STATE_TO_TRACE_STATUS = {**MassSmsTracker.SMS_STATE_TO_TRACE_STATUS, "unknown": "unknown"}

    # ------------------------------------------------------------------
    # Stock's transitions, for the SQL paths
    # ------------------------------------------------------------------

    @api.model
    def _africastalking_statuses_from_sms_state(self, sms_state):
        """(notification status, trace status) that ``_action_update_from_sms_state(sms_state)`` aims at."""
        return self.SMS_STATE_TO_NOTIFICATION_STATUS[sms_state], self.SMS_STATE_TO_TRACE_STATUS[sms_state]

    @api.model
    def _africastalking_statuses_from_provider_error(self, provider_error):
        """(notification status, trace status, failure type, failure reason) that
        ``_action_update_from_provider_error(provider_error)`` writes: a known delivery error is a bounce or an
        error, anything else an error of type ``unknown`` with the provider's text as reason."""
        sms_model = self.env["sms.sms"]
        failure_type = "sms_%s" % provider_error
        if failure_type not in sms_model.DELIVERY_ERRORS:
            return "exception", "error", "unknown", provider_error
        if failure_type in sms_model.BOUNCE_DELIVERY_ERRORS:
            return "bounce", "bounce", failure_type, False
        return "exception", "error", failure_type, False

    @staticmethod
    def _africastalking_sql_may_move(current, new, statuses_to_ignore):
        """SQL: true when a record whose status is ``current`` (SQL) moves to ``new`` (a status, or SQL giving one
        per row) under ``statuses_to_ignore`` (NOTIFICATION_/TRACE_STATUSES_TO_IGNORE)."""
        if isinstance(new, str):
            return SQL("%s NOT IN %s", current, statuses_to_ignore[new])
        return SQL("CASE %s %s ELSE false END", new, SQL(" ").join(
            SQL("WHEN %s THEN %s NOT IN %s", status, current, ignored)
            for status, ignored in statuses_to_ignore.items()))

    @classmethod
    def _africastalking_sql_notification_may_move(cls, current, new):
        return cls._africastalking_sql_may_move(current, new, NOTIFICATION_STATUSES_TO_IGNORE)

    @classmethod
    def _africastalking_sql_trace_may_move(cls, current, new):
        return cls._africastalking_sql_may_move(current, new, TRACE_STATUSES_TO_IGNORE)

    @staticmethod
    def _africastalking_sql_stamps_sent_datetime(new):
        """SQL: true when a trace moving to ``new`` (a status, or SQL) gets a sent date (when it has none)."""
        if isinstance(new, str):
            return SQL("true") if new not in TRACE_STATUSES_WITHOUT_SENT_DATETIME else SQL("false")
        return SQL("%s NOT IN %s", new, TRACE_STATUSES_WITHOUT_SENT_DATETIME)

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
        # Mailings already done (most, once reports come in) need no look at their traces.
        # Nor mailings with recipients left to prepare (a later run of the mass-mailing cron, or after a crash).
        self.env["mailing.mailing"].flush_model(["state", "sms_preparation_pending"])
        self.env.cr.execute(
            """SELECT DISTINCT ON (t.mass_mailing_id) t.mass_mailing_id, t.id
                 FROM mailing_trace t JOIN mailing_mailing m ON m.id = t.mass_mailing_id
                WHERE t.id = ANY(%s) AND m.state != 'done' AND m.sms_preparation_pending IS NOT TRUE""",
            (traces.ids,))
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
