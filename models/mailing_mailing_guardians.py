"""Guardians: an SMS mailing on people (e.g. the students of a class) sent to their parents / guardians."""
from odoo import api, fields, models


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    sms_target_guardians = fields.Boolean(
        "Send to Their Guardians",
        help="The filter selects people (e.g. students of a class); the SMS goes to their parents / guardians.",
    )
    sms_guardian_valid_count = fields.Integer(
        "Guardians Reachable", compute="_compute_sms_guardian_valid_count",
        help="Guardians of the selected people having a valid mobile number and not opted out.",
    )

    @api.depends("sms_target_guardians", "mailing_domain", "mailing_model_real")
    def _compute_sms_guardian_valid_count(self):
        for mailing in self:
            mailing.sms_guardian_valid_count = (
                len(mailing._sms_guardians_of(mailing._sms_selected_people())) if mailing._sms_targets_guardians()
                else 0
            )

    def _sms_targets_guardians(self):
        self.ensure_one()
        return self.mailing_type == "sms" and self.sms_target_guardians and self.mailing_model_real == "res.partner"

    def _sms_selected_people(self):
        return self.env["res.partner"].search(self._parse_mailing_domain())

    @api.model
    def _sms_guardians_of(self, people):
        return people._sms_guardians().sorted("id")

    def _compute_total(self):  # pylint: disable=missing-return
        super()._compute_total()
        for mailing in self.filtered(lambda m: m._sms_targets_guardians()):
            mailing.total = len(mailing._sms_guardians_of(mailing._sms_selected_people()))

    def _get_recipients(self):
        res_ids = super()._get_recipients()
        if not self._sms_targets_guardians():
            return res_ids
        # Traces, "remaining recipients" and statistics are then kept on the guardians, the real recipients.
        return self._sms_guardians_of(self.env["res.partner"].browse(res_ids)).ids
