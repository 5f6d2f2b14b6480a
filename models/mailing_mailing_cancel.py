import logging

import psycopg2

from odoo import _, fields, models

_logger = logging.getLogger(__name__)


class MailingMailing(models.Model):
    """Cancel stops everything not yet sent: queued SMS at once (action_cancel), the chunks not yet prepared (the
    preparation looks before each chunk) and SMS prepared concurrently with the cancel (the dispatcher looks
    after its claim, sms_sms_cancel.py). What AT already has, or is being given (a claimed batch), stays sent."""

    _inherit = "mailing.mailing"

    # The mark of a Cancel, read by the preparation and the dispatcher (a draft state is no mark: "Send Now"
    # prepares and dispatches a mailing that stays in draft). Cleared when the mailing is sent again.
    sms_cancel_date = fields.Datetime("Cancelled On", copy=False, readonly=True)

    def action_cancel(self):
        self._sms_check_write_access()
        self.sudo().write({"sms_cancel_date": fields.Datetime.now()})
        return super().action_cancel()

    def write(self, vals):
        if vals.get("state") in ("in_queue", "sending"):
            vals = dict(vals, sms_cancel_date=False)
        return super().write(vals)

    def action_send_sms(self, res_ids=None):
        # "Send Now" of a cancelled draft: sent again, no longer cancelled.
        cancelled_drafts = self.filtered(lambda mailing: mailing.state == "draft" and mailing.sms_cancel_date)
        if cancelled_drafts:
            cancelled_drafts._sms_check_write_access()
            cancelled_drafts.sudo().write({"sms_cancel_date": False})
        return super().action_send_sms(res_ids=res_ids)

    def _sms_preparation_cancelled(self, can_rollback=False):
        """Whether the mailing was cancelled since its preparation began, read under the lock
        the preparation takes on the mailing for each chunk.

        In the cron each chunk is a fresh transaction (REPEATABLE READ) which starts here: it sees a cancel
        committed before; a cancel committing while we wait for the lock is a serialization failure, after which
        (only when the previous chunk is committed: ``can_rollback``) a new transaction sees it.
        """
        self.ensure_one()
        self.flush_recordset(["sms_cancel_date"])
        for attempt in range(2):
            try:
                self.env.cr.execute("SELECT sms_cancel_date FROM mailing_mailing WHERE id = %s FOR NO KEY UPDATE",
                                    (self.id,),
                                    log_exceptions=False)
                break
            except psycopg2.errors.SerializationFailure:
                if not can_rollback or attempt:
                    raise
                self.env.cr.rollback()
        if not self.env.cr.fetchone()[0]:
            return False
        # SMS of the chunks prepared before the cancel's snapshot are cancelled by action_cancel; those committed
        # while it ran are cancelled here.
        queued = self.env["sms.sms"].sudo().search([
            ("mailing_id", "=", self.id), ("state", "=", "outgoing"), ("to_delete", "!=", True),
            ("at_origin", "!=", "test")])
        queued.action_set_canceled()
        _logger.info("SMS mailing %s cancelled during its preparation: %d queued SMS cancelled, later chunks not "
                     "prepared", self.id, len(queued))
        self._message_log(body=_("Cancelled during the preparation: the recipients not yet prepared get nothing."))
        return True
