from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class SmsTeam(models.Model):
    """A department or group that sends SMS in its own name (e.g. ICT Office, Marketing Club).

    A team owns mailing lists: its members see and message those lists (lists owned by no team stay visible to
    every marketing user, see security/sms_team_security.xml). Mailings above a team's thresholds wait for one of
    its approvers before they are queued (models/mailing_mailing_approval.py).
    """

    _name = "sms.team"
    _description = "SMS Team"
    _inherit = ["mail.thread"]
    _order = "name, id"

    name = fields.Char(required=True, tracking=True, help="Department or group, e.g. ICT Office")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    member_ids = fields.Many2many(
        "res.users", "sms_team_member_rel", "team_id", "user_id", string="Members",
        domain=[("share", "=", False)],
        help="Users who message the team's lists; a marketing user sees only the lists of their teams.",
    )
    manager_id = fields.Many2one(
        "res.users", "Team Manager", domain=[("share", "=", False)], tracking=True,
        help="Leads the team; approves its mailings, like the approvers.",
    )
    approver_ids = fields.Many2many(
        "res.users", "sms_team_approver_rel", "team_id", "user_id", string="Approvers",
        domain=[("share", "=", False)],
        help="Users who approve or refuse the team's mailings above a threshold. SMS managers always may.",
    )
    mailing_list_ids = fields.Many2many(
        "mailing.list", "sms_team_mailing_list_rel", "team_id", "list_id", string="Mailing Lists",
        help="Lists the team owns: only its members (and SMS managers) see and message them.",
    )
    approval_recipients_threshold = fields.Integer(
        "Approval Above Recipients", tracking=True,
        help="A mailing of the team to more recipients than this waits for approval. 0: no approval needed.",
    )
    approval_cost_threshold = fields.Float(
        "Approval Above Cost", digits=(16, 2), tracking=True,
        help="A mailing of the team estimated to cost more than this (in the estimate's currency) waits for "
             "approval. 0: no approval needed.",
    )
    member_count = fields.Integer("Members Count", compute="_compute_counts")
    mailing_list_count = fields.Integer("List Count", compute="_compute_counts")

    _sql_constraints = [
        ("approval_recipients_threshold_positive", "CHECK(approval_recipients_threshold >= 0)",
         "The recipients threshold cannot be negative (0 means no approval needed)."),
        ("approval_cost_threshold_positive", "CHECK(approval_cost_threshold >= 0)",
         "The cost threshold cannot be negative (0 means no approval needed)."),
    ]

    @api.depends("member_ids", "mailing_list_ids")
    def _compute_counts(self):
        for team in self:
            team.member_count = len(team.member_ids)
            team.mailing_list_count = len(team.mailing_list_ids)

    @api.constrains("company_id", "mailing_list_ids", "member_ids", "manager_id", "approver_ids")
    def _check_team_company(self):
        for team in self:
            users = team.member_ids | team.manager_id | team.approver_ids
            if any(team.company_id not in user.company_ids for user in users):
                raise ValidationError(_(
                    "Every member and approver of the team %(team)s must have access to its company %(company)s.",
                    team=team.name, company=team.company_id.name))
            # mailing.list has no company in stock: a list is the company's when its teams are.
            other = team.mailing_list_ids.sms_team_ids.company_id - team.company_id
            if other:
                raise ValidationError(_(
                    "The list(s) of the team %(team)s are owned by teams of another company (%(company)s).",
                    team=team.name, company=", ".join(other.mapped("name"))))

    def _sms_approvers(self):
        """Users who may approve the teams' mailings (besides SMS managers)."""
        return self.manager_id | self.approver_ids
