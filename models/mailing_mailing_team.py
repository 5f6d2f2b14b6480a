from odoo import models


class MailingMailing(models.Model):
    """Team-owned lists on mailings (security/sms_team_security.xml hides the mailings of other teams' lists)."""

    _inherit = "mailing.mailing"

    def write(self, vals):
        result = super().write(vals)
        if "contact_list_ids" in vals and not self.env.su:
            # Odoo checks record rules before a write only: without this, a marketing user could retarget their
            # own mailing at another team's list (the mailing then leaves their sight, but the queue sends it).
            self.check_access_rule("write")
        return result
