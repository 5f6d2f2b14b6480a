from odoo import api, fields, models

from .sms_consent import export_consent_action


class MailingContact(models.Model):
    _inherit = "mailing.contact"

    # Computed before the INSERT instead of by one UPDATE per contact afterwards: Odoo 17 writes differing
    # values of a recomputed field one row at a time, which made a 100k-row import issue 100k extra queries.
    phone_sanitized = fields.Char(compute="_compute_phone_sanitized", store=True, precompute=True)
    email_normalized = fields.Char(compute="_compute_email_normalized", store=True, precompute=True)

    sms_consent_count = fields.Integer("Consent Records", compute="_compute_sms_consent_count")

    # Lists owned by teams (security/sms_team_security.xml): no record rule applies on create (the import inserts
    # contacts with SQL when none does), so the lists a user subscribes a contact to are checked here.
    @api.model_create_multi
    def create(self, vals_list):
        contacts = super().create(vals_list)
        if not self.env.su and any("list_ids" in vals or "subscription_ids" in vals for vals in vals_list):
            self.env["mailing.list"].browse(contacts.sudo().list_ids.ids).check_access_rule("read")
        # list_ids is a many2many on the subscription table, written past mailing.subscription's consent hooks.
        with_lists = [contact.id for contact, vals in zip(contacts, vals_list, strict=True) if vals.get("list_ids")]
        if with_lists:
            Subscription = self.env["mailing.subscription"]
            Subscription._record_sms_consent_changes({}, Subscription._sms_pairs(contact_ids=with_lists))
        return contacts

    def write(self, vals):
        if not {"list_ids", "subscription_ids"}.intersection(vals):
            return super().write(vals)
        Subscription = self.env["mailing.subscription"]
        before = Subscription._sms_pairs(contact_ids=self.ids)
        result = super().write(vals)
        after = Subscription._sms_pairs(contact_ids=self.ids)
        if not self.env.su:  # the lists subscribed or left must be ones the user sees (teams)
            changed = {list_id for _contact_id, list_id in set(before) ^ set(after)}
            self.env["mailing.list"].browse(changed).check_access_rule("read")
        Subscription._record_sms_consent_changes(before, after)
        return result

    def _compute_sms_consent_count(self):
        Consent = self.env["sms.consent"]
        for contact in self:
            number = contact.phone_sanitized
            contact.sms_consent_count = Consent.search_count([("number", "=", number)]) if number else 0

    def action_view_sms_consent(self):
        self.ensure_one()
        return self.env["sms.consent"]._action_history([self.phone_sanitized], self.display_name)

    def action_export_sms_consent(self):
        self.ensure_one()
        return export_consent_action([self.phone_sanitized])
