from odoo import api, models

from .africastalking_message import LogReference


class AfricasTalkingMessage(models.Model):
    """Each message AT billed is counted on the ledger line (sms.spend) of the send that caused it."""

    _inherit = "africastalking.message"

    # Without a foreign key: ledger lines are never deleted (see LogReference)
    spend_id = LogReference("sms.spend", "Ledger Line", readonly=True, ondelete="set null", index="btree_not_null")

    def init(self):  # pylint: disable=missing-return
        super().init()
        # The ledger adds what AT billed since the balance was last read (sms.spend._in_flight): a BRIN index
        # costs next to nothing per insert on this append-only, time-ordered log.
        self.env.cr.execute("CREATE INDEX IF NOT EXISTS africastalking_message_create_date_brin "
                            "ON africastalking_message USING brin (create_date)")

    @api.model
    def _send_result_values(self):
        # Linked to its ledger line as it is logged: settling then needs no pass over the log (sms.spend._settle_sms)
        return {**super()._send_result_values(), "spend_id": self.env["sms.spend"]._spend_of_sms_sql("s")}
