from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

# Fields whose change makes an approval (or a refusal) obsolete: the approver judged this audience and this text.
APPROVAL_RESET_FIELDS = {"body_plaintext", "contact_list_ids", "mailing_domain", "mailing_model_id",
                         "sms_target_guardians", "ab_testing_enabled", "ab_testing_pc"}
# Written by the approval flow only (with sudo): a user writing them over RPC would approve their own mailing.
APPROVAL_FIELDS = {"sms_approval_state", "sms_approval_team_ids", "sms_approval_reason", "sms_approval_requested_by",
                   "sms_approval_requested_date", "sms_approval_user_id", "sms_approval_date", "sms_approval_note"}
# States in which a mailing leaves (now or at its schedule) without anyone clicking again.
LEAVING_STATES = ("in_queue", "sending")


class MailingMailing(models.Model):
    """Approval of big SMS mailings, per team.

    A mailing whose recipients or estimated cost exceed a threshold of its team (the teams owning its lists, or
    else its responsible's teams) does not go to the queue on *Send* / *Schedule*: it waits in *To Approve* until an
    approver of one of those teams, or an SMS manager, approves it (it then leaves as planned, schedule kept) or
    refuses it with a note (back to draft). Nobody but an SMS manager approves their own mailing.

    The gate sits in ``write``: stock and this addon reach the queue by writing ``state = 'in_queue'`` from several
    places (Send, the Schedule wizard, Send Now outside the send window); ``action_send_sms`` gates the direct Send
    Now.
    """

    _inherit = "mailing.mailing"

    state = fields.Selection(selection_add=[("to_approve", "To Approve"), ("in_queue",)],
                             ondelete={"to_approve": "set default"})
    sms_approval_state = fields.Selection(
        [("pending", "Waiting for Approval"), ("approved", "Approved"), ("refused", "Refused")],
        "Approval", copy=False, readonly=True, tracking=True)
    sms_approval_team_ids = fields.Many2many(
        "sms.team", "mailing_mailing_sms_approval_team_rel", "mailing_id", "team_id", string="Approval Teams",
        copy=False, readonly=True, help="Teams whose threshold this mailing exceeded when it was sent for approval.")
    sms_approval_reason = fields.Text("Why Approval", copy=False, readonly=True)
    sms_approval_requested_by = fields.Many2one("res.users", "Approval Requested By", copy=False, readonly=True)
    sms_approval_requested_date = fields.Datetime("Approval Requested On", copy=False, readonly=True)
    sms_approval_user_id = fields.Many2one("res.users", "Approved or Refused By", copy=False, readonly=True)
    sms_approval_date = fields.Datetime("Approved or Refused On", copy=False, readonly=True)
    sms_approval_note = fields.Text("Approval Note", copy=False, readonly=True)
    sms_can_approve = fields.Boolean("Can Approve", compute="_compute_sms_can_approve")

    @api.depends_context("uid")
    @api.depends("state", "sms_approval_team_ids", "sms_approval_requested_by")
    def _compute_sms_can_approve(self):
        for mailing in self:
            mailing.sms_can_approve = mailing.state == "to_approve" and not mailing._sms_approval_refusal()

    # ------------------------------------------------------------------
    # Which teams, which thresholds
    # ------------------------------------------------------------------

    def _sms_teams(self):
        """The teams a mailing speaks for: those owning its lists, else its responsible's (sudo: a member may not see
        every team, yet its thresholds apply)."""
        self.ensure_one()
        teams = self.sudo().contact_list_ids.sms_team_ids
        if not teams:
            user = self.user_id or self.env.user
            teams = self.env["sms.team"].sudo().search([("member_ids", "in", user.ids)])
        return teams.filtered("active")

    def _sms_approval_needed(self):
        """(teams whose threshold the mailing exceeds, why) from its stored estimate; (no teams, "") when none."""
        self.ensure_one()
        if self.mailing_type != "sms":
            return self.env["sms.team"], ""
        teams = self._sms_teams().filtered(
            lambda team: team.approval_recipients_threshold or team.approval_cost_threshold)
        if not teams:
            return teams, ""
        if not self.sms_estimate_date or self.sms_estimate_approximate:
            # The form's estimate samples big audiences: a threshold is judged on the exact count.
            self.sudo().write(self._sms_estimate_values(self._get_sms_cost_estimate()))
        recipients, cost, currency = self.sms_estimate_recipients, self.sms_estimate_cost, self.sms_estimate_currency
        exceeded, reasons = self.env["sms.team"], []
        for team in teams:
            if team.approval_recipients_threshold and recipients > team.approval_recipients_threshold:
                exceeded |= team
                reasons.append(_("%(count)s recipients, above the %(limit)s of %(team)s",
                                 count=recipients, limit=team.approval_recipients_threshold, team=team.name))
            if team.approval_cost_threshold and cost > team.approval_cost_threshold:
                exceeded |= team
                reasons.append(_("about %(currency)s %(cost).2f, above the %(currency)s %(limit).2f of %(team)s",
                                 currency=currency or "", cost=cost, limit=team.approval_cost_threshold,
                                 team=team.name))
        return exceeded, "; ".join(reasons)

    def _sms_approval_refusal(self, user=None):
        """Why ``user`` may not approve or refuse this mailing, or False when they may."""
        self.ensure_one()
        user = user or self.env.user
        if user.has_group("sms_africastalking.group_sms_manager"):
            return False
        if user in (self.sms_approval_requested_by | self.user_id):
            return _("You cannot approve or refuse your own mailing: another approver of the team must.")
        if user not in self.sudo().sms_approval_team_ids._sms_approvers():
            return _("Only an approver of %s or an SMS manager may approve or refuse this mailing.",
                     ", ".join(self.sudo().sms_approval_team_ids.mapped("name")) or _("its team"))
        return False

    # ------------------------------------------------------------------
    # The gate
    # ------------------------------------------------------------------

    def write(self, vals):
        if not self.env.su and APPROVAL_FIELDS.intersection(vals):
            raise AccessError(_("Only an approver's decision sets the approval of a mailing."))
        if vals.get("state") == "draft":  # cancelled or refused: a pending request is withdrawn
            pending = self.filtered(lambda mailing: mailing.sms_approval_state == "pending")
            if pending:
                super(MailingMailing, pending).write({"sms_approval_state": False})
        changed = self.env["mailing.mailing"]
        if APPROVAL_RESET_FIELDS.intersection(vals) and not self.env.context.get("sms_approval_keep"):
            # Changed after an approval or refusal: judged again (an approved mailing still in the queue waits again
            # if it still needs approval: the approver did not see this text or audience).
            changed = self.filtered(lambda mailing: mailing.sms_approval_state in ("approved", "refused"))
            if changed:
                super(MailingMailing, changed).write({"sms_approval_state": False})
        if vals.get("state") in LEAVING_STATES:
            waiting = self.filtered(lambda mailing: mailing.state in ("draft", "to_approve"))
        else:
            waiting = changed.filtered(lambda mailing: mailing.state == "in_queue")
        waiting = waiting.filtered(lambda mailing: mailing.sms_approval_state != "approved")
        if not waiting:
            return super().write(vals)
        result = super().write(vals)
        # After the write: the audience or text just written is what is judged.
        waiting = waiting.filtered(lambda mailing: mailing._sms_approval_needed()[0])
        if waiting:
            super(MailingMailing, waiting).write({"state": "to_approve"})
            waiting._sms_request_approval()
        return result

    def action_send_sms(self, res_ids=None):
        """Send Now (and the queue's own call): a mailing that needs an approval it does not have waits for it."""
        blocked = self.filtered(lambda mailing: mailing.state == "to_approve")
        waiting = (self - blocked).filtered(
            lambda mailing: mailing.state == "draft" and mailing.sms_approval_state != "approved"
            and mailing._sms_approval_needed()[0])
        if waiting:
            waiting._sms_check_write_access()
            waiting.write({"state": "to_approve"})  # the write gate requests the approval
        if not self - blocked - waiting:
            return True
        return super(MailingMailing, self - blocked - waiting).action_send_sms(res_ids=res_ids)

    def _sms_request_approval(self):
        for mailing in self:
            teams, reason = mailing._sms_approval_needed()
            mailing.sudo().with_context(sms_approval_keep=True).write({
                "sms_approval_state": "pending",
                "sms_approval_team_ids": [fields.Command.set(teams.ids)],
                "sms_approval_reason": reason,
                "sms_approval_requested_by": self.env.uid,
                "sms_approval_requested_date": fields.Datetime.now(),
                "sms_approval_user_id": False, "sms_approval_date": False, "sms_approval_note": False,
            })
            mailing._message_log(body=Markup("<p>%s</p><p>%s</p>") % (
                _("Waiting for approval: %s.", reason),
                _("Approvers: %s, or an SMS manager.", ", ".join(teams._sms_approvers().mapped("name")) or "-")))
            mailing.sudo()._sms_schedule_approval_activities(teams)

    def _sms_schedule_approval_activities(self, teams):
        """A to-do for each approver, so the request is seen (no activity for the requester themself)."""
        self.ensure_one()
        for approver in teams._sms_approvers() - self.env.user:
            self.activity_schedule(
                "mail.mail_activity_data_todo", user_id=approver.id,
                summary=_("Approve SMS mailing"), note=self.sms_approval_reason)

    # ------------------------------------------------------------------
    # Decisions (called by the wizard sms.mailing.approval)
    # ------------------------------------------------------------------

    def _sms_check_can_decide(self):
        self.ensure_one()
        self.check_access_rights("read")
        self.check_access_rule("read")
        if self.state != "to_approve":
            raise UserError(_("The mailing %s is not waiting for approval.", self.subject))
        refusal = self._sms_approval_refusal()
        if refusal:
            raise AccessError(refusal)

    def _sms_approve(self, note=False):
        """Approve: the mailing goes on as planned (now, or at its schedule)."""
        self._sms_check_can_decide()
        self._sms_record_decision("approved", note)
        mailing = self.sudo()
        mailing.write({"state": "in_queue"})
        self.env.ref("mass_mailing.ir_cron_mass_mailing_queue")._trigger(mailing.schedule_date or fields.Datetime.now())
        self._message_log(body=_("Approved by %(user)s: %(note)s", user=self.env.user.name, note=note or "-"))

    def _sms_refuse(self, note):
        """Refuse: back to draft, the note tells the author why."""
        if not (note or "").strip():
            raise UserError(_("Say why the mailing is refused: the note goes to its author."))
        self._sms_check_can_decide()
        self._sms_record_decision("refused", note)
        self.sudo().write({"state": "draft"})
        self._message_log(body=_("Refused by %(user)s: %(note)s", user=self.env.user.name, note=note))

    def _sms_record_decision(self, decision, note):
        self.sudo().with_context(sms_approval_keep=True).write({
            "sms_approval_state": decision, "sms_approval_user_id": self.env.uid,
            "sms_approval_date": fields.Datetime.now(), "sms_approval_note": note or False,
        })
        self.sudo().activity_unlink(["mail.mail_activity_data_todo"])

    def action_sms_approve(self):
        return self._sms_action_open_approval("approve")

    def action_sms_refuse(self):
        return self._sms_action_open_approval("refuse")

    def _sms_action_open_approval(self, decision):
        self._sms_check_can_decide()
        return {
            "type": "ir.actions.act_window",
            "name": _("Approve Mailing") if decision == "approve" else _("Refuse Mailing"),
            "res_model": "sms.mailing.approval",
            "view_mode": "form",
            "target": "new",
            "context": {"default_mailing_id": self.id, "default_decision": decision},
        }
