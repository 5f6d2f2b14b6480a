from odoo import fields, models

from ..models.sms_sms_traffic import SMS_TRAFFIC, TRAFFIC_HELP


class SmsBroadcast(models.TransientModel):
    _inherit = "sms.broadcast"

    sms_traffic = fields.Selection(SMS_TRAFFIC, "SMS Traffic", default="promotional", required=True,
                                   help=TRAFFIC_HELP)

    def _action_send(self):
        # The broadcast is a mailing: it carries the broadcast's traffic.
        return super(SmsBroadcast, self.with_context(default_sms_traffic=self.sms_traffic))._action_send()
