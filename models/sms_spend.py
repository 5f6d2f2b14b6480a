import logging
from datetime import timedelta

import psycopg2.errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.bulk_sql import IntArray
from .sms_sms import SMS_ORIGINS

_logger = logging.getLogger(__name__)

# A balance read from AT less than this long ago is used as it is: every send does not cost a request to AT.
BALANCE_MAX_AGE = timedelta(seconds=60)
# A reservation whose SMS all left (or were dropped) is closed at once; one still open after this long belongs to a
# send that died half-way (a crash between the reservation and its SMS): the settle cron closes it.
RESERVATION_LIFETIME = timedelta(hours=24)

# What a line of the ledger holds against a balance or a budget: what AT billed, plus what its SMS still queued may
# cost (the reservation less what was billed so far) while it is open. One expression for the balance, the budgets
# and the report.
CHARGE_SQL = SQL("COALESCE(spend.amount_billed, 0) + CASE WHEN spend.state = 'reserved' "
                 "THEN GREATEST(COALESCE(spend.amount_reserved, 0) - COALESCE(spend.amount_billed, 0), 0) ELSE 0 END")


class SpendRefused(UserError):
    """A send the balance or a budget cannot pay: its message says which limit, what it needs and what is left."""


class SmsSpendLock(models.Model):
    """One row per purse (an AT account, a budget) that reservations update first: the row lock that makes two
    concurrent reservations take turns. Written in SQL only (sms.spend._lock_purses)."""

    _name = "sms.spend.lock"
    _description = "SMS Ledger Lock"
    _log_access = False

    key = fields.Char(required=True, readonly=True)
    version = fields.Integer(readonly=True)

    _sql_constraints = [("key_unique", "UNIQUE(key)", "One lock row per purse.")]


