from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.client_actions import notification
from .sql_one2many import SqlGroupedOne2many


class ResPartner(models.Model):
    _inherit = "res.partner"

    sms_no_mailing = fields.Boolean(
        "Do Not SMS for Mailings",
        help="SMS mailings skip this contact (and any mailing contact with the same number) and count it as "
        "excluded; single SMS can still be sent.",
    )
    # SMS Marketing users only: the log is theirs, and a contact form must open for every internal user.
    # Its lines are grouped in SQL: a parent's form opens with 100,000 messages in the tab (sql_one2many.py).
    africastalking_message_ids = SqlGroupedOne2many("africastalking.message", "partner_id", string="Sent SMS",
                                                    readonly=True, groups="mass_mailing.group_mass_mailing_user")
    africastalking_message_count = fields.Integer("Sent SMS Count", compute="_compute_africastalking_message_count",
                                                  groups="mass_mailing.group_mass_mailing_user")
    guardian_ids = fields.Many2many(
        "res.partner", "res_partner_guardian_rel", "ward_id", "guardian_id", string="Guardians",
        help="Parents or guardians of this person: SMS composers and SMS mailings can write to them instead.",
    )
    ward_ids = fields.Many2many(
        "res.partner", "res_partner_guardian_rel", "guardian_id", "ward_id", string="Guardian Of",
    )

    def _compute_africastalking_message_count(self):
        counts = dict(self.env["africastalking.message"]._read_group(
            [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]))
        for partner in self:
            partner.africastalking_message_count = counts.get(partner, 0)

    @api.model
    def _sms_no_mailing_numbers(self):
        """Sanitized numbers of the contacts flagged "do not SMS for mailings" (a short list)."""
        partners = self.sudo().with_context(active_test=False).search_fetch(
            [("sms_no_mailing", "=", True), ("phone_sanitized", "!=", False)], ["phone_sanitized"])
        return set(partners.mapped("phone_sanitized"))

    def action_africastalking_send_sms(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Send SMS"),
            "res_model": "sms.composer",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_res_model": "res.partner", "default_res_id": self.id,
                        "default_composition_mode": "comment"},
        }

    def action_africastalking_sms_cost(self):
        """Price of one single-segment SMS to this contact, from the rate table."""
        self.ensure_one()
        self.check_access_rights("read")
        self.check_access_rule("read")
        number = self.phone_sanitized
        if not number:
            return self._sms_notify(_("%s has no valid mobile number.", self.display_name), "warning")
        rate_model = self.env["africastalking.rate"]
        rate = rate_model._match(rate_model._get_rate_table(self.env.company), number, {})
        if rate is None:
            message = _("%(number)s: cost not available for this destination.", number=number)
        else:
            message = _("An SMS to %(number)s (%(country)s) costs %(currency)s %(price).2f per segment "
                        "(160 plain characters, or 70 with emoji or non-Latin letters).",
                        number=number, country=rate[2], currency=rate[1], price=rate[0])
        return self._sms_notify(message, "info")

    @staticmethod
    def _sms_notify(message, kind):
        return notification(message, kind, title=_("SMS cost"))

    @api.constrains("guardian_ids")
    def _check_guardian_ids(self):
        for partner in self:
            if partner in partner.guardian_ids:
                raise ValidationError(_("A person cannot be their own guardian."))

    def _sms_guardians(self):
        """Guardians of these people who can receive SMS mailings: a valid mobile, not opted out."""
        return self.guardian_ids.filtered(lambda g: g.phone_sanitized and not g.phone_sanitized_blacklisted)
