from ast import literal_eval

from odoo import _, api, fields, models
from odoo.exceptions import UserError


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    sms_target_guardians = fields.Boolean(
        "Send to Their Guardians",
        help="Send the text to the parents / guardians of the selected people instead of to the people themselves.",
    )
    sms_guardian_count = fields.Integer("Guardians", compute="_compute_sms_guardian_counts")
    sms_guardian_valid_count = fields.Integer("Guardians Reachable", compute="_compute_sms_guardian_counts")
    sms_can_target_guardians = fields.Boolean(compute="_compute_sms_guardian_counts")

    @api.depends("res_model", "res_id", "res_ids", "sms_target_guardians")
    def _compute_sms_guardian_counts(self):
        for composer in self:
            composer.sms_can_target_guardians = composer.res_model == "res.partner"
            people = composer._sms_selected_partners()
            composer.sms_guardian_count = len(people.guardian_ids)
            composer.sms_guardian_valid_count = len(people._sms_guardians())

    def _sms_selected_partners(self):
        self.ensure_one()
        if self.res_model != "res.partner":
            return self.env["res.partner"]
        if self.res_ids:
            return self.env["res.partner"].browse(literal_eval(self.res_ids)).exists()
        return self.env["res.partner"].browse(self.res_id).exists() if self.res_id else self.env["res.partner"]

    def action_send_sms(self):
        if self.sms_target_guardians and self.composition_mode != "numbers":
            self._action_send_sms()
            return False
        return super().action_send_sms()

    def _action_send_sms(self):
        if not (self.sms_target_guardians and self.composition_mode != "numbers"):
            return super()._action_send_sms()
        guardians = self._sms_selected_partners()._sms_guardians()
        if not guardians:
            raise UserError(_("None of the selected people has a guardian with a valid, opted-in mobile number."))
        # One SMS per guardian, rendered on the guardian ("Dear {{ object.name }}") and logged on their chatter.
        self.mass_keep_log = True
        return self._action_send_sms_mass(guardians)
