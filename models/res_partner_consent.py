from odoo import fields, models

from .sms_consent import export_consent_action


class ResPartner(models.Model):
    """The consent history of a contact's numbers (sms.consent, by number): a smart button and a CSV export."""

    _inherit = "res.partner"

    sms_consent_count = fields.Integer("Consent Records", compute="_compute_sms_consent_count",
                                       groups="mass_mailing.group_mass_mailing_user")

    def _sms_consent_numbers(self):
        self.ensure_one()
        numbers = {self.phone_sanitized}
        for number in (self.mobile, self.phone):
            if number:
                numbers.add(self._phone_format(number=number))
        return sorted(number for number in numbers if number)

    def _compute_sms_consent_count(self):
        Consent = self.env["sms.consent"]
        for partner in self:
            numbers = partner._sms_consent_numbers() if partner.id else []
            partner.sms_consent_count = Consent.search_count(Consent._history_domain(numbers)) if numbers else 0

    def action_view_sms_consent(self):
        self.ensure_one()
        return self.env["sms.consent"]._action_history(self._sms_consent_numbers(), self.display_name)

    def action_export_sms_consent(self):
        self.ensure_one()
        return export_consent_action(self._sms_consent_numbers())
