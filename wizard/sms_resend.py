from odoo import fields, models


class SmsResendRecipient(models.TransientModel):
    """The chatter's "SMS failures" dialog: Africa's Talking's reason beside stock's failure type."""

    _inherit = "sms.resend.recipient"

    failure_reason = fields.Text(related="notification_id.failure_reason")


class SmsResend(models.TransientModel):
    _inherit = "sms.resend"

    def action_buy_credits(self):
        # Stock opens Odoo's IAP credit page (or its account set-up): SMS here are paid to AT, so lead to the AT
        # account of the message's company.
        company = self.mail_message_id.record_company_id or self.env.company
        return self.env["africastalking.account"]._top_up_action(company=company)
