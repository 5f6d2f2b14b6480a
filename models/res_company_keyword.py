from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    sms_double_opt_in = fields.Boolean(
        "SMS Double Opt-in",
        help="Keyword joins count only once the number answers YES (or NDIO) to a confirmation SMS, for every "
        "keyword of the company (a keyword can also ask for it alone).",
    )
    sms_double_opt_in_hours = fields.Integer(
        "Confirmation Window (Hours)", default=24,
        help="A YES later than this after the join request confirms nothing: the number must send the keyword again.",
    )

    @api.constrains("sms_double_opt_in_hours")
    def _check_sms_double_opt_in_hours(self):
        for company in self:
            if not 1 <= company.sms_double_opt_in_hours <= 24 * 30:
                raise ValidationError(_("The confirmation window of a double opt-in lies between 1 hour and 30 days."))
