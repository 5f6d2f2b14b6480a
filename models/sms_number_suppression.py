import logging

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

_logger = logging.getLogger(__name__)


class SmsNumberSuppression(models.Model):
    """A number that keeps failing for a reason that says it cannot receive SMS (a dead number): after
    ``res.company.sms_dead_number_threshold`` hard failures in a row it is suppressed for mailings.

    Not a blacklist: nobody asked to stop, the number is just dead (AT still bills what it sends there). Single
    SMS, alerts and API calls still go (a transactional message may be the one that shows the number works again),
    a later delivery of any SMS lifts the suppression, and an SMS manager can lift it by hand. Hard failures are
    those of ``tools/outcomes.py`` (``is_hard_failure``); soft failures (phone off, operator trouble) neither count
    nor break the streak; only a delivery resets it.
    """

    _name = "sms.number.suppression"
    _description = "Suppressed SMS Number"
    _order = "suppressed desc, last_failure_date desc, id desc"
    _rec_name = "number"

    number = fields.Char(required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True,
                                 default=lambda self: self.env.company)
    reason = fields.Selection([("dead_number", "Dead number")], required=True, default="dead_number",
                              readonly=True)
    suppressed = fields.Boolean(readonly=True, index=True,
                                help="Left out of mailings: shown on their traces and estimate as "
                                     "'suppressed: dead number'.")
    hard_failure_count = fields.Integer("Hard Failures in a Row", readonly=True)
    last_failure_reason = fields.Char(readonly=True)
    last_failure_date = fields.Datetime(readonly=True)
    suppressed_date = fields.Datetime("Suppressed On", readonly=True)
    lifted_date = fields.Datetime("Lifted On", readonly=True)
    lift_source = fields.Selection([("delivery", "Delivered again"), ("manual", "Lifted by hand")],
                                   "Lifted By", readonly=True)
    lifted_uid = fields.Many2one("res.users", "Lifted by User", readonly=True)

    _sql_constraints = [
        ("number_company_uniq", "UNIQUE(company_id, number)", "A number has one suppression record per company."),
    ]

    @api.model
    def _suppressed_numbers(self, company=None):
        """The numbers suppressed for mailings of ``company`` (few: a set is fine for any mailing size)."""
        company = company or self.env.company
        self.flush_model(["number", "company_id", "suppressed"])
        self.env.cr.execute("SELECT number FROM sms_number_suppression WHERE suppressed AND company_id = %s",
                            (company.id,))
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _suppressed_among(self, numbers, company=None):
        """The suppressed numbers of ``company`` among ``numbers`` (the recipient rules' loader, per batch)."""
        return self._suppressed_numbers(company) & set(numbers) if numbers else set()

    # ------------------------------------------------------------------
    # Counting outcomes (called by the message log, in bulk)
    # ------------------------------------------------------------------

    @api.model
    def _record_number_outcomes(self, outcomes):
        """``outcomes``: ``(company id, number, 'delivered' | 'hard', reason)`` in the order they happened.

        A delivery resets the number's streak (and lifts a suppression); each hard failure adds one; a number
        reaching its company's threshold is suppressed. Two statements whatever the count.
        """
        per_number = {}
        for company_id, number, outcome, reason in outcomes:
            if not (company_id and number):
                continue
            reset, failures, _last_reason = per_number.get((company_id, number), (False, 0, None))
            if outcome == "delivered":
                per_number[(company_id, number)] = (True, 0, None)
            else:
                per_number[(company_id, number)] = (reset, failures + 1, reason)
        if not per_number:
            return
        self.flush_model()
        self.env["res.company"].flush_model(["sms_dead_number_threshold"])  # read by the SQL below
        keys = list(per_number)
        delivered = [(key, values) for key, values in per_number.items() if values[0]]
        if delivered:
            self._lift_on_delivery([key for key, _values in delivered])
        failing = [(key, values) for key, values in per_number.items() if values[1]]
        if failing:
            self._add_hard_failures(failing)
        self.invalidate_model()
        _logger.debug("Dead-number counters updated for %d numbers", len(keys))

    def _lift_on_delivery(self, keys):
        self.env.cr.execute(
            """UPDATE sms_number_suppression s
                  SET hard_failure_count = 0,
                      lifted_date = CASE WHEN s.suppressed THEN now() at time zone 'UTC' ELSE s.lifted_date END,
                      lift_source = CASE WHEN s.suppressed THEN 'delivery' ELSE s.lift_source END,
                      lifted_uid = CASE WHEN s.suppressed THEN NULL ELSE s.lifted_uid END,
                      suppressed = false, write_date = now() at time zone 'UTC'
                 FROM unnest(%s::int[], %s::varchar[]) AS k(company_id, number)
                WHERE s.company_id = k.company_id AND s.number = k.number
                  AND (s.hard_failure_count > 0 OR s.suppressed)""",
            ([company_id for company_id, _number in keys], [number for _company_id, number in keys]))

    def _add_hard_failures(self, failing):
        self.env.cr.execute(
            """INSERT INTO sms_number_suppression AS s
                      (company_id, number, reason, suppressed, hard_failure_count, last_failure_reason,
                       last_failure_date, create_uid, create_date, write_uid, write_date)
               SELECT f.company_id, f.number, 'dead_number', false, f.failures, f.reason,
                      now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
                 FROM unnest(%(companies)s::int[], %(numbers)s::varchar[], %(failures)s::int[],
                             %(reasons)s::varchar[]) AS f(company_id, number, failures, reason)
          ON CONFLICT (company_id, number) DO UPDATE
                  SET hard_failure_count = s.hard_failure_count + EXCLUDED.hard_failure_count,
                      last_failure_reason = EXCLUDED.last_failure_reason,
                      last_failure_date = EXCLUDED.last_failure_date, write_date = EXCLUDED.write_date""",
            {"uid": self.env.uid,
             "companies": [company_id for (company_id, _number), _values in failing],
             "numbers": [number for (_company_id, number), _values in failing],
             "failures": [values[1] for _key, values in failing],
             "reasons": [values[2] for _key, values in failing]})
        # Suppress those at their company's threshold (0 turns the rule off).
        self.env.cr.execute(
            """UPDATE sms_number_suppression s
                  SET suppressed = true, suppressed_date = now() at time zone 'UTC', lifted_date = NULL,
                      lift_source = NULL, lifted_uid = NULL
                 FROM res_company c
                WHERE c.id = s.company_id AND NOT s.suppressed
                  AND COALESCE(c.sms_dead_number_threshold, 0) > 0
                  AND s.hard_failure_count >= c.sms_dead_number_threshold
                  AND s.number = ANY(%s)""",
            ([number for (_company_id, number), _values in failing],))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_lift(self):
        """Send to these numbers again (an administrator checked them); their streak starts from zero."""
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only administrators can lift a dead-number suppression."))
        self.check_access_rule("write")
        self.sudo().write({
            "suppressed": False, "hard_failure_count": 0, "lifted_date": fields.Datetime.now(),
            "lift_source": "manual", "lifted_uid": self.env.uid,
        })
        return True
