from odoo import fields, models


class SmsSpend(models.Model):
    """A conversation reply is reserved on the ledger like any SMS (sms_sms_spend.py): its line carries the SMS's
    origin, which the conversations add to sms.sms (sms_sms_conversation.py)."""

    _inherit = "sms.spend"

    origin = fields.Selection(selection_add=[("conversation", "Conversation reply")])
