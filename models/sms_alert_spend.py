from odoo import models

from .sms_sms_spend import SPEND_USER_KEY


class SmsAlert(models.Model):
    _inherit = "sms.alert"

    def _queue_sms(self, bodies):
        """The SMS of an alert are caused by whoever made it: the rule's author, or the API caller who scheduled
        it; their budgets count them, not the cron's superuser's (nobody's)."""
        sent = self.browse()
        for author, alerts in self.grouped(lambda alert: alert.rule_id.create_uid or alert.create_uid).items():
            sent |= super(SmsAlert, alerts.with_context(**{SPEND_USER_KEY: author.id}))._queue_sms(bodies)
        return sent
