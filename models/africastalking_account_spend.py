from odoo import fields, models
from odoo.exceptions import UserError


class AfricasTalkingAccount(models.Model):
    """The balance the SMS ledger (sms.spend) reads."""

    _inherit = "africastalking.account"

    def _sms_known_balance(self, max_age, strict=False):
        """``(currency, amount, read on)`` of the account's balance: the stored one when read less than
        ``max_age`` ago, else asked from AT now. When AT cannot be asked, the last balance read is used (the
        ledger subtracts everything billed since), unless ``strict``; never read at all, raise UserError."""
        self.ensure_one()
        account = self.sudo()
        now = fields.Datetime.now()
        if not max_age or not account.balance_date or account.balance_date < now - max_age:
            try:
                account._fetch_balance()
            except UserError:
                if strict or not account.balance_date:
                    raise
        return account.balance_currency, account.balance_amount, account.balance_date
