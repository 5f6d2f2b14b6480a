from odoo import api, models


class MailingList(models.Model):
    """Contacts added to or removed from a list through its ``contact_ids`` (a many2many on the subscription table,
    written without mailing.subscription's hooks) get their consent recorded too."""

    _inherit = "mailing.list"

    @api.model_create_multi
    def create(self, vals_list):
        lists = super().create(vals_list)
        with_contacts = [mailing_list.id for mailing_list, vals in zip(lists, vals_list, strict=True)
                         if vals.get("contact_ids")]
        if with_contacts:
            Subscription = self.env["mailing.subscription"]
            Subscription._record_sms_consent_changes({}, Subscription._sms_pairs(list_ids=with_contacts))
        return lists

    def write(self, vals):
        if "contact_ids" not in vals:
            return super().write(vals)
        Subscription = self.env["mailing.subscription"]
        before = Subscription._sms_pairs(list_ids=self.ids)
        result = super().write(vals)
        Subscription._record_sms_consent_changes(before, Subscription._sms_pairs(list_ids=self.ids))
        return result
