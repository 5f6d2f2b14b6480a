from odoo import fields, models


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    sms_series_id = fields.Many2one("sms.mailing.series", "Recurring Series", readonly=True, copy=False,
                                    index="btree_not_null", ondelete="set null",
                                    help="This mailing is one run of a recurring mailing.")

    def action_sms_make_recurring(self):
        """A new recurring series repeating this mailing."""
        self.ensure_one()
        self.check_access_rights("write")
        self.check_access_rule("write")
        return {
            "type": "ir.actions.act_window",
            "res_model": "sms.mailing.series",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
            "context": {"default_mailing_id": self.id, "default_name": self.subject,
                        "default_company_id": self.env.company.id},
        }
