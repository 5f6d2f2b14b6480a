from odoo import api, fields, models


class AfricasTalkingInbound(models.Model):
    """Every inbound SMS lands in its number's conversation (sms.conversation): ordinary texts count as unread and
    reopen a Done thread; STOP / START / HELP are handled automatically and only shown."""

    _inherit = "africastalking.inbound"

    conversation_id = fields.Many2one("sms.conversation", index="btree_not_null", ondelete="set null",
                                      readonly=True)
    # AT's linkId lets one answer be billed to the sender of an on-demand premium SMS: the first reply of the
    # thread uses it (and records its SMS here), later ones leave as ordinary SMS.
    link_reply_uuid = fields.Char("Premium Reply SMS UUID", readonly=True, copy=False)

    @api.model
    def _process_inbound_message(self, account, message):
        inbound = super()._process_inbound_message(account, message)
        if inbound and not inbound.conversation_id:
            self.env["sms.conversation"].sudo()._attach_inbound(inbound, unread=not inbound.keyword)
        return inbound
