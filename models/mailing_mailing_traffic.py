from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from .sms_sms_traffic import SMS_TRAFFIC, TRAFFIC_HELP

SMS_MANAGER_GROUP = "sms_africastalking.group_sms_manager"


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    sms_traffic = fields.Selection(SMS_TRAFFIC, "SMS Traffic", default="promotional", required=True,
                                   help=TRAFFIC_HELP)

    # A transactional mailing goes to the numbers that refused promotional SMS at their network: only an SMS
    # manager decides that a mailing is not marketing. The form shows the field to them only; these checks stop
    # the same write over RPC (and a transactional default passed in the context, e.g. by the broadcast wizard).
    @api.model_create_multi
    def create(self, vals_list):
        mailings = super().create(vals_list)
        if mailings.filtered(lambda mailing: mailing.sms_traffic == "transactional"):
            self._sms_check_traffic_rights()
        return mailings

    def write(self, vals):
        if vals.get("sms_traffic") == "transactional":
            self._sms_check_traffic_rights()
        return super().write(vals)

    def copy_data(self, default=None):
        # A marketing user's copy of a manager's transactional mailing is a promotional one.
        vals_list = super().copy_data(default=default)
        if not self._sms_may_set_transactional() and "sms_traffic" not in (default or {}):
            for vals in vals_list:
                vals["sms_traffic"] = "promotional"
        return vals_list

    @api.model
    def _sms_may_set_transactional(self):
        return self.env.su or self.env.user.has_group(SMS_MANAGER_GROUP)

    @api.model
    def _sms_check_traffic_rights(self):
        if not self._sms_may_set_transactional():
            raise AccessError(_("Only an SMS manager can make a mailing transactional: it then reaches the numbers "
                                "that refused promotional SMS at their network."))
