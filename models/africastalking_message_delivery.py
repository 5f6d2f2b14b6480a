from odoo import api, models

from ..tools.outcomes import is_hard_failure, message_state_of_send


class AfricasTalkingMessage(models.Model):
    """What reports mean beyond the message: the dead-number counters (``sms.number.suppression``) get each
    message's final outcome once, and the account the time of its last report (report monitoring)."""

    _inherit = "africastalking.message"

    @api.model
    def _apply_delivery_reports(self, account, reports):
        waiting = super()._apply_delivery_reports(account, reports)
        if reports:
            self.env["africastalking.account"].sudo()._note_reports_received(
                account, max((report.received_at for report in reports if report.received_at), default=None))
        return waiting

    @api.model
    def _reports_made_final(self, outcomes):
        # Only messages that became final now: a repeated or late report changes no counter.
        result = super()._reports_made_final(outcomes)
        self._count_outcomes(outcomes)
        return result

    @api.model
    def _record_send_results(self, results):
        messages = super()._record_send_results(results)
        # Only when AT refused a number (a broadcast's batches have none: no query)
        if messages and any(message_state_of_send(result.state) == "rejected" for result in results):
            # AT refused some numbers at once (InvalidPhoneNumber, UnsupportedNumberType...): hard failures too.
            self._count_number_outcomes(
                """SELECT company_id, number, 'failed', COALESCE(at_status, failure_reason),
                          COALESCE(send_date, create_date)
                     FROM africastalking_message WHERE id = ANY(%s) AND state = 'rejected'""",
                (messages.ids,))
        return messages

    def _count_number_outcomes(self, query, params):
        self.flush_model()
        self.env.cr.execute(query, params)
        self._count_outcomes(self.env.cr.fetchall())

    @api.model
    def _count_outcomes(self, rows):
        """``rows``: (company id, number, final state, failure reason or AT status, sent at) of final messages."""
        outcomes = []
        for company_id, number, state, reason, sent_at in rows:
            if state == "delivered":
                outcomes.append((company_id, number, "delivered", None, sent_at))
            elif is_hard_failure(reason):
                outcomes.append((company_id, number, "hard", reason, sent_at))
        if outcomes:
            self.env["sms.number.suppression"].sudo()._record_number_outcomes(outcomes)
