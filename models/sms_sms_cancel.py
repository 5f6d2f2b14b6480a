from odoo import models


class SmsSms(models.Model):
    _inherit = "sms.sms"

    def _africastalking_drop_cancelled_mailings(self):
        """The claimed SMS minus those of a cancelled mailing, which are cancelled. (A *Test* SMS
        carries its draft mailing too: it is not one of the mailing's recipients and leaves.)

        ``action_cancel`` cancels the queued SMS it sees; SMS a concurrent preparation committed after its snapshot
        would still be queued. The claim reads a fresh snapshot, so a cancel committed before it is seen here;
        a batch claimed before the cancel is in flight and finishes (sent once).
        """
        if not self:
            return self
        self.env["mailing.mailing"].flush_model(["sms_cancel_date"])
        self.env.cr.execute(
            """SELECT sms.id FROM sms_sms sms JOIN mailing_mailing mailing ON mailing.id = sms.mailing_id
                WHERE sms.id = ANY(%s) AND mailing.sms_cancel_date IS NOT NULL
                  AND sms.at_origin IS DISTINCT FROM 'test'""", (self.ids,))
        cancelled = self.browse([row[0] for row in self.env.cr.fetchall()])
        if cancelled:
            cancelled.sudo().action_set_canceled()
        return self - cancelled
