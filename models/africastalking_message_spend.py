from odoo import fields, models


class AfricasTalkingMessage(models.Model):
    """Each message AT billed is counted on the ledger line (sms.spend) of the send that caused it."""

    _inherit = "africastalking.message"

    spend_id = fields.Many2one("sms.spend", "Ledger Line", readonly=True, ondelete="set null",
                               index="btree_not_null")

    def init(self):  # pylint: disable=missing-return
        super().init()
        # The ledger adds what AT billed since the balance was last read (sms.spend._in_flight): a BRIN index
        # costs next to nothing per insert on this append-only, time-ordered log.
        self.env.cr.execute("CREATE INDEX IF NOT EXISTS africastalking_message_create_date_brin "
                            "ON africastalking_message USING brin (create_date)")
