from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL


class SmsBudget(models.Model):
    """A spending limit on SMS for a team (a set of users) over a period.

    Spent is what Africa's Talking actually billed (``africastalking.message.cost``) for mailings whose
    responsible is a member, sent during the period. Mailings and mass sends are refused before they leave when
    their estimate would take the team over its limit.
    """

    _name = "sms.budget"
    _description = "SMS Budget"
    _order = "date_start desc, id desc"

    name = fields.Char(required=True, help="Team or department, e.g. ICT Office")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    user_ids = fields.Many2many("res.users", string="Members", required=True)
    date_start = fields.Date("Start", required=True, default=fields.Date.context_today)
    date_end = fields.Date("End", required=True)
    limit_amount = fields.Float("Limit", digits=(16, 2), required=True)
    currency = fields.Char(required=True, default="KES")
    spent_amount = fields.Float("Spent", digits=(16, 2), compute="_compute_spent_amount")
    remaining_amount = fields.Float("Remaining", digits=(16, 2), compute="_compute_spent_amount")
    active = fields.Boolean(default=True)

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for budget in self:
            if budget.date_end < budget.date_start:
                raise ValidationError(_("A budget period must end after it starts."))

    def _compute_spent_amount(self):
        for budget in self:
            budget.spent_amount = budget._get_spent()
            budget.remaining_amount = budget.limit_amount - budget.spent_amount

    def _get_spent(self):
        """Sum in SQL: a period can hold hundreds of thousands of messages."""
        self.ensure_one()
        if not self.user_ids:
            return 0.0
        self.env["africastalking.message"].flush_model(["cost", "currency", "mailing_id", "company_id"])
        self.env["mailing.mailing"].flush_model(["user_id"])
        self.env.cr.execute(SQL(
            """
            SELECT COALESCE(SUM(message.cost), 0)
              FROM africastalking_message message
              JOIN mailing_mailing mailing ON mailing.id = message.mailing_id
             WHERE mailing.user_id = ANY(%s)
               AND message.company_id = %s
               AND (message.currency = %s OR message.currency IS NULL)
               AND message.create_date >= %s
               AND message.create_date < %s::date + 1
            """,
            self.user_ids.ids, self.company_id.id, self.currency, self.date_start, self.date_end,
        ))
        return self.env.cr.fetchone()[0]

    @api.model
    def _check_spend(self, user, company, amount, currency):
        """A user-facing message when spending ``amount`` would exceed one of ``user``'s budgets, else False."""
        today = fields.Date.context_today(self)
        budgets = self.sudo().search([
            ("user_ids", "in", user.ids), ("company_id", "=", company.id),
            ("date_start", "<=", today), ("date_end", ">=", today), ("currency", "=", currency),
        ])
        for budget in budgets:
            remaining = budget.limit_amount - budget._get_spent()
            if amount > remaining:
                return _(
                    "This send would cost about %(currency)s %(amount).2f, but the SMS budget \"%(budget)s\" has "
                    "only %(currency)s %(remaining).2f left until %(end)s. Nothing was sent.",
                    currency=currency, amount=amount, budget=budget.name, remaining=max(remaining, 0),
                    end=budget.date_end,
                )
        return False
