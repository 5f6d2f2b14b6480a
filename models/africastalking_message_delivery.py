from odoo import api, models

from ..tools.outcomes import is_hard_failure

FINAL_MESSAGE_STATES = ("delivered", "failed")


class AfricasTalkingMessage(models.Model):
    """What reports mean beyond the message: the dead-number counters (``sms.number.suppression``) get each
    message's final outcome once, and the account the time of its last report (report monitoring)."""

    _inherit = "africastalking.message"

    @api.model
    def _apply_delivery_reports(self, account, reports):
        at_ids = list({report.message_id for report in reports})
        already_final = self._final_at_message_ids(at_ids)
        waiting = super()._apply_delivery_reports(account, reports)
        if reports:
            self.env["africastalking.account"].sudo()._note_reports_received(
                account, max((report.received_at for report in reports if report.received_at), default=None))
        # Only messages that became final now: a repeated or late report changes no counter.
        self._count_number_outcomes(
            """SELECT company_id, number, state, COALESCE(failure_reason, at_status), COALESCE(send_date, create_date)
                 FROM africastalking_message
                WHERE at_message_id = ANY(%s) AND NOT at_message_id = ANY(%s) AND state IN %s""",
            (at_ids, list(already_final), FINAL_MESSAGE_STATES))
        return waiting

    @api.model
    def _record_send_results(self, results):
        messages = super()._record_send_results(results)
        if messages:
            # AT refused some numbers at once (InvalidPhoneNumber, UnsupportedNumberType...): hard failures too.
            self._count_number_outcomes(
                """SELECT company_id, number, 'failed', COALESCE(at_status, failure_reason),
                          COALESCE(send_date, create_date)
                     FROM africastalking_message WHERE id = ANY(%s) AND state = 'rejected'""",
                (messages.ids,))
        return messages

    def _final_at_message_ids(self, at_ids):
        if not at_ids:
            return set()
        self.flush_model(["at_message_id", "state"])
        self.env.cr.execute("SELECT at_message_id FROM africastalking_message WHERE at_message_id = ANY(%s) "
                            "AND state IN %s", (at_ids, FINAL_MESSAGE_STATES))
        return {row[0] for row in self.env.cr.fetchall()}

    def _count_number_outcomes(self, query, params):
        self.flush_model()
        self.env.cr.execute(query, params)
        outcomes = []
        for company_id, number, state, reason, sent_at in self.env.cr.fetchall():
            if state == "delivered":
                outcomes.append((company_id, number, "delivered", None, sent_at))
            elif is_hard_failure(reason):
                outcomes.append((company_id, number, "hard", reason, sent_at))
        if outcomes:
            self.env["sms.number.suppression"].sudo()._record_number_outcomes(outcomes)
