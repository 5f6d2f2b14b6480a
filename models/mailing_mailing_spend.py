from odoo import SUPERUSER_ID, _, api, fields, models

from .sms_sms_spend import MAILING_SPEND_KEY
from .sms_spend import SpendRefused


class MailingMailing(models.Model):
    """The mailing's side of the SMS ledger.

    Send / Schedule / Send Now check the estimate against the balance and the launcher's budgets first (a clear
    error before anything is queued); the preparation (``action_send_sms``, the mass-mailing cron) then reserves
    the whole estimate on the ledger before writing any SMS, so a mailing never half-sends for lack of credit and
    two mailings prepared at once cannot together take more than the balance or a budget.
    """

    _inherit = "mailing.mailing"

    sms_launched_by_id = fields.Many2one(
        "res.users", "Launched By", readonly=True, copy=False,
        help="Who sent or scheduled this SMS mailing: their budgets pay it, whoever is responsible later.")
    sms_spend_ids = fields.One2many("sms.spend", "mailing_id", "SMS Ledger", readonly=True)

    # ------------------------------------------------------------------
    # Launch
    # ------------------------------------------------------------------

    def action_put_in_queue(self):
        self._sms_remember_launcher()
        return super().action_put_in_queue()

    def action_send_mail(self, res_ids=None):
        self._sms_remember_launcher()
        return super().action_send_mail(res_ids=res_ids)

    def action_send_sms(self, res_ids=None):
        return super(MailingMailing, self.with_context(**{MAILING_SPEND_KEY: True})).action_send_sms(res_ids=res_ids)

    def action_cancel(self):
        result = super().action_cancel()
        spends = self.env["sms.spend"].sudo().search([("mailing_id", "in", self.ids), ("state", "=", "reserved")])
        spends._update_billed()
        spends._close_finished()
        return result

    def _sms_remember_launcher(self):
        """The person who sends: never the cron's superuser, which only carries out a launch."""
        if self.env.uid == SUPERUSER_ID:
            return
        self.filtered(lambda mailing: mailing.mailing_type == "sms").sudo().write(
            {"sms_launched_by_id": self.env.uid})

    def _sms_spend_cause(self):
        self.ensure_one()
        return self.sms_launched_by_id or self.user_id or self.env.user

    # ------------------------------------------------------------------
    # Gate (replaces the balance-only check of mailing_mailing.py)
    # ------------------------------------------------------------------

    @api.model
    def _sms_credit_problem(self, estimate, user=None):
        """A user-facing reason why a send of ``estimate`` must not leave, or False: the ledger's check (balance
        asked from AT now, less what sends in progress hold; then each budget of ``user``), without reserving."""
        if not estimate["recipients"]:
            return False
        company = self.env.company
        if not company._get_africastalking_account():
            return _("No Africa's Talking account is configured for %s; nothing was sent.", company.name)
        problem, _values = self.env["sms.spend"].sudo().with_context(sms_spend_fresh_balance=True)._check(
            company, estimate, user=user if user is not None else self.env.user)
        return problem

    def _sms_check_credit(self, res_ids=None, rules=None, allow_empty=False):
        """Estimate, store the estimate and return the blocking reason (or False) for one SMS mailing: an empty
        audience (unless ``allow_empty``), a text over the parts cap, then the balance and the launcher's budgets.
        While preparing (``MAILING_SPEND_KEY``), the estimate is reserved on the ledger."""
        self.ensure_one()
        estimate = self._get_sms_cost_estimate(res_ids=res_ids, rules=rules)
        self.sudo().write(self._sms_estimate_values(estimate))
        block = self._sms_send_check(estimate)["block"]
        if block and (estimate["recipients"] or not allow_empty):
            return block
        if not self.env.context.get(MAILING_SPEND_KEY):
            return self._sms_credit_problem(estimate, user=self._sms_spend_cause())
        if not estimate["recipients"]:
            return False
        company = self.user_id.company_id or self.env.company  # the company the prepared SMS are sent for
        if not company._get_africastalking_account():
            return _("No Africa's Talking account is configured for %s; nothing was sent.", company.name)
        try:
            self.env["sms.spend"].sudo().with_context(sms_spend_fresh_balance=True)._reserve(
                company, estimate, user=self._sms_spend_cause(), origin="mailing", mailing=self,
                name=_("Mailing: %(subject)s, %(count)s SMS", subject=self.subject or self.display_name,
                       count=estimate["recipients"]))
        except SpendRefused as refusal:
            return str(refusal)
        return False
