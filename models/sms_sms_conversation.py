from odoo import fields, models


class SmsSms(models.Model):
    """An SMS written in a conversation keeps its thread, so that the thread shows it while it is queued (once
    sent, the thread reads it from the message log by number)."""

    _inherit = "sms.sms"

    conversation_id = fields.Many2one("sms.conversation", index="btree_not_null", ondelete="set null",
                                      readonly=True, copy=False)
    at_origin = fields.Selection(selection_add=[("conversation", "Conversation reply")])
