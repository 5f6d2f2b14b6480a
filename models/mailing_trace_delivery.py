from odoo import api, fields, models

from ..tools.networks import guess_network_code
from .africastalking_message_network import _network_display


class MailingTrace(models.Model):
    """What the trace list says about delivery: the mobile network (reported, else guessed by prefix)."""

    _inherit = "mailing.trace"

    at_network_name = fields.Char("Network", compute="_compute_at_network_name")

    @api.depends("at_network_code", "sms_number")
    def _compute_at_network_name(self):
        for trace in self:
            guess = "" if trace.at_network_code else guess_network_code(trace.sms_number or "")
            trace.at_network_name = _network_display(trace.at_network_code, guess)