class SmsSpend(models.Model):
    """The SMS ledger: one line per send that makes Africa's Talking spend money.

    Every path that queues SMS (mailing launch, composers, the contact's SMS button, the mailing Test, server and
    automated actions, alert rules, broadcasts, the API, keyword replies, resends) reserves its estimated cost here
    before its SMS are queued (``_reserve``), in the transaction that queues them: the account's row and the
    budgets' rows are updated under a row lock, so two concurrent reservations take turns and the second one sees
    the first (or, in Odoo's REPEATABLE READ transactions, fails with a serialization error that Odoo retries).
    The SMS queue settles each line with the cost AT billed per recipient (``africastalking.message.cost``) after
    each dispatch; what was not used is released when no SMS of the line is left to send (sent, failed or
    cancelled), or by the settle cron after a crash.
    """

    _name = "sms.spend"
    _description = "SMS Spending"
    _order = "date desc, id desc"
    _rec_name = "name"

    name = fields.Char("Description", required=True, readonly=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    account_id = fields.Many2one("africastalking.account", readonly=True, ondelete="set null",
                                 index="btree_not_null")
    user_id = fields.Many2one("res.users", "Caused By", readonly=True, index="btree_not_null",
                              help="Who made this send: their budgets count it.")
    team_id = fields.Many2one("sms.team", readonly=True, index="btree_not_null",
                              help="The team of who caused the send: the team owning the mailing's lists, else "
                                   "their first team in the company.")
    budget_ids = fields.Many2many("sms.budget", string="Budgets", readonly=True,
                                  help="The budgets this send counted against when it was reserved.")
    origin = fields.Selection(SMS_ORIGINS, readonly=True)
    mailing_id = fields.Many2one("mailing.mailing", readonly=True, ondelete="set null", index="btree_not_null")
    sms_count = fields.Integer("SMS", readonly=True)
    segments = fields.Integer(readonly=True)
    currency = fields.Char(readonly=True)
    currency_id = fields.Many2one("res.currency", "Currency Record", compute="_compute_currency_id")
    amount_reserved = fields.Float("Reserved", digits=(16, 4), readonly=True, default=0.0)
    amount_billed = fields.Float("Billed", digits=(16, 4), readonly=True, default=0.0,
                                 help="What Africa's Talking billed for the SMS of this send.")
    amount_released = fields.Float("Released", digits=(16, 4), readonly=True, default=0.0,
                                   help="What was reserved and not used, given back when the send ended.")
    amount_held = fields.Float("Held", digits=(16, 4), compute="_compute_amount_held",
                               help="What this open send still holds against the balance and budgets.")
    state = fields.Selection([("reserved", "Reserved"), ("settled", "Settled"), ("released", "Released")],
                             required=True, default="reserved", readonly=True, index=True)
    settle_date = fields.Datetime("Settled On", readonly=True)
    expire_date = fields.Datetime("Expires On", readonly=True)

    _sql_constraints = [
        ("amounts_positive", "CHECK(amount_reserved >= 0 AND amount_billed >= 0)",
         "Reserved and billed amounts cannot be negative."),
    ]

    def unlink(self):
        # Nobody has the right (a ledger is kept); the message log points to its lines without a foreign key
        self.env["africastalking.message"].sudo()._forget_deleted("spend_id", self.ids)
        return super().unlink()

    @api.depends("currency")
    def _compute_currency_id(self):
        codes = [code for code in set(self.mapped("currency")) if code]
        currencies = {currency.name: currency for currency in self.env["res.currency"].with_context(
            active_test=False).search([("name", "in", codes)])} if codes else {}
        for spend in self:
            spend.currency_id = currencies.get(spend.currency) or False

    @api.depends("state", "amount_reserved", "amount_billed")
    def _compute_amount_held(self):
        for spend in self:
            spend.amount_held = (max(spend.amount_reserved - spend.amount_billed, 0.0)
                                 if spend.state == "reserved" else 0.0)

    # ------------------------------------------------------------------
    # Estimate
    # ------------------------------------------------------------------

    @api.model
    def _price(self, company, texts):
        """``(pricing, unpriced)`` of ``texts``, pairs of (E.164 number or False, text): a number that cannot be
        sent (False) costs nothing, it fails before AT; ``unpriced`` lists the numbers no rate (nor the company's
        fallback rate) prices."""
        texts = [(number, text or "") for number, text in texts if number]
        pricing = self.env["africastalking.rate"]._price_texts(texts, company)
        return pricing, list(dict.fromkeys(pricing.unpriced_numbers))

    @api.model
    def _estimate_texts(self, company, texts):
        """``{"recipients", "segments", "cost", "currency", "unpriced"}`` of ``texts`` (see _price)."""
        pricing, unpriced = self._price(company, texts)
        return {"recipients": len([1 for number, _text in texts if number]), "segments": pricing.segments,
                "cost": pricing.cost, "currency": pricing.currency or pricing.table_currency, "unpriced": unpriced,
                "currencies": sorted(pricing.cost_by_currency)}

    # ------------------------------------------------------------------
    # Reserve
    # ------------------------------------------------------------------

    @api.model
    def _reserve(self, company, estimate, user=None, origin=None, name=None, mailing=None, sms_count=None):
        """Reserve ``estimate`` (see _estimate_texts or mailing.mailing._get_sms_cost_estimate) for ``company`` and
        return the ledger line; raise SpendRefused saying which limit, what the send needs and what is left.

        Atomic against concurrent reservations: the account's and the budgets' rows are updated (locked) first,
        then what they still allow is read. A concurrent reservation waits for the lock and then fails to serialize
        (Odoo retries the request or the cron, which then sees this one), so two sends can never together take
        more than the balance or a budget holds.
        """
        problem, values = self._check(company, estimate, user=user, lock=True)
        if problem:
            raise SpendRefused(problem)
        if values is None:  # nothing can leave (no account, nobody to send to): nothing to reserve
            return self.browse()
        now = fields.Datetime.now()
        values.update({
            "team_id": self._team_of(values.get("user_id"), values["company_id"], mailing).id,
            "name": name or _("%(origin)s: %(count)s SMS", origin=dict(SMS_ORIGINS).get(origin) or _("Send"),
                              count=estimate["recipients"]),
            "date": now,
            "origin": origin,
            "mailing_id": mailing.id if mailing else False,
            "sms_count": sms_count if sms_count is not None else estimate["recipients"],
            "segments": estimate.get("segments") or 0,
            "expire_date": now + RESERVATION_LIFETIME,
        })
        return self.sudo().create(values)

    @api.model
    def _team_of(self, user_id, company_id, mailing=None):
        """The team a send is reported under: of the caller's teams in the company, the one owning the mailing's
        lists, else the first."""
        teams = self.env["sms.team"].sudo().search([("member_ids", "in", [user_id or 0]),
                                                     ("company_id", "=", company_id)])
        if mailing and len(teams) > 1:
            owning = teams & mailing.sudo().contact_list_ids.sms_team_ids
            teams = owning or teams
        return teams[:1]

    @api.model
    def _check(self, company, estimate, user=None, lock=False):
        """``(problem, values)``: a user-facing refusal or False, and the ledger values of the reservation (None
        when there is nothing to reserve). With ``lock``, the account and budget rows stay locked until the end
        of the transaction (see _reserve)."""
        if not estimate.get("recipients"):
            return False, None
        account = company._get_africastalking_account()
        if not account:
            return False, None  # the queue fails these SMS with "no account configured": nothing leaves
        cost, currency = estimate.get("cost"), estimate.get("currency")
        problem = self._unpriced_problem(company, estimate)
        if problem:
            return problem, None
        user = user if user is not None else self.env.user
        budgets = self.env["sms.budget"].sudo()._current_for(user, company, currency)
        if lock:
            self._lock_purses(account, budgets)
        problem = self._balance_problem(account, cost, currency, estimate) or self._budget_problem(
            budgets, cost, currency)
        if problem:
            return problem, None
        return False, {
            "company_id": company.id, "account_id": account.id, "user_id": user.id if user else False,
            "budget_ids": [(6, 0, budgets.ids)], "currency": currency, "amount_reserved": cost,
        }

    @api.model
    def _unpriced_problem(self, company, estimate):
        if estimate.get("cost") is not None:
            return False
        unpriced = estimate.get("unpriced_countries") or estimate.get("unpriced")
        if not unpriced or not isinstance(unpriced, list):
            return _("The rates of these numbers are in several currencies: one send is paid in one currency. "
                     "Split the send by country; nothing was sent.")
        return _("No SMS rate for %(numbers)s: Africa's Talking's price is unknown, so the send cannot be checked "
                 "against the balance and budgets. Add a rate (SMS Marketing › Configuration › SMS Rates) or a "
                 "fallback rate (Settings › SMS); nothing was sent.",
                 numbers=", ".join(unpriced[:5]) + (" …" if len(unpriced) > 5 else ""))

    @api.model
    def _lock_purses(self, account, budgets):
        """Update the ledger's lock rows of the account and the budgets (sms.spend.lock): the row lock orders
        concurrent reservations (see _reserve). The ledger's own rows, not the account's or the budgets': a form
        or a balance check holding those must not block a send, nor a reservation one of them."""
        self.env.flush_all()
        keys = sorted(["account:%s" % account.id] + ["budget:%s" % budget_id for budget_id in budgets.ids])
        # A serialization failure here is the expected end of the second of two concurrent reservations (Odoo
        # retries it): not an error to log.
        self.env.cr.execute(
            """
            INSERT INTO sms_spend_lock (key, version) SELECT key, 1 FROM unnest(%s::varchar[]) AS key ORDER BY key
                ON CONFLICT (key) DO UPDATE SET version = sms_spend_lock.version + 1
            """, (keys,), log_exceptions=False)

    @api.model
    def _balance_problem(self, account, cost, currency, estimate):
        fresh = self.env.context.get("sms_spend_fresh_balance")
        try:
            balance_currency, balance, balance_date = account._sms_known_balance(
                timedelta(0) if fresh else BALANCE_MAX_AGE, strict=fresh)
        except UserError as error:
            if fresh:
                return _("The Africa's Talking balance could not be checked (%s); nothing was sent.", error)
            # Never read and AT does not answer (down, wrong key): nothing can be spent through it either; the
            # queue fails these SMS with AT's own reason, the budgets still apply. A launch (fresh) refuses.
            _logger.info("Africa's Talking balance of account %s unknown (%s): budgets only", account.id, error)
            return False
        if balance_currency and currency and balance_currency != currency:
            return False  # AT bills in the account's currency; a table in another one cannot be compared
        in_flight = self._in_flight(account, balance_date)
        available = balance - in_flight
        if cost > available or (not cost and available <= 0):
            format_cost = self.env["africastalking.rate"]._format_cost
            code = currency or balance_currency
            return _(
                "Not enough Africa's Talking credit on %(account)s: this send needs %(cost)s (%(segments)s segments "
                "to %(recipients)s recipients) but only %(left)s is left (balance %(balance)s, %(held)s held by "
                "sends in progress). Top up the account in the Africa's Talking dashboard or reduce the recipients; "
                "nothing was sent.",
                account=account.name, cost=format_cost(cost, code), segments=estimate.get("segments") or 0,
                recipients=estimate["recipients"], left=format_cost(max(available, 0.0), code),
                balance=format_cost(balance, code), held=format_cost(in_flight, code),
            )
        return False

    @api.model
    def _in_flight(self, account, balance_date):
        """What the balance read at ``balance_date`` does not show yet: open reservations, and what AT billed
        since (counted twice when AT deducted it just before the read: never less than the truth)."""
        self.env["sms.spend"].flush_model()
        self.env["africastalking.message"].flush_model(["account_id", "cost"])
        self.env.cr.execute(SQL(
            """
            SELECT COALESCE((SELECT SUM(GREATEST(COALESCE(spend.amount_reserved, 0)
                                                   - COALESCE(spend.amount_billed, 0), 0))
                               FROM sms_spend spend WHERE spend.account_id = %(account)s
                                AND spend.state = 'reserved'), 0)
                 + COALESCE((SELECT SUM(message.cost) FROM africastalking_message message
                              WHERE message.account_id = %(account)s AND message.create_date >= %(since)s), 0)
            """, account=account.id, since=balance_date or fields.Datetime.now()))
        return float(self.env.cr.fetchone()[0])

    @api.model
    def _budget_problem(self, budgets, cost, currency):
        for budget in budgets:
            remaining = budget.limit_amount - budget._get_used()
            if cost > remaining + 1e-9:
                format_cost = self.env["africastalking.rate"]._format_cost
                return _(
                    "This send needs %(cost)s, but the SMS budget \"%(budget)s\" has only %(currency)s "
                    "%(remaining).2f left until %(end)s (limit %(limit)s). Nothing was sent.",
                    cost=format_cost(cost, currency), budget=budget.name, currency=currency,
                    remaining=max(remaining, 0.0), end=budget.date_end,
                    limit=format_cost(budget.limit_amount, currency),
                )
        return False

    # ------------------------------------------------------------------
    # Settle and release
    # ------------------------------------------------------------------

    @api.model
    def _spend_of_sms_sql(self, sms):
        """SQL: the ledger line that pays the SMS of row ``sms`` (an alias of sms_sms): its own reservation, else
        (a mailing's SMS, paid by the mailing's reservation) the mailing's open line, else its latest one."""
        return SQL(
            """COALESCE(%(sms)s.at_spend_id, (
                   SELECT spend.id FROM sms_spend spend
                    WHERE spend.mailing_id = %(sms)s.mailing_id AND %(sms)s.at_origin IS DISTINCT FROM 'test'
                    ORDER BY spend.state = 'reserved' DESC, spend.id DESC LIMIT 1))""",
            sms=SQL.identifier(sms))

    @api.model
    def _settle_sms(self, sms_ids):
        """After a dispatch: update what the ledger lines of ``sms_ids`` were billed (their AT messages were linked
        to them when logged: africastalking.message._send_result_values) and close the lines whose SMS have all
        left.

        In a savepoint: a concurrent settlement of the same line (two dispatchers of one mailing) must not undo the
        dispatcher's write-back; the settle cron catches up."""
        if not sms_ids:
            return
        try:
            with self.env.cr.savepoint():
                self.env.flush_all()
                # The lines from the SMS rows (a few distinct ones per batch), not from the message log: no lookup
                # of the log by SMS.
                self.env.cr.execute(SQL(
                    """SELECT DISTINCT %s FROM (SELECT DISTINCT at_spend_id, mailing_id, at_origin FROM sms_sms
                                                 WHERE id = ANY(%s)) sms""",
                    self._spend_of_sms_sql("sms"), IntArray(sms_ids)))
                spends = self.browse([row[0] for row in self.env.cr.fetchall() if row[0]])
                spends._update_billed()
                spends._close_finished()
        except psycopg2.errors.TransactionRollbackError:
            _logger.info("Settling the SMS ledger met a concurrent update; the settle cron will do it")

    def _update_billed(self):
        """Billed = AT's cost of each message of the line (the message log keeps it after the SMS is gone)."""
        if not self:
            return
        self.flush_recordset()
        self.env["africastalking.message"].flush_model(["spend_id", "cost"])
        self.env.cr.execute(
            """
            UPDATE sms_spend spend
               SET amount_billed = billed.amount, write_date = now() at time zone 'UTC'
              FROM (SELECT s.id, COALESCE(SUM(message.cost), 0) AS amount
                      FROM sms_spend s LEFT JOIN africastalking_message message ON message.spend_id = s.id
                     WHERE s.id = ANY(%s) GROUP BY s.id) billed
             WHERE spend.id = billed.id AND spend.amount_billed IS DISTINCT FROM billed.amount
            """, (self.ids,), log_exceptions=False)  # a concurrent settlement: caught by the caller, not an error
        self.invalidate_recordset(["amount_billed"])

    def _close_finished(self, expired=False):
        """Close the open lines none of whose SMS is left to send (sent, failed, cancelled); a mailing's line also
        waits for the mailing to finish preparing. ``expired``: also lines past their lifetime whose mailing is
        stuck, as long as none of their SMS is queued."""
        open_spends = self.filtered(lambda spend: spend.state == "reserved")
        if not open_spends:
            return
        self.env["sms.sms"].flush_model(["state", "at_spend_id", "mailing_id", "at_origin"])
        self.env["mailing.mailing"].flush_model(["state"])
        self.env.cr.execute(
            """
            SELECT spend.id FROM sms_spend spend
         LEFT JOIN mailing_mailing mailing ON mailing.id = spend.mailing_id
             WHERE spend.id = ANY(%(ids)s)
               AND NOT EXISTS (SELECT 1 FROM sms_sms sms WHERE sms.at_spend_id = spend.id
                                  AND sms.state IN ('outgoing', 'process'))
               AND (spend.mailing_id IS NULL OR (
                        (mailing.state IS NULL OR mailing.state NOT IN ('in_queue', 'sending') OR %(expired)s)
                        AND NOT EXISTS (SELECT 1 FROM sms_sms sms WHERE sms.mailing_id = spend.mailing_id
                                           AND sms.at_spend_id IS NULL AND sms.at_origin IS DISTINCT FROM 'test'
                                           AND sms.state IN ('outgoing', 'process'))))
            """, {"ids": open_spends.ids, "expired": expired})
        finished = [row[0] for row in self.env.cr.fetchall()]
        if not finished:
            return
        # In SQL: two dispatchers of one mailing may close its line at once; the loser's serialization failure is
        # caught by the caller (_settle_sms) and must not be logged as an error.
        self.env.cr.execute(
            """
            UPDATE sms_spend
               SET state = CASE WHEN COALESCE(amount_billed, 0) > 0 THEN 'settled' ELSE 'released' END,
                   amount_released = GREATEST(COALESCE(amount_reserved, 0) - COALESCE(amount_billed, 0), 0),
                   settle_date = now() at time zone 'UTC', write_date = now() at time zone 'UTC',
                   write_uid = %s
             WHERE id = ANY(%s) AND state = 'reserved'
            """, (self.env.uid, finished), log_exceptions=False)
        self.browse(finished).invalidate_recordset(["state", "amount_released", "settle_date"])

    @api.model
    def _cron_settle(self):
        """Catch up: billed amounts changed by late delivery reports, lines a concurrent dispatcher could not
        close, and reservations of sends that died half-way (past RESERVATION_LIFETIME)."""
        recent = fields.Datetime.now() - RESERVATION_LIFETIME
        spends = self.search(["|", ("state", "=", "reserved"), ("settle_date", ">=", recent)])
        spends._update_billed()
        spends._close_finished()
        spends.filtered(lambda spend: spend.state == "reserved" and spend.expire_date
                        and spend.expire_date < fields.Datetime.now())._close_finished(expired=True)
