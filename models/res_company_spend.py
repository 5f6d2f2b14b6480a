from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    sms_fallback_rate = fields.Float(
        "Fallback SMS Rate", digits=(16, 4),
        help="Price per segment of destinations without a line in SMS Rates. Empty: SMS to such numbers are "
             "refused, since their cost cannot be checked against the balance and budgets.")
    sms_fallback_currency = fields.Char("Fallback Rate Currency", default="KES")

    _sql_constraints = [
        ("sms_fallback_rate_positive", "CHECK(sms_fallback_rate IS NULL OR sms_fallback_rate >= 0)",
         "The fallback SMS rate cannot be negative."),
    ]
