from odoo import fields, models

from .sms_sms_traffic import TRAFFIC_CONTEXT_KEY


class AfricasTalkingAccount(models.Model):
    """A second sender ID for transactional SMS (alerts, single SMS, API), e.g. a short code or an alphanumeric
    sender registered as transactional with the networks (not subject to promotional opt-outs)."""

    _inherit = "africastalking.account"

    transactional_sender_id = fields.Char(
        "Transactional Sender ID",
        help="Sender ID or short code of alerts, single SMS and API calls. Empty: they use the Sender ID above "
             "(which mailings and broadcasts, the promotional SMS, always use).")

    def _africastalking_sender_id(self):
        """The sender of what is being sent now: transactional when the dispatcher says so and one is set."""
        self.ensure_one()
        if self.env.context.get(TRAFFIC_CONTEXT_KEY) == "transactional" and self.transactional_sender_id:
            return self.transactional_sender_id
        return self.sender_id
