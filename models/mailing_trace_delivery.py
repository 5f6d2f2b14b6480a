from odoo import api, fields, models

from .africastalking_message_network import network_display


class MailingTrace(models.Model):
    """What the trace says about delivery: the mobile network (reported, else guessed by prefix), and a recipient
    left out as a dead number (sms.number.suppression)."""

    _inherit = "mailing.trace"

    failure_type = fields.Selection(selection_add=[("sms_dead_number", "Suppressed: Dead Number")])
    at_network_name = fields.Char("Network", compute="_compute_at_network_name")

    @api.depends("at_network_code", "sms_number")
    def _compute_at_network_name(self):
        for trace in self:
            trace.at_network_name = network_display(trace.at_network_code, trace.sms_number)
