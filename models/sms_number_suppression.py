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
    # When the newest SMS counted as a hard failure, and the newest delivered one, were sent: reports come late and
    # out of order, outcomes are counted in the order the SMS left.
    last_failure_send_date = fields.Datetime("Last Failed SMS Sent On", readonly=True)
    last_delivery_send_date = fields.Datetime("Last Delivered SMS Sent On", readonly=True)

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
        """``outcomes``: ``(company id, number, 'delivered' | 'hard', reason, sent at)`` of messages that just
        became final (each message once: the caller skips repeated reports).

        Counted in the order the SMS were sent, not the order their reports came (AT reports late, and reorders):
        a delivery resets the streak of failures sent before it (and lifts a suppression); a late delivery of an
        SMS older than the last counted failure resets nothing; a late hard failure of an SMS older than the last
        delivery counts nothing. A number reaching its company's threshold is suppressed. The records involved are
        read once (a number without a record and without a hard failure needs none) and locked.
        """
        outcomes = [outcome for outcome in outcomes if outcome[0] and outcome[1]]
        if not outcomes:
            return
        self.flush_model()
        keys = sorted({(company_id, number) for company_id, number, *_rest in outcomes})
        records = self._lock_records(keys)
        hard_keys = {(company_id, number) for company_id, number, outcome, *_rest in outcomes if outcome == "hard"}
        new_keys = [key for key in keys if key in hard_keys and key not in records]
        if new_keys:
            created = self.create([{"company_id": company_id, "number": number} for company_id, number in new_keys])
            records.update({(record.company_id.id, record.number): record for record in created})
        epoch = fields.Datetime.to_datetime("1970-01-01")
        states = {key: {"count": record.hard_failure_count, "suppressed": record.suppressed,
                        "last_failure": record.last_failure_send_date or epoch,
                        "last_delivery": record.last_delivery_send_date or epoch,
                        "reason": record.last_failure_reason, "lifted": False}
                  for key, record in records.items()}
        for company_id, number, outcome, reason, sent_at in sorted(outcomes, key=lambda o: o[4] or epoch):
            state = states.get((company_id, number))
            if state is None:
                continue  # a delivery to a number that never failed
            sent_at = sent_at or fields.Datetime.now()
            if outcome == "delivered":
                if sent_at >= state["last_failure"]:
                    state.update(count=0, lifted=state["lifted"] or state["suppressed"], suppressed=False)
                state["last_delivery"] = max(state["last_delivery"], sent_at)
            elif sent_at >= state["last_delivery"]:
                state.update(count=state["count"] + 1, reason=reason)
                state["last_failure"] = max(state["last_failure"], sent_at)
        self._write_states(records, states)

    def _lock_records(self, keys):
        """``{(company id, number): record}`` of these numbers, locked against a concurrent applier."""
        self.env.cr.execute(
            """SELECT s.id FROM sms_number_suppression s
                 JOIN unnest(%s::int[], %s::varchar[]) AS k(company_id, number)
                   ON s.company_id = k.company_id AND s.number = k.number
                  FOR UPDATE OF s""",
            ([company_id for company_id, _number in keys], [number for _company_id, number in keys]))
        found = self.browse([row[0] for row in self.env.cr.fetchall()])
        return {(record.company_id.id, record.number): record for record in found}

    def _write_states(self, records, states):
        now = fields.Datetime.now()
        for key, record in records.items():
            state = states[key]
            threshold = record.company_id.sms_dead_number_threshold
            suppress = not state["suppressed"] and threshold > 0 and state["count"] >= threshold
            values = {
                "hard_failure_count": state["count"], "last_failure_reason": state["reason"],
                "last_failure_send_date": _epoch_to_false(state["last_failure"]),
                "last_delivery_send_date": _epoch_to_false(state["last_delivery"]),
            }
            if state["last_failure"] != (record.last_failure_send_date or None) and _epoch_to_false(
                    state["last_failure"]):
                values["last_failure_date"] = now
            if suppress:
                values.update(suppressed=True, suppressed_date=now, lifted_date=False, lift_source=False,
                              lifted_uid=False)
            elif state["lifted"]:
                values.update(suppressed=False, lifted_date=now, lift_source="delivery", lifted_uid=False)
            changed = {name: value for name, value in values.items() if record[name] != value}
            if changed:
                record.write(changed)

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


def _epoch_to_false(value):
    return False if value is None or value.year == 1970 else value
