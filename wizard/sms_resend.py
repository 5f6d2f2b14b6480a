from odoo import models


class SmsResend(models.TransientModel):
    _inherit = "sms.resend"

    def action_buy_credits(self):
        # Stock opens Odoo's IAP credit page (or its account set-up): SMS here are paid to AT, so lead to the AT
        # account of the message's company.
        company = self.mail_message_id.record_company_id or self.env.company
        return self.env["africastalking.account"]._top_up_action(company=company)
