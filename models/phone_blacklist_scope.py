from odoo import api, fields, models

# What each opt-out source blocks. At the network (UserInBlacklist, Safaricom *456*9#) and at AT (bulk SMS opt-out)
# the subscriber refused promotional SMS: alerts and other transactional SMS still reach them. A STOP reply, the
# unsubscribe page and an entry typed by a person stop everything: the person asked.
PROMOTIONAL_ONLY_SOURCES = ("network", "at_optout")
FULL_SOURCES = ("keyword", "page")


class PhoneBlacklist(models.Model):
    _inherit = "phone.blacklist"

    africastalking_scope = fields.Selection(
        [("all", "All SMS"), ("promotional", "Promotional SMS only")], "Blocks",
        compute="_compute_africastalking_scope", store=True,
        help="Promotional SMS only: the subscriber refused promotional SMS at the network or at Africa's Talking; "
             "mailings and broadcasts skip the number, alerts, single SMS and API calls still reach it.")

    @api.depends("africastalking_block")
    def _compute_africastalking_scope(self):
        for entry in self:
            entry.africastalking_scope = ("promotional" if entry.africastalking_block in PROMOTIONAL_ONLY_SOURCES
                                          else "all")

    @api.model
    def _africastalking_block(self, numbers, source, message=None):
        records = super()._africastalking_block(numbers, source, message=message)
        if source in FULL_SOURCES:
            # The person asked to stop: a network opt-out on file must not let transactional SMS through.
            records.filtered(lambda entry: entry.africastalking_block in PROMOTIONAL_ONLY_SOURCES).write({
                "africastalking_block": source, "africastalking_block_date": fields.Datetime.now()})
        return records

    @api.model
    def _africastalking_promotional_only(self, numbers):
        """The numbers among ``numbers`` whose only active block is a promotional opt-out."""
        if not numbers:
            return set()
        self.flush_model(["number", "active", "africastalking_scope"])
        self.env.cr.execute("SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s) "
                            "AND africastalking_scope = 'promotional'", (list(numbers),))
        return {row[0] for row in self.env.cr.fetchall()}
