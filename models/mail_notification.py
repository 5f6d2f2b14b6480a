from odoo import fields, models

# Stock's labels speak of Odoo's IAP service ("Insufficient Credit", "Unregistered Account"): here both mean
# Africa's Talking (its balance, or a refused / missing account), and the ledger's own refusals (balance or budget)
# use the first. The same labels on every model that shows a failure: the chatter's failure popover and resend
# dialog (mail.notification), the SMS queue (sms.sms) and the mailing statistics (mailing.trace).
AT_FAILURE_LABELS = [
    ("sms_credit", "Africa's Talking balance or SMS budget too low"),
    ("sms_acc", "Africa's Talking account refused or missing"),
]


class MailNotification(models.Model):
    _inherit = "mail.notification"

    failure_type = fields.Selection(selection_add=AT_FAILURE_LABELS)
