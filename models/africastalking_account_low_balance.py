import logging
from datetime import timedelta

import psycopg2.errors
from markupsafe import Markup

from odoo import _, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

# The balance is read again after a dispatch run at most this often: one small request to AT, not one per batch.
BALANCE_REFRESH_INTERVAL = timedelta(seconds=60)


class AfricasTalkingAccount(models.Model):
    """Low-balance alert: below the account's threshold, administrators get an activity and an email, once per
    crossing (not again until the balance rose above the threshold and fell again). The balance is read after each
    dispatch run that spent money, at most once a minute, and by every check and reservation."""

    _name = "africastalking.account"
    _inherit = ["africastalking.account", "mail.thread", "mail.activity.mixin"]

    low_balance_threshold = fields.Float(
        "Low Balance Alert Below", digits=(16, 2),
        help="When the Africa's Talking balance falls below this amount (in the account's currency), "
             "administrators get an activity and an email, once per crossing. 0: no alert.")
    low_balance_alerted = fields.Boolean(
        "Balance Low", readonly=True, copy=False,
        help="The balance is below the alert threshold; administrators were told when it crossed it.")

    _sql_constraints = [
        ("low_balance_threshold_positive", "CHECK(low_balance_threshold IS NULL OR low_balance_threshold >= 0)",
         "The low-balance threshold cannot be negative."),
    ]

    def _fetch_balance(self):
        result = super()._fetch_balance()
        self._sms_check_low_balance()
        return result

    def _sms_check_low_balance(self):
        """Alert on the way down only: the flag remembers the crossing until the balance is above again."""
        for account in self.sudo():
            low = bool(account.low_balance_threshold) and account.balance_amount < account.low_balance_threshold
            if low and not account.low_balance_alerted:
                account.low_balance_alerted = True
                account._sms_alert_low_balance()
            elif not low and account.low_balance_alerted:
                account.low_balance_alerted = False

    def _sms_low_balance_admins(self):
        self.ensure_one()
        return self.env.ref("base.group_system").users.filtered(
            lambda user: user.active and not user.share and self.company_id in user.company_ids)

    def _sms_alert_low_balance(self):
        self.ensure_one()
        format_cost = self.env["africastalking.rate"]._format_cost
        balance = format_cost(self.balance_amount, self.balance_currency)
        threshold = format_cost(self.low_balance_threshold, self.balance_currency)
        summary = _("Africa's Talking balance low: %s", balance)
        note = _("The balance of the Africa's Talking account %(account)s is %(balance)s, below the alert threshold "
                 "of %(threshold)s. Top it up in the Africa's Talking dashboard (https://account.africastalking.com) "
                 "before SMS are refused.", account=self.name, balance=balance, threshold=threshold)
        admins = self._sms_low_balance_admins()
        for admin in admins:
            self.activity_schedule("mail.mail_activity_data_todo", user_id=admin.id, summary=summary, note=note)
        recipients = admins.partner_id.filtered("email")
        if recipients:
            self.env["mail.mail"].sudo().create({
                "subject": summary,
                "body_html": Markup("<p>%s</p>") % note,
                "recipient_ids": [fields.Command.set(recipients.ids)],
                "email_from": self.company_id.email_formatted or self.env.user.email_formatted,
                "model": self._name,
                "res_id": self.id,
                "auto_delete": False,
            })
        self.message_post(body=note, subtype_xmlid="mail.mt_note")
        _logger.info("Africa's Talking account %s: balance %s below %s, %d administrators alerted", self.id,
                     balance, threshold, len(admins))

    def _sms_refresh_balances_after_dispatch(self):
        """Read the balance of the accounts that spent since their last read more than a minute ago. In a
        savepoint: the dispatch's results are written already, a failure here must never undo them."""
        limit = fields.Datetime.now() - BALANCE_REFRESH_INTERVAL
        self.env["africastalking.message"].flush_model(["account_id", "create_date"])
        self.flush_model(["balance_date", "active"])
        self.env.cr.execute(
            """
            SELECT account.id FROM africastalking_account account
             WHERE account.active AND (account.balance_date IS NULL OR account.balance_date < %s)
               AND EXISTS (SELECT 1 FROM africastalking_message message
                            WHERE message.account_id = account.id AND message.cost > 0
                              AND message.create_date >= COALESCE(account.balance_date, %s))
            """, (limit, limit))
        for account in self.browse([row[0] for row in self.env.cr.fetchall()]).sudo():
            try:
                with self.env.cr.savepoint():
                    account._fetch_balance()
            except (UserError, psycopg2.errors.TransactionRollbackError) as error:
                _logger.info("Balance of Africa's Talking account %s not refreshed after dispatch: %s",
                             account.id, error)
