from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class MailingList(models.Model):
    _inherit = "mailing.list"

    # Owning teams: only their members (and SMS managers) see and message the list; no team = everyone's list.
    sms_team_ids = fields.Many2many(
        "sms.team", "sms_team_mailing_list_rel", "list_id", "team_id", string="SMS Teams",
        help="Teams owning this list: only their members and SMS managers see and message it. "
             "A list owned by no team is visible to every marketing user.",
    )

    def _mailing_get_opt_out_list_sms(self, mailing):
        # No super(): stock reads every subscription of the lists as records (same rule, seconds per 100,000).
        """Stock's rule (opted out of one of the lists and opted in to none of them) in one query.

        Stock loads every subscription of the lists as records and compares them in Python: a second or more per
        hundred thousand contacts, paid again by the estimate and by each preparation.
        """
        list_ids = self.ids or mailing.contact_list_ids.ids
        if not list_ids:
            return []
        self.env["mailing.subscription"].flush_model(["contact_id", "list_id", "opt_out"])
        self.env.cr.execute(
            """
            SELECT contact_id FROM mailing_subscription
             WHERE list_id = ANY(%s)
          GROUP BY contact_id
            HAVING bool_or(COALESCE(opt_out, false)) AND NOT bool_or(NOT COALESCE(opt_out, false))
            """,
            (list_ids,),
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model_create_multi
    def create(self, vals_list):
        lists = super().create(vals_list)
        if any("sms_team_ids" in vals for vals in vals_list):
            lists._sms_check_team_change({})
        return lists

    def write(self, vals):
        if "sms_team_ids" not in vals:
            return super().write(vals)
        before = {mailing_list: mailing_list.sms_team_ids for mailing_list in self}
        result = super().write(vals)
        self._sms_check_team_change(before)
        return result

    def _sms_check_team_change(self, teams_before):
        """Only SMS managers hand lists to other teams or make a team's list everyone's.

        A member may give a list to, or take it from, their own teams only, and may not leave a team's list with no
        team (that would show it, and its contacts, to every marketing user).
        """
        if self.env.su or self.env.user.has_group("sms_africastalking.group_sms_manager"):
            return
        for mailing_list in self:
            before = teams_before.get(mailing_list, self.env["sms.team"])
            after = mailing_list.sms_team_ids
            changed = (before - after) | (after - before)
            foreign = changed.sudo().filtered(lambda team: self.env.user not in team.member_ids)
            if foreign:
                raise AccessError(_(
                    "Only an SMS manager may give a list to, or take it from, a team you are not a member of (%s).",
                    ", ".join(foreign.mapped("name"))))
            if before and not after:
                raise AccessError(_(
                    "Only an SMS manager may make the list %s visible to everyone (owned by no team).",
                    mailing_list.name))

    def _sms_check_keyword_target(self):
        """A keyword (run as the system for any sender) joins, leaves or subscribes only lists its author sees:
        otherwise a member of one team could fill or empty another team's list by SMS."""
        if self.env.su or not self:
            return
        self.check_access_rights("read")
        self.check_access_rule("read")
