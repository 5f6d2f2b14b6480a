from datetime import timedelta

from odoo import api, fields, models


class SmsOptInRequest(models.Model):
    """A keyword join waiting for its confirmation (double opt-in): the number is subscribed to the list only when
    it answers YES / NDIO before ``deadline``."""

    _name = "sms.opt.in.request"
    _description = "SMS Double Opt-in Request"
    _order = "id desc"
    _rec_name = "number"

    number = fields.Char(required=True, readonly=True, index=True)
    mailing_list_id = fields.Many2one("mailing.list", required=True, readonly=True,
                                      ondelete="cascade")
    keyword_id = fields.Many2one("sms.keyword", readonly=True, ondelete="set null")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    inbound_id = fields.Many2one("africastalking.inbound", "Request SMS", readonly=True, ondelete="set null")
    confirm_inbound_id = fields.Many2one("africastalking.inbound", "Confirmation SMS", readonly=True,
                                         ondelete="set null")
    state = fields.Selection([("pending", "Waiting for YES"), ("confirmed", "Confirmed"), ("expired", "Expired")],
                             required=True, readonly=True, default="pending", index=True)
    deadline = fields.Datetime(required=True, readonly=True)
    confirmation_sms_uuid = fields.Char("Confirmation SMS UUID", readonly=True)

    @api.model
    def _deadline_for(self, company):
        return fields.Datetime.now() + timedelta(hours=company.sudo().sms_double_opt_in_hours or 24)

    @api.model
    def _pending(self, company, number):
        """The requests of ``number`` a YES sent now confirms; those past their deadline are expired on the way."""
        requests = self.search([("company_id", "=", company.id), ("number", "=", number), ("state", "=", "pending")])
        late = requests.filtered(lambda request: request.deadline < fields.Datetime.now())
        late.write({"state": "expired"})
        return requests - late

    @api.autovacuum
    def _gc_expire_requests(self):
        self.search([("state", "=", "pending"), ("deadline", "<", fields.Datetime.now())]).write({"state": "expired"})
