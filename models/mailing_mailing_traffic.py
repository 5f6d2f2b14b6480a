from odoo import fields, models

from .sms_sms_traffic import SMS_TRAFFIC, TRAFFIC_HELP


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    sms_traffic = fields.Selection(SMS_TRAFFIC, "SMS Traffic", default="promotional", required=True,
                                   help=TRAFFIC_HELP)
