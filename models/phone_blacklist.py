import logging

from markupsafe import escape

from odoo import api, fields, models

from ..tools.phone import normalize_number

_logger = logging.getLogger(__name__)


class PhoneBlacklist(models.Model):
    _inherit = "phone.blacklist"

    africastalking_block = fields.Selection(
        [
            ("network", "Blocked by the mobile network"),
            ("at_optout", "Opted out at Africa's Talking"),
            ("keyword", "Replied with a STOP keyword"),
            ("page", "Opted out on the unsubscribe page"),
        ],
        string="Opt-out Source",
        readonly=True,
        help="How the number was blocked. 'Blocked by the mobile network': Africa's Talking reported "
        "UserInBlacklist, the subscriber blocked promotional SMS at the operator (e.g. Safaricom *456*9*5#); "
        "removing the entry here does not lift the operator's block.",
    )
    africastalking_block_date = fields.Datetime("Opted Out On", readonly=True)

    @api.model
    def _africastalking_block(self, numbers, source, message=None):
        """Blacklist E.164 ``numbers`` and remember why; already active entries keep their first source.

        Numbers Odoo cannot format (a callback may carry any digits) are skipped and logged: ``phone.blacklist``
        would refuse them and roll back the whole batch of reports or the callback with them.
        """
        country_code = (self.env.user.country_id or self.env.company.country_id).code
        formatted = {number: normalize_number(number, country_code).e164 for number in dict.fromkeys(numbers)
                     if number}
        for number in [number for number, e164 in formatted.items() if not e164]:
            _logger.info("Not blacklisting %s: not a phone number Odoo can format", number)
        numbers = list(dict.fromkeys(e164 for e164 in formatted.values() if e164))
        if not numbers:
            return self.browse()
        already = self.search([("number", "in", numbers)])
        records = self._add_logged(numbers, message)
        (records - already).write({
            "africastalking_block": source,
            "africastalking_block_date": fields.Datetime.now(),
        })
        return records

    @api.model
    def _add_logged(self, numbers, message):
        """Stock's ``_add(numbers, message)``, the note on new entries logged in one batch: stock posts it entry by
        entry (a whole message_post each), and a batch of delivery reports may block hundreds of numbers."""
        if not message:
            return self._add(numbers)
        existing = self.with_context(active_test=False).search([("number", "in", numbers)])
        if existing:
            existing._track_set_log_message(message)
        records = self._add(numbers)
        new = records - existing
        if new:
            new._message_log_batch(bodies=dict.fromkeys(new.ids, escape(message)))
        return records

    @api.model
    def _africastalking_unblock(self, numbers, message=None):
        numbers = list(dict.fromkeys(number for number in numbers if number))
        if not numbers:
            return self.browse()
        records = self._remove(numbers, message=message)
        records.write({"africastalking_block": False, "africastalking_block_date": False})
        return records
