from collections import defaultdict

from odoo import _, api, models
from odoo.tools import SQL

# Stock's tables get these indexes from the addon (init()); uninstall_hook drops them
SUBSCRIPTION_LIST_INDEX = "mailing_subscription_list_contact_idx"


class MailingSubscription(models.Model):
    """Every subscription to a list, opt-out from it and opt-in again appends a consent record for the contact's
    number (contacts without a mobile number have no SMS consent to record)."""

    _inherit = "mailing.subscription"

    def init(self):
        # A mailing reads its lists' members (recipients, opted-out members, the estimate) by list; Odoo's only
        # index here leads with the contact (its unique constraint), so every such read scanned all the
        # subscriptions of every list: a year of lists holds a million of them.
        self.env.cr.execute(SQL("CREATE INDEX IF NOT EXISTS %s ON mailing_subscription (list_id, contact_id)",
                                SQL.identifier(SUBSCRIPTION_LIST_INDEX)))

    @api.model_create_multi
    def create(self, vals_list):
        subscriptions = super().create(vals_list)
        # Lists owned by teams: a user subscribes contacts only to lists they see (no record rule on create, see
        # security/sms_team_security.xml).
        if not self.env.su:
            self.env["mailing.list"].browse(subscriptions.sudo().list_id.ids).check_access_rule("read")
        subscriptions._record_sms_consent()
        return subscriptions

    def write(self, vals):
        if "list_id" in vals and not self.env.su:
            self.env["mailing.list"].browse(vals["list_id"]).check_access_rule("read")
        if not {"opt_out", "opt_out_datetime", "opt_out_reason_id"} & set(vals):
            return super().write(vals)
        before = {subscription.id: subscription.opt_out for subscription in self}
        result = super().write(vals)
        self.filtered(lambda subscription: subscription.opt_out != before[subscription.id])._record_sms_consent()
        return result

    def unlink(self):
        removed = self.filtered(lambda subscription: not subscription.opt_out)
        groups = removed._group_by_consent()
        result = super().unlink()
        for (_consent, mailing_list), numbers in groups.items():
            self.env["sms.consent"]._record(numbers, "opt_out", mailing_list=mailing_list,
                                            evidence=_("Removed from the list"))
        return result

    @api.model
    def _sms_pairs(self, contact_ids=(), list_ids=()):
        """``{(contact id, list id): opted out}`` of the subscriptions of these contacts or lists (one query)."""
        self.flush_model(["contact_id", "list_id", "opt_out"])
        self.env.cr.execute(
            "SELECT contact_id, list_id, COALESCE(opt_out, false) FROM mailing_subscription "
            "WHERE contact_id = ANY(%s) OR list_id = ANY(%s)", (list(contact_ids), list(list_ids)))
        return {(contact_id, list_id): opt_out for contact_id, list_id, opt_out in self.env.cr.fetchall()}

    @api.model
    def _record_sms_consent_changes(self, before, after):
        """Consent of the subscriptions added or removed between two ``_sms_pairs`` snapshots: mailing.list's
        ``contact_ids`` and mailing.contact's ``list_ids`` write the subscription table directly, past the hooks
        above."""
        groups = defaultdict(set)
        for (contact_id, list_id), opt_out in after.items():
            if (contact_id, list_id) not in before:
                groups[("opt_out" if opt_out else "opt_in", list_id, None)].add(contact_id)
        for (contact_id, list_id), opt_out in before.items():
            if (contact_id, list_id) not in after and not opt_out:
                groups[("opt_out", list_id, _("Removed from the list"))].add(contact_id)
        for (consent, list_id, evidence), contact_ids in groups.items():
            contacts = self.env["mailing.contact"].browse(contact_ids)
            self.env["sms.consent"]._record(contacts.mapped("phone_sanitized"), consent,
                                            mailing_list=self.env["mailing.list"].browse(list_id), evidence=evidence)

    def _record_sms_consent(self):
        for (consent, mailing_list), numbers in self._group_by_consent().items():
            self.env["sms.consent"]._record(numbers, consent, mailing_list=mailing_list)

    def _group_by_consent(self):
        groups = defaultdict(list)
        for subscription in self:
            number = subscription.contact_id.phone_sanitized
            if number:
                consent = "opt_out" if subscription.opt_out else "opt_in"
                groups[(consent, subscription.list_id)].append(number)
        return groups
