from odoo import fields, models


class SmsPollVote(models.Model):
    """The vote of one number in one poll (one per number); written by the inbound processing only."""

    _name = "sms.poll.vote"
    _description = "SMS Poll Vote"
    _order = "vote_date desc, id desc"
    _rec_name = "number"

    poll_id = fields.Many2one("sms.poll", required=True, readonly=True, ondelete="cascade", index=True)
    answer_id = fields.Many2one("sms.poll.answer", required=True, readonly=True, ondelete="cascade",
                                index=True)
    number = fields.Char(required=True, readonly=True, index=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True, ondelete="set null")
    inbound_id = fields.Many2one("africastalking.inbound", "Answer SMS", readonly=True, ondelete="set null")
    trace_id = fields.Many2one("mailing.trace", "Mailing Trace", readonly=True, ondelete="set null")
    vote_date = fields.Datetime("Voted On", readonly=True, default=fields.Datetime.now)
    change_count = fields.Integer("Changes", readonly=True, help="How often the number changed its answer.")
    ignored_count = fields.Integer("Ignored Answers", readonly=True,
                                   help="Later answers not counted (same answer again, or 'first answer counts').")
    company_id = fields.Many2one(related="poll_id.company_id", store=True)
    mailing_id = fields.Many2one(related="poll_id.mailing_id", store=True)

    _sql_constraints = [
        ("number_unique", "unique (poll_id, number)", "A number votes once per poll."),
    ]
