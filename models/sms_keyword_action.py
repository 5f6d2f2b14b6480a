import logging

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

_logger = logging.getLogger(__name__)

ACTION_TYPES = [
    ("list_join", "Join a mailing list"),
    ("list_leave", "Leave a mailing list"),
    ("reply", "Auto-reply"),
    ("assign", "Assign the conversation"),
    ("activity", "Create an activity"),
    ("email", "Forward to an email"),
]


class SmsKeywordAction(models.Model):
    """One thing Odoo does when a keyword arrives; a keyword runs its actions in sequence."""

    _name = "sms.keyword.action"
    _description = "SMS Keyword Action"
    _order = "sequence, id"

    keyword_id = fields.Many2one("sms.keyword", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="keyword_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    action_type = fields.Selection(ACTION_TYPES, "Action", required=True, default="reply")
    mailing_list_id = fields.Many2one("mailing.list", ondelete="restrict")
    reply_en = fields.Text("Reply (English)")
    reply_sw = fields.Text("Reply (Swahili)")
    user_id = fields.Many2one("res.users", ondelete="restrict",
                              help="Assign the conversation to / create the activity for this user.")
    activity_type_id = fields.Many2one("mail.activity.type", ondelete="restrict")
    activity_summary = fields.Char()
    email_to = fields.Char("Forward To", help="Email address(es) that receive the SMS, comma-separated.")

    @api.depends("action_type", "mailing_list_id", "user_id", "email_to")
    def _compute_display_name(self):
        labels = dict(self._fields["action_type"]._description_selection(self.env))
        for action in self:
            target = action.mailing_list_id.name or action.user_id.name or action.email_to
            label = labels.get(action.action_type, "")
            action.display_name = "%s: %s" % (label, target) if target else label

    @api.model_create_multi
    def create(self, vals_list):
        actions = super().create(vals_list)
        actions.mailing_list_id._sms_check_keyword_target()
        return actions

    def write(self, vals):
        result = super().write(vals)
        if vals.get("mailing_list_id"):
            self.mailing_list_id._sms_check_keyword_target()
        return result

    @api.constrains("action_type", "mailing_list_id", "reply_en", "reply_sw", "user_id", "email_to")
    def _check_action_values(self):
        for action in self:
            kind = action.action_type
            if kind in ("list_join", "list_leave") and not action.mailing_list_id:
                raise ValidationError(_("Choose the mailing list the keyword joins or leaves."))
            if kind == "reply" and not (action.reply_en or "").strip() and not (action.reply_sw or "").strip():
                raise ValidationError(_("Write the auto-reply in English, Swahili or both."))
            if kind in ("assign", "activity") and not action.user_id:
                raise ValidationError(_("Choose the user of the action “%s”.",
                                        dict(self._fields["action_type"]._description_selection(self.env))[kind]))
            if kind == "email" and not (action.email_to or "").strip():
                raise ValidationError(_("Enter the email address the SMS is forwarded to."))

    # ------------------------------------------------------------------
    # Running (as superuser, from the inbound callback)
    # ------------------------------------------------------------------

    def _run(self, inbound):
        """Run these actions for ``inbound`` (an africastalking.inbound that matched their keyword)."""
        for action in self:
            getattr(action, "_run_%s" % action.action_type)(inbound)

    def _run_list_join(self, inbound):
        keyword = self.keyword_id
        if keyword._double_opt_in_required():
            inbound._request_confirmation(self.mailing_list_id, keyword)
        else:
            inbound._subscribe_to_list(self.mailing_list_id)

    def _run_list_leave(self, inbound):
        inbound._unsubscribe_from_list(self.mailing_list_id)

    def _run_reply(self, inbound):
        inbound._send_bilingual_reply(self.reply_en, self.reply_sw)

    def _run_assign(self, inbound):
        conversation = inbound._sms_conversation()
        if not conversation:
            _logger.info("Keyword %s: no conversation to assign for inbound SMS %s", self.keyword_id.id, inbound.id)
            return
        conversation._assign(user=self.user_id)

    def _run_activity(self, inbound):
        record = inbound._sms_activity_target()
        if not record:
            _logger.info("Keyword %s: no contact or conversation to attach an activity to (inbound SMS %s)",
                         self.keyword_id.id, inbound.id)
            return
        record.activity_schedule(
            activity_type_id=self.activity_type_id.id or self.env.ref("mail.mail_activity_data_todo").id,
            summary=self.activity_summary or _("SMS %(word)s from %(number)s",
                                               word=self.keyword_id.name, number=inbound.from_number),
            note=Markup("<p>%s</p>") % (inbound.text or ""),
            user_id=self.user_id.id,
        )

    def _run_email(self, inbound):
        company = inbound.company_id
        body = Markup("<p>%s</p><p>%s</p>") % (
            _("SMS received from %(number)s on %(to)s:", number=inbound.from_number, to=inbound.to_number or "-"),
            inbound.text or "")
        self.env["mail.mail"].create({
            "subject": _("SMS %(word)s from %(number)s", word=self.keyword_id.name, number=inbound.from_number),
            "email_from": company.email_formatted or company.partner_id.email_formatted or False,
            "email_to": self.email_to,
            "body_html": body,
            "auto_delete": True,
        })
