from odoo import models


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    def action_send_sms(self, res_ids=None):
        """Start dispatching as soon as the mailing is prepared, not at the next hourly SMS cron."""
        res = super().action_send_sms(res_ids=res_ids)
        self.env["sms.sms"]._africastalking_trigger_queue()
        return res
