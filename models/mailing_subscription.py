from odoo import api, models


class MailingSubscription(models.Model):
    _inherit = "mailing.subscription"

    # Lists owned by teams: a user subscribes contacts only to lists they see (no record rule on create, see
    # security/sms_team_security.xml).
    @api.model_create_multi
    def create(self, vals_list):
        subscriptions = super().create(vals_list)
        if not self.env.su:
            self.env["mailing.list"].browse(subscriptions.sudo().list_id.ids).check_access_rule("read")
        return subscriptions

    def write(self, vals):
        result = super().write(vals)
        if "list_id" in vals and not self.env.su:
            self.env["mailing.list"].browse(self.sudo().list_id.ids).check_access_rule("read")
        return result
