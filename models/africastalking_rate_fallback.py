from odoo import api, models

# Country calling codes start with 1 to 9: one prefix per digit matches every E.164 number, and any real rate line
# (a longer prefix) wins over them.
FALLBACK_PREFIXES = ["+%d" % digit for digit in range(1, 10)]


class AfricasTalkingRate(models.Model):
    _inherit = "africastalking.rate"

    @api.model
    def _get_rate_table(self, company=None):
        """The company's fallback rate (Settings › SMS) prices destinations no line matches; without one they stay
        unpriced, and the ledger refuses to send to them."""
        table = super()._get_rate_table(company)
        company = company or self.env.company
        if company.sms_fallback_rate:
            currency = company.sms_fallback_currency or next(iter(table.values()), (0, "KES"))[1]
            for prefix in FALLBACK_PREFIXES:
                table.setdefault(prefix, (company.sms_fallback_rate, currency, "Fallback rate"))
        return table
