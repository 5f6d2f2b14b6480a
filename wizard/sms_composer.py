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
            self._sms_switch_to_guardians()
        return super().action_send_sms()

    def _sms_switch_to_guardians(self):
        """Turn this composer into a plain mass composer on the guardians of the selected people.

        Rendering ("Dear {{ object.name }}" is the guardian), blacklist, chatter log and any check of the mass send
        then apply to the guardians, the real recipients.
        """
        self.ensure_one()
        guardians = self._sms_selected_partners()._sms_guardians()
        if not guardians:
            raise UserError(_("None of the selected people has a guardian with a valid, opted-in mobile number."))
        self.write({
            "res_ids": repr(guardians.ids),
            "res_id": False,
            "composition_mode": "mass",
            "mass_keep_log": True,
            "sms_target_guardians": False,
        })
