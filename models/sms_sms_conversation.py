from odoo import api, fields, models
from odoo.tools import SQL


class SmsSms(models.Model):
    """SMS written in a conversation: they keep their thread (so that it shows them while queued; once sent, the
    thread reads them from the message log by number), and an answer to a premium short code leaves through AT's
    premium send (``bulkSMSMode=0``, the short code as sender, the inbound ``linkId``) instead of the bulk one."""

    _inherit = "sms.sms"

    conversation_id = fields.Many2one("sms.conversation", index="btree_not_null", ondelete="set null",
                                      readonly=True, copy=False)
    at_short_code = fields.Char("Premium Short Code", readonly=True, copy=False,
                                help="Sent from this premium short code (AT's premium send) instead of the "
                                     "account's sender ID.")
    at_link_id = fields.Char("Premium Link ID", readonly=True, copy=False,
                             help="The linkId of the inbound SMS this answers (on-demand premium services).")
    at_keyword = fields.Char("Premium Keyword", readonly=True, copy=False)

    @api.model
    def _africastalking_outgoing_messages(self, rows, numbers):
        premium = self._africastalking_premium_routes([row.id for row in rows])
        if not premium:
            return super()._africastalking_outgoing_messages(rows, numbers)
        messages = super()._africastalking_outgoing_messages([row for row in rows if row.id not in premium],
                                                             numbers)
        # One entry per premium answer (Odoo's shape plus AT's premium keys): each carries its own linkId.
        for row in rows:
            if row.id in premium and numbers[row.id]:
                short_code, link_id, keyword = premium[row.id]
                messages.append({"content": row.body or "", "numbers": [{"uuid": row.uuid, "number": numbers[row.id]}],
                                 "short_code": short_code, "link_id": link_id, "keyword": keyword})
        return messages

    @api.model
    def _africastalking_premium_routes(self, ids):
        """``{sms id: (short code, link id, keyword)}`` of the premium SMS among ``ids`` (one query by id)."""
        if not ids:
            return {}
        self.flush_model(["at_short_code", "at_link_id", "at_keyword"])
        self.env.cr.execute(SQL(
            "SELECT id, at_short_code, at_link_id, at_keyword FROM sms_sms WHERE id = ANY(%s) "
            "AND at_short_code IS NOT NULL AND at_short_code != ''", list(ids)))
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}
