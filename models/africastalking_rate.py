from collections import defaultdict
from dataclasses import dataclass, field

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.misc import formatLang

from ..tools.segments import analyze

# Distinct texts whose segment count is kept while pricing (a broadcast has one, a personalised mailing many).
SEGMENTS_CACHE_SIZE = 10000


@dataclass
class SmsPricing:
    """Segments and cost of a set of texts (see AfricasTalkingRate._price_texts)."""

    segments: int = 0
    segments_min: int = 0
    segments_max: int = 0
    encodings: set = field(default_factory=set)
    cost_by_currency: dict = field(default_factory=lambda: defaultdict(float))
    unpriced_numbers: list = field(default_factory=list)
    table_currency: str | bool = False  # the rate table's currency, to name it even when nothing is priced

    @property
    def cost_available(self):
        return not self.unpriced_numbers and len(self.cost_by_currency) <= 1

    @property
    def currency(self):
        return next(iter(self.cost_by_currency), False)

    @property
    def cost(self):
        """The total in its one currency; None when a number has no rate or the rates mix currencies."""
        if not self.cost_available:
            return None
        return round(self.cost_by_currency[self.currency], 4) if self.currency else 0.0


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

    @api.model
    def _format_cost(self, amount, currency):
        """``KES 2.40``: AT's ISO code, a space, the amount in the user's number format (not ``KES2.40``)."""
        text = formatLang(self.env, amount or 0.0, digits=2)
        return "%s %s" % (currency, text) if currency else text

    @api.model
    def _price_texts(self, texts, company=None):
        """Price ``texts``, pairs of (E.164 number, text as it will leave): AT bills each text's segments at the
        rate of its number. One implementation for the mailing estimate, the credit gate and the SMS API."""
        table, match_cache, segments_cache = self._get_rate_table(company), {}, {}
        pricing = SmsPricing(table_currency=next(iter(table.values()))[1] if table else False)
        for index, (number, text) in enumerate(texts):
            info = segments_cache.get(text)
            if info is None:
                if len(segments_cache) >= SEGMENTS_CACHE_SIZE:
                    segments_cache.clear()  # personalised texts rarely repeat: keep memory bounded
                info = segments_cache[text] = analyze(text)
            pricing.segments_min = min(pricing.segments_min, info.segments) if index else info.segments
            pricing.segments_max = max(pricing.segments_max, info.segments)
            pricing.segments += info.segments
            pricing.encodings.add(info.encoding)
            rate = self._match(table, number or "", match_cache)
            if rate is None:
                pricing.unpriced_numbers.append(number)
            else:
                pricing.cost_by_currency[rate[1]] += rate[0] * info.segments
        return pricing
