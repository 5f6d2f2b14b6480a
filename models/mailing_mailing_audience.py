from odoo import SUPERUSER_ID, _, api, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression

from .mailing_mailing_approval import LEAVING_STATES

SMS_MANAGER_GROUP = "sms_africastalking.group_sms_manager"
# Fields that choose who a mailing reaches
AUDIENCE_FIELDS = {"mailing_domain", "mailing_model_id", "contact_list_ids", "sms_target_guardians"}


class MailingMailing(models.Model):
    """An SMS mailing reaches only the records the user who sent it may read.

    A mailing that targets contacts (or partners...) by a filter instead of by lists would otherwise reach the
    contacts of another team's lists: the mass-mailing cron resolves the recipients as superuser. So the filter is
    evaluated with the record rules of the user who launched the mailing (``sms_launched_by_id``, else its creator),
    unless that user is an SMS manager: for mailing contacts, those on no list, on a list of no team or on a list of
    their teams (security/sms_team_security.xml). Sending such a mailing is refused with the count of records out
    of reach (``_sms_check_audience``); the preparation applies the same rules again when it resolves the
    recipients (lists change between Send and the cron), as a condition of its recipients query.
    """

    _inherit = "mailing.mailing"

    @api.model_create_multi
    def create(self, vals_list):
        mailings = super().create(vals_list)
        if not self.env.su:
            leaving = mailings.filtered(lambda mailing: mailing.state in LEAVING_STATES)
            leaving._sms_remember_launcher()
            leaving._sms_check_audience()
        return mailings

    def write(self, vals):
        if self.env.su:
            return super().write(vals)
        if "sms_launched_by_id" in vals:
            # Whose rights (and budgets) a mailing is sent with is not for its editors to choose.
            raise AccessError(_("Only sending a mailing sets who launched it."))
        if vals.get("state") in LEAVING_STATES:
            checked = self
        elif AUDIENCE_FIELDS.intersection(vals):
            checked = self.filtered(lambda mailing: mailing.state in LEAVING_STATES)
        else:
            return super().write(vals)
        result = super().write(vals)
        # Whoever sends it, or changes the audience of a queued one, answers for its audience (an approval, written
        # with sudo, keeps the requester's).
        checked._sms_remember_launcher()
        checked._sms_check_audience()
        return result

    def action_send_sms(self, res_ids=None):
        if not self.env.su:  # Send Now; the cron (superuser) carries out the launcher's send
            self._sms_remember_launcher()
            self._sms_check_audience()
        return super().action_send_sms(res_ids=res_ids)

    # ------------------------------------------------------------------
    # The rules
    # ------------------------------------------------------------------

    def _sms_audience_user(self):
        """The user whose record rules bound the recipients, or an empty recordset when nothing bounds them."""
        self.ensure_one()
        mailing = self.sudo()
        user = mailing.sms_launched_by_id or mailing.create_uid
        if mailing.mailing_type != "sms" or not user or user.id == SUPERUSER_ID or user.has_group(SMS_MANAGER_GROUP):
            return self.env["res.users"]
        return user

    def _sms_recipient_model(self):
        """The target model with the rights of the audience user, when the mailing has one: the bulk preparation's
        recipients query then carries that user's record rules (in the companies of the request, or in all theirs
        in the cron)."""
        user = self._sms_audience_user()
        model = super()._sms_recipient_model()
        return model.with_user(user) if user else model

    def _sms_check_audience(self):
        """Refuse to send a mailing whose filter reaches records its sender may not read."""
        for mailing in self:
            user = mailing._sms_audience_user()
            if not user:
                continue
            domain = mailing._parse_mailing_domain()
            model = self.env[mailing.mailing_model_real].sudo()
            readable = model.with_user(user)._search(domain)
            out_of_reach = model.search_count(expression.AND([domain, [("id", "not in", readable)]]))
            if out_of_reach:
                raise UserError(_(
                    "The mailing %(mailing)s reaches %(count)s %(records)s that %(user)s may not message (e.g. "
                    "contacts of another team's mailing lists). Target the lists of your teams, narrow the filter, "
                    "or ask an SMS manager to send it.",
                    mailing=mailing.subject or mailing.display_name, count=out_of_reach,
                    records=self.env["ir.model"]._get(mailing.mailing_model_real).name, user=user.name))

    def _get_recipients(self):
        # Stock's path (models the bulk preparation does not handle, A/B tests, guardians): the same rules.
        res_ids = super()._get_recipients()
        user = self._sms_audience_user()
        if not user or not res_ids:
            return res_ids
        readable = set(self.env[self.mailing_model_real].with_user(user)._search([("id", "in", res_ids)]))
        return [res_id for res_id in res_ids if res_id in readable]
