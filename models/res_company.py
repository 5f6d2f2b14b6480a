from odoo import models


class ResCompany(models.Model):
    _inherit = "res.company"

    def _get_africastalking_account(self):
        """The account that sends this company's SMS: its first active one."""
        self.ensure_one()
        return self.env["africastalking.account"].sudo().search(
            [("company_id", "=", self.id)], order="sequence, id", limit=1
        )
