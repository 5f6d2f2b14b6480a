from odoo import _, models
from odoo.exceptions import UserError


class ResPartner(models.Model):
    _inherit = "res.partner"

    def action_open_sms_conversation(self):
        """The SMS thread of this contact's number in the current company (created when it has none yet)."""
        self.ensure_one()
        self.check_access_rule("read")
        if not self.phone_sanitized:
            raise UserError(_("%s has no valid mobile number.", self.display_name))
        return self.env["sms.conversation"].action_open_for_number(self.phone_sanitized)
