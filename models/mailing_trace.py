from odoo import fields, models


class MailingTrace(models.Model):
    _inherit = "mailing.trace"

    trace_status = fields.Selection(
        selection_add=[("unknown", "Unknown Outcome")],
        ondelete={"unknown": lambda traces: traces.write({"trace_status": "error"})},
    )
    at_message_id = fields.Char("AT Message ID", readonly=True)
    at_status = fields.Char("AT Status", readonly=True)
    at_cost = fields.Float("SMS Cost", digits=(16, 4), readonly=True)
    at_currency = fields.Char("Currency", readonly=True)
    at_parts = fields.Integer("SMS Parts", readonly=True)
    at_network_code = fields.Char("Network Code", readonly=True)

    def init(self):  # pylint: disable=missing-return
        super().init()
        # "Is anything of this mailing still queued or being sent?" is asked after every dispatch batch and
        # delivery batch: a small partial index answers it without reading the mailing's other traces.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS mailing_trace_sms_busy_idx ON mailing_trace (mass_mailing_id) "
            "WHERE trace_status IN ('outgoing', 'process')"
        )
