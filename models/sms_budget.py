from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .sms_spend import CHARGE_SQL

# Months per period of a rolling budget. A term is a third of a year: the three terms of a Kenyan school year, or
# a university semester with its exams.
PERIOD_MONTHS = {"month": 1, "term": 4, "year": 12}


class SmsBudget(models.Model):
    """A spending limit on SMS for a team (sms.team) and/or a set of users over a period.

    Used is what the SMS ledger (``sms.spend``) holds for the sends its members caused during the period, on every
    path (mailings they launched, composers, the API, actions they ran, Test): AT's billed cost of each settled
    send plus what the open ones still reserve. A send is refused before it leaves when its estimate would take a
    member's budget over its limit; reservations lock the budget's row, so concurrent sends cannot overrun it.
    A budget with a period type rolls: once its period ended, the next one starts (the ledger keeps the history).
    """

    _name = "sms.budget"
    _description = "SMS Budget"
    _order = "date_start desc, id desc"

    name = fields.Char(required=True, help="Team or department, e.g. ICT Office")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    team_id = fields.Many2one("sms.team", index="btree_not_null",
                              help="The team's members share this budget (with the users listed here, if any).")
    user_ids = fields.Many2many("res.users", string="Members",
                                help="Users whose sends this budget counts; with a team, in addition to its members.")
    period_type = fields.Selection(
        [("custom", "Fixed Dates"), ("month", "Monthly"), ("term", "Per Term (4 months)"), ("year", "Yearly")],
        "Period", required=True, default="custom",
        help="Fixed dates: the budget ends with its period. Otherwise, when a period ends the next one starts at "
             "once, with the same limit.")
    date_start = fields.Date("Start", required=True, default=fields.Date.context_today)
    date_end = fields.Date("End", required=True)
    limit_amount = fields.Float("Limit", digits=(16, 2), required=True)
    currency = fields.Char(required=True, default="KES")
    spent_amount = fields.Float("Spent", digits=(16, 2), compute="_compute_spent_amount",
                                help="What Africa's Talking billed for the members' SMS in this period.")
    reserved_amount = fields.Float("Reserved", digits=(16, 2), compute="_compute_spent_amount",
                                   help="Held by the members' sends still in progress.")
    remaining_amount = fields.Float("Remaining", digits=(16, 2), compute="_compute_spent_amount")
    active = fields.Boolean(default=True)

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for budget in self:
            if budget.date_end < budget.date_start:
                raise ValidationError(_("A budget period must end after it starts."))

    @api.constrains("team_id", "user_ids")
    def _check_members(self):
        for budget in self:
            if not budget.team_id and not budget.user_ids:
                raise ValidationError(_("A budget needs a team or members."))
            if budget.team_id and budget.team_id.company_id != budget.company_id:
                raise ValidationError(_("The budget's team belongs to another company."))

    @api.constrains("limit_amount")
    def _check_limit(self):
        if any(budget.limit_amount < 0 for budget in self):
            raise ValidationError(_("A budget limit cannot be negative."))

    @api.onchange("period_type", "date_start")
    def _onchange_period_type(self):
        if self.period_type in PERIOD_MONTHS and self.date_start:
            self.date_end = self._period_end(self.date_start)

    def _period_end(self, start):
        return start + relativedelta(months=PERIOD_MONTHS[self.period_type], days=-1)

    def _compute_spent_amount(self):
        for budget in self:
            billed, used = budget._get_billed_and_used()
            budget.spent_amount = billed
            budget.reserved_amount = used - billed
            budget.remaining_amount = budget.limit_amount - used

    def _members(self):
        """Whose sends count: the team's members and the listed users. A member counts for what they caused,
        whichever of their lists or paths they used."""
        self.ensure_one()
        return self.sudo().team_id.member_ids | self.sudo().user_ids

    def _spend_domain_sql(self):
        self.ensure_one()
        return SQL(
            """spend.user_id = ANY(%s) AND spend.company_id = %s AND spend.currency = %s
               AND spend.date >= %s AND spend.date < %s::date + 1""",
            self._members().ids, self.company_id.id, self.currency, self.date_start, self.date_end)

    def _get_billed_and_used(self):
        """``(billed, used)`` in SQL: a period can hold thousands of sends. Used counts what open sends hold."""
        self.ensure_one()
        if not self._members():
            return 0.0, 0.0
        self.env["sms.spend"].flush_model()
        self.env.cr.execute(SQL("SELECT COALESCE(SUM(spend.amount_billed), 0), COALESCE(SUM(%s), 0) "
                                "FROM sms_spend spend WHERE %s", CHARGE_SQL, self._spend_domain_sql()))
        billed, used = self.env.cr.fetchone()
        return float(billed), float(used)

    def _get_used(self):
        return self._get_billed_and_used()[1]

    def _get_spent(self):
        return self._get_billed_and_used()[0]

    @api.model
    def _current_for(self, user, company, currency):
        """The budgets of ``user`` in ``company`` and ``currency`` whose period includes today (rolled first)."""
        if not user:
            return self.browse()
        today = fields.Date.context_today(self)
        budgets = self.search(["|", ("user_ids", "in", user.ids), ("team_id.member_ids", "in", user.ids),
                               ("company_id", "=", company.id), ("currency", "=", currency or "KES")])
        budgets._roll_periods(today)
        return budgets.filtered(lambda budget: budget.date_start <= today <= budget.date_end)

    def _roll_periods(self, today=None):
        """Move rolling budgets whose period ended to the period that includes ``today``."""
        today = today or fields.Date.context_today(self)
        for budget in self.filtered(lambda b: b.period_type in PERIOD_MONTHS and b.date_end < today):
            start = budget.date_start
            while budget._period_end(start) < today:
                start += relativedelta(months=PERIOD_MONTHS[budget.period_type])
            budget.write({"date_start": start, "date_end": budget._period_end(start)})

    @api.model
    def _cron_roll_periods(self):
        self.search([("period_type", "in", list(PERIOD_MONTHS))])._roll_periods()
