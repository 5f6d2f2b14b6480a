from odoo import fields, models


class AfricasTalkingMessage(models.Model):
    _inherit = "africastalking.message"

    origin = fields.Selection(selection_add=[("conversation", "Conversation reply")])
