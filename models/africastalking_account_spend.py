from odoo import fields, models
from odoo.exceptions import UserError


class AfricasTalkingAccount(models.Model):
    """The account's side of the SMS ledger (sms.spend): the row reservations lock, and the balance they read."""

    _inherit = "africastalking.account"

    # Incremented by every reservation (sms.spend._lock_purses): updating the row is what orders two concurrent
    # reservations on one account. Never shown.
    ledger_version = fields.Integer(readonly=True, copy=False)

    def _sms_known_balance(self, max_age, strict=False):
        """``(currency, amount, read on)`` of the account's balance: the stored one when read less than
        ``max_age`` ago, else asked from AT now. When AT cannot be asked, the last balance read is used (the
        ledger subtracts everything billed since), unless ``strict``; never read at all, raise UserError."""
        self.ensure_one()
        account = self.sudo()
        now = fields.Datetime.now()
        if not account.balance_date or account.balance_date < now - max_age:
            try:
                account._fetch_balance()
            except UserError:
                if strict or not account.balance_date:
                    raise
        return account.balance_currency, account.balance_amount, account.balance_date
