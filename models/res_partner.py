from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ResPartner(models.Model):
    _inherit = "res.partner"

    guardian_ids = fields.Many2many(
        "res.partner", "res_partner_guardian_rel", "ward_id", "guardian_id", string="Guardians",
        help="Parents or guardians of this person: SMS composers and SMS mailings can write to them instead.",
    )
    ward_ids = fields.Many2many(
        "res.partner", "res_partner_guardian_rel", "guardian_id", "ward_id", string="Guardian Of",
    )

    @api.constrains("guardian_ids")
    def _check_guardian_ids(self):
        for partner in self:
            if partner in partner.guardian_ids:
                raise ValidationError(_("A person cannot be their own guardian."))

    def _sms_guardians(self):
        """Guardians of these people who can receive SMS mailings: a valid mobile, not opted out."""
        return self.guardian_ids.filtered(lambda g: g.phone_sanitized and not g.phone_sanitized_blacklisted)
