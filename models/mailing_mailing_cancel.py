import logging

import psycopg2

from odoo import _, models

_logger = logging.getLogger(__name__)


class MailingMailing(models.Model):
    """Cancel stops everything not yet sent: queued SMS at once (action_cancel), the chunks not yet prepared (the
    preparation looks before each chunk) and SMS prepared concurrently with the cancel (the dispatcher looks
    after its claim, sms_sms_cancel.py). What AT already has, or is being given (a claimed batch), stays sent."""

    _inherit = "mailing.mailing"

    def _sms_preparation_cancelled(self, can_rollback=False):
        """Whether the mailing was cancelled (put back to draft) since its preparation began, read under the lock
        the preparation takes on the mailing for each chunk.

        In the cron each chunk is a fresh transaction (REPEATABLE READ) which starts here: it sees a cancel
        committed before; a cancel committing while we wait for the lock is a serialization failure, after which
        (only when the previous chunk is committed: ``can_rollback``) a new transaction sees it.
        """
        self.ensure_one()
        self.flush_recordset(["state"])
        for attempt in range(2):
            try:
                self.env.cr.execute("SELECT state FROM mailing_mailing WHERE id = %s FOR NO KEY UPDATE", (self.id,),
                                    log_exceptions=False)
                break
            except psycopg2.errors.SerializationFailure:
                if not can_rollback or attempt:
                    raise
                self.env.cr.rollback()
        if self.env.cr.fetchone()[0] != "draft":
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
