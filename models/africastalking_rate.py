from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class AfricasTalkingRate(models.Model):
    """Price of one SMS segment per destination, for the cost estimate.

    Africa's Talking publishes no rate API, so prices are kept here. A line matches a number by its
    ``prefix`` (e.g. ``+25470`` for one network) or, without prefix, by the country's calling code; the longest
    matching prefix wins. A number no line matches has no known cost: the estimate says so instead of guessing.
    """

    _name = "africastalking.rate"
    _description = "SMS Rate"
    _order = "country_id, prefix, id"

    country_id = fields.Many2one("res.country", required=True, ondelete="cascade")
    network = fields.Char(help="Mobile network this price applies to; empty: every network of the country.")
    prefix = fields.Char(
        "Number Prefix",
        help="E.164 prefix of the network's numbers, e.g. +25470. Empty: the country's calling code.",
    )
    price = fields.Float("Price per Segment", digits=(16, 4), required=True)
    currency = fields.Char(required=True, default="KES", help="ISO code of the currency AT bills in.")
    company_id = fields.Many2one("res.company", help="Empty: the rate applies to every company.")
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("price_positive", "CHECK(price >= 0)", "A price cannot be negative."),
    ]

    @api.constrains("prefix", "country_id")
    def _check_prefix(self):
        for rate in self:
            if not rate.prefix:
                continue
            code = "+%s" % (rate.country_id.phone_code or "")
            if (not rate.prefix[1:].isdigit() or not rate.prefix.startswith(code) or len(rate.prefix) > 10):
                raise ValidationError(_("The prefix %(prefix)s must start with +%(code)s (%(country)s).",
                                        prefix=rate.prefix, code=rate.country_id.phone_code,
                                        country=rate.country_id.name))

    @api.depends("country_id", "network", "price", "currency")
    def _compute_display_name(self):
        for rate in self:
            rate.display_name = "%s%s: %s %s" % (rate.country_id.name or "", " / %s" % rate.network if rate.network
                                                 else "", rate.currency or "", rate.price)

    @api.model
    def _get_rate_table(self, company=None):
        """``{prefix: (price, currency, country name)}`` for ``company``: company lines override shared ones."""
        company = company or self.env.company
        rates = self.sudo().search_fetch(
            [("company_id", "in", [False, company.id])], ["country_id", "prefix", "price", "currency", "company_id"],
            order="company_id desc, id",  # NULLs (shared lines) sort first in desc: company lines come last, win
        )
        table = {}
        for rate in rates:
            prefix = rate.prefix or ("+%s" % rate.country_id.phone_code if rate.country_id.phone_code else False)
            if prefix:
                table[prefix] = (rate.price, rate.currency, rate.country_id.name)
        return table

    @staticmethod
    def _match(table, number, cache):
        """The table entry of the longest prefix of ``number``, or None; ``cache`` memoises by number head."""
        head = number[:10]
        if head not in cache:
            cache[head] = next((table[head[:length]] for length in range(len(head), 1, -1) if head[:length] in table),
                               None)
        return cache[head]
