from odoo import fields, models


class MailingContact(models.Model):
    _inherit = "mailing.contact"

    # Computed before the INSERT instead of by one UPDATE per contact afterwards: Odoo 17 writes differing
    # values of a recomputed field one row at a time, which made a 100k-row import issue 100k extra queries.
    phone_sanitized = fields.Char(compute="_compute_phone_sanitized", store=True, precompute=True)
    email_normalized = fields.Char(compute="_compute_email_normalized", store=True, precompute=True)
