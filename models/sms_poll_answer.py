from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.keywords import normalize_keyword


class SmsPollAnswer(models.Model):
    """One answer of a poll: the code people reply ("1", "A", "SAT"), matched as keywords are."""

    _name = "sms.poll.answer"
    _description = "SMS Poll Answer"
    _order = "sequence, id"

    poll_id = fields.Many2one("sms.poll", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer(default=10)
    code = fields.Char(required=True, help="What people reply: a number or a word; case and punctuation ignored.")
    normalized = fields.Char(compute="_compute_normalized", store=True, index=True)
    name = fields.Char("Answer", required=True)
    vote_count = fields.Integer("Votes", compute="_compute_vote_count")

    @api.depends("code")
    def _compute_normalized(self):
        for answer in self:
            answer.normalized = normalize_keyword(answer.code or "")

    @api.depends("code", "name")
    def _compute_display_name(self):
        for answer in self:
            answer.display_name = "%s: %s" % (answer.code, answer.name) if answer.code else answer.name

    def _compute_vote_count(self):
        counts = dict(self.env["sms.poll.vote"]._read_group([("answer_id", "in", self.ids)], ["answer_id"],
                                                            ["__count"]))
        for answer in self:
            answer.vote_count = counts.get(answer, 0)

    @api.constrains("code")
    def _check_code(self):
        for answer in self:
            if not answer.normalized:
                raise ValidationError(_("An answer code needs a letter or digit, e.g. 1 or YES."))
