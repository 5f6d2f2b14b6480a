from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.keywords import normalize_keyword


class SmsPoll(models.Model):
    """A question an SMS mailing asks ("Reply 1 for Saturday, 2 for Sunday"): the replies of the numbers it was sent
    to, within its window, are counted per answer (one vote per number)."""

    _name = "sms.poll"
    _description = "SMS Poll"
    _order = "id desc"

    name = fields.Char("Question", required=True)
    mailing_id = fields.Many2one("mailing.mailing", "SMS Mailing", required=True, ondelete="cascade", index=True,
                                 domain="[('mailing_type', '=', 'sms')]")
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    answer_ids = fields.One2many("sms.poll.answer", "poll_id", string="Answers", copy=True)
    vote_ids = fields.One2many("sms.poll.vote", "poll_id", string="Vote Records", readonly=True)
    vote_count = fields.Integer("Votes", compute="_compute_vote_count")
    window_hours = fields.Integer(
        "Answers Accepted For (Hours)", default=72, required=True,
        help="A reply counts when it arrives within this time after the SMS was sent to that number.")
    vote_rule = fields.Selection(
        [("last", "Last answer wins"), ("first", "First answer counts")], required=True, default="last",
        help="A number votes once: a later answer replaces its vote (last wins) or is ignored (first counts).")

    _sql_constraints = [
        ("mailing_unique", "unique (mailing_id)", "A mailing asks one poll question."),
    ]

    def _compute_vote_count(self):
        counts = dict(self.env["sms.poll.vote"]._read_group([("poll_id", "in", self.ids)], ["poll_id"], ["__count"]))
        for poll in self:
            poll.vote_count = counts.get(poll, 0)

    @api.constrains("window_hours")
    def _check_window_hours(self):
        for poll in self:
            if not 1 <= poll.window_hours <= 24 * 90:
                raise ValidationError(_("A poll accepts answers for 1 hour to 90 days."))

    @api.constrains("answer_ids")
    def _check_answer_codes(self):
        for poll in self:
            codes = [answer.normalized for answer in poll.answer_ids]
            if len(codes) != len(set(codes)):
                raise ValidationError(_("Two answers of the poll “%s” have the same code.", poll.name))

    # ------------------------------------------------------------------
    # Votes (from the inbound processing, as superuser)
    # ------------------------------------------------------------------

    @api.model
    def _find_answer(self, company, number, text, received):
        """``(poll answer, mailing trace)`` of the newest poll of ``company`` sent to ``number`` whose answer codes
        ``text`` is and whose window (from that number's SMS) holds ``received``; empty records when none."""
        word = normalize_keyword(text) if isinstance(text, str) and len(text) <= 160 else ""
        Answer = self.env["sms.poll.answer"]
        if not word or not number:
            return Answer, self.env["mailing.trace"]
        answers = Answer.search([("poll_id.company_id", "=", company.id), ("normalized", "=", word)])
        for poll in answers.poll_id.sorted("id", reverse=True):
            trace = self.env["mailing.trace"].search([
                ("mass_mailing_id", "=", poll.mailing_id.id), ("sms_number", "=", number),
                ("trace_type", "=", "sms")], order="id", limit=1)
            if not trace:
                continue
            sent = trace.sent_datetime or trace.create_date
            if sent <= received <= sent + timedelta(hours=poll.window_hours):
                return answers.filtered(lambda answer, poll=poll: answer.poll_id == poll)[:1], trace
        return Answer, self.env["mailing.trace"]

    def _vote(self, answer, inbound, trace):
        """Count ``inbound`` as the vote of its number; returns the vote, or None when the rule ignores it."""
        self.ensure_one()
        Vote = self.env["sms.poll.vote"]
        vote = Vote.search([("poll_id", "=", self.id), ("number", "=", inbound.from_number)], limit=1)
        if vote:
            if self.vote_rule == "first" or vote.answer_id == answer:
                vote.ignored_count += 1
                return vote if vote.answer_id == answer else None
            vote.write({"answer_id": answer.id, "inbound_id": inbound.id, "vote_date": fields.Datetime.now(),
                        "change_count": vote.change_count + 1})
            return vote
        partner = inbound.partner_ids[:1]
        if not partner and trace.model == "res.partner":
            partner = partner.browse(trace.res_id)
        return Vote.create({
            "poll_id": self.id, "answer_id": answer.id, "number": inbound.from_number, "inbound_id": inbound.id,
            "trace_id": trace.id, "partner_id": partner.id,
        })

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_view_votes(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Votes: %s", self.name),
            "res_model": "sms.poll.vote",
            "view_mode": "graph,pivot,tree",
            "domain": [("poll_id", "=", self.id)],
            "context": {"create": False, "search_default_group_answer": 1},
        }

    def action_export_votes(self):
        self.ensure_one()
        return {"type": "ir.actions.act_url", "url": "/sms_africastalking/poll/%s/votes.csv" % self.id,
                "target": "download"}
