from odoo import _, fields, models


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    sms_poll_ids = fields.One2many("sms.poll", "mailing_id", string="Poll")
    sms_poll_vote_count = fields.Integer("Poll Votes", compute="_compute_sms_poll_vote_count")

    def _compute_sms_poll_vote_count(self):
        counts = dict(self.env["sms.poll.vote"]._read_group([("mailing_id", "in", self.ids)], ["mailing_id"],
                                                            ["__count"]))
        for mailing in self:
            mailing.sms_poll_vote_count = counts.get(mailing, 0)

    def action_open_sms_poll(self):
        """The mailing's poll, or a new one for it."""
        self.ensure_one()
        poll = self.sms_poll_ids[:1]
        return {
            "type": "ir.actions.act_window",
            "name": _("Poll"),
            "res_model": "sms.poll",
            "view_mode": "form",
            "res_id": poll.id,
            "context": {"default_mailing_id": self.id, "default_name": self.subject},
        }

    def action_view_sms_poll_votes(self):
        self.ensure_one()
        return self.sms_poll_ids[:1].action_view_votes()
