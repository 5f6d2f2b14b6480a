"""The set-based SQL paths move notifications and traces exactly as stock's ORM path does.

The dispatcher's write-back (``sms.sms._africastalking_mark_accepted``) and the delivery reports
(``africastalking.message._propagate_states``) rewrite in SQL what ``sms.tracker._action_update_from_sms_state``
and ``_action_update_from_provider_error`` do record by record. Here every current status of a notification and
of a trace meets every outcome (accepted by AT, each report status, each failure reason), once through stock's
methods and once through the SQL, on twin records; the resulting rows must be the same.
"""

from uuid import uuid4

from odoo.tests import tagged

from ..tools.at_gateway import SendResult
from ..tools.outcomes import FAILED_STATUSES, FAILURE_REASONS, INTERMEDIATE_STATUSES, SUCCESS, delivery_error
from .common import AfricasTalkingCase

BEFORE_FAILURE = ("unknown", "status before the outcome")


def _outcomes():
    """(name, how stock's ORM path applies it, the report state the SQL path gets or None for an accepted send)."""
    outcomes = [
        ("accepted by AT", ("sms_state", "pending"), None),
        ("report Success", ("sms_state", "sent"), ("delivered", "Success", None)),
    ]
    outcomes += [("report %s" % status, ("sms_state", "pending"), ("pending", status, None))
                 for status in sorted(INTERMEDIATE_STATUSES)]
    for status in sorted(FAILED_STATUSES):
        for reason in ["", *sorted(FAILURE_REASONS)]:
            outcomes.append(("report %s %s" % (status, reason),
                             ("provider_error", delivery_error(status, reason)),
                             ("failed", status, reason or status)))
    return outcomes


@tagged("post_install", "-at_install")
class TestStateTransitionsParity(AfricasTalkingCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mailing = cls.env["mailing.mailing"].create({
            "subject": "Parity", "mailing_type": "sms", "body_plaintext": "Parity",
            "mailing_model_id": cls.env["ir.model"]._get_id("res.partner"), "state": "sending",
        })
        cls.notification_statuses = [value for value, _label in
                                     cls.env["mail.notification"]._fields["notification_status"].selection]
        cls.trace_statuses = [value for value, _label in
                              cls.env["mailing.trace"]._fields["trace_status"].selection]

    def _twins(self, outcomes):
        """For each outcome, each notification status and each trace status: two trackers in that status (one
        for stock's path, one for the SQL path), with their SMS claimed ('process') as the dispatcher has them."""
        partner = self.partners[0]
        cases = []
        for outcome in outcomes:
            for kind, statuses in (("notification", self.notification_statuses), ("trace", self.trace_statuses)):
                cases += [(outcome, kind, status) for status in statuses]
        messages = self.env["mail.message"].create([
            {"model": "res.partner", "res_id": partner.id, "body": "SMS", "message_type": "sms"}
            for _case in cases for _twin in range(2)])
        rows, message_index = [], iter(messages)
        for outcome, kind, status in cases:
            twin = []
            for _path in range(2):
                uuid = uuid4().hex
                values = {"sms_uuid": uuid}
                if kind == "notification":
                    values["mail_notification_id"] = self.env["mail.notification"].create({
                        "mail_message_id": next(message_index).id, "res_partner_id": partner.id,
                        "notification_type": "sms", "notification_status": status,
                        "failure_type": BEFORE_FAILURE[0], "failure_reason": BEFORE_FAILURE[1]}).id
                else:
                    next(message_index)
                    values["mailing_trace_id"] = self.env["mailing.trace"].create({
                        "trace_type": "sms", "model": "res.partner", "res_id": partner.id,
                        "mass_mailing_id": self.mailing.id, "sms_number": partner.mobile, "trace_status": status,
                        "failure_type": BEFORE_FAILURE[0], "failure_reason": BEFORE_FAILURE[1]}).id
                tracker = self.env["sms.tracker"].create(values)
                sms = self.env["sms.sms"].create({"uuid": uuid, "number": partner.mobile, "body": "SMS",
                                                  "state": "process"})
                twin.append((tracker, sms))
            rows.append((outcome, kind, status, twin[0], twin[1]))
        return rows

    def _apply_stock(self, rows):
        """Stock's ORM path: what sms.sms._send does for an accepted SMS, what /sms/status does for a report."""
        for (name, (method, value), _report), _kind, _status, (tracker, sms), _sql_twin in rows:
            tracker = tracker.with_context(sms_skip_msg_notification=True)
            if method == "sms_state":
                tracker._action_update_from_sms_state(value)
            else:
                tracker._action_update_from_provider_error(value)
            if name == "accepted by AT":
                sms.write({"state": value, "failure_type": False, "to_delete": True})

    def _apply_sql(self, rows):
        """The addon's set-based SQL: one write-back of all accepted SMS, one statement for all reports."""
        accepted = [sql_twin for (name, _how, _report), _kind, _status, _stock, sql_twin in rows
                    if name == "accepted by AT"]
        sms = self.env["sms.sms"].browse([sms.id for _tracker, sms in accepted])
        sms._africastalking_mark_accepted(
            [SendResult(number=s.number, key=s.uuid, state=SUCCESS, message_id="ATXid_%s" % s.uuid, status="Success")
             for _tracker, s in accepted], unlink_sent=True)
        self.env["africastalking.message"]._propagate_states([
            (tracker.sms_uuid, report[0], report[1], "63902", report[2])
            for (_name, _how, report), _kind, _status, _stock, (tracker, _sms) in rows if report])

    def _row(self, kind, tracker, sms, accepted):
        self.env.flush_all()
        self.env.invalidate_all()
        if kind == "notification":
            record = tracker.mail_notification_id
            values = (record.notification_status, record.failure_type, record.failure_reason)
        else:
            record = tracker.mailing_trace_id
            values = (record.trace_status, record.failure_type, record.failure_reason, bool(record.sent_datetime))
        if accepted:
            values += (sms.state, sms.failure_type, sms.to_delete)
        return values

    def test_every_status_meets_every_outcome_as_in_stock(self):
        rows = self._twins(_outcomes())
        self._apply_stock(rows)
        self._apply_sql(rows)
        differences, moved = [], 0
        for (name, _how, _report), kind, status, (stock_tracker, stock_sms), (sql_tracker, sql_sms) in rows:
            accepted = name == "accepted by AT"
            stock = self._row(kind, stock_tracker, stock_sms, accepted)
            sql = self._row(kind, sql_tracker, sql_sms, accepted)
            if stock != sql:
                differences.append("%s, %s %s: stock %s, SQL %s" % (name, kind, status, stock, sql))
            moved += stock[0] != status
        self.assertEqual(differences, [])
        # The cases are real: most outcomes move most statuses, and some are left alone.
        self.assertGreater(moved, len(rows) // 2)
        self.assertLess(moved, len(rows))

    def test_the_outcomes_cover_every_stock_delivery_error_and_sms_state(self):
        hows = {how for _name, how, _report in _outcomes()}
        errors = {value for method, value in hows if method == "provider_error"}
        self.assertEqual({"sms_%s" % error for error in errors}, self.env["sms.sms"].DELIVERY_ERRORS)
        self.assertEqual({value for method, value in hows if method == "sms_state"}, {"pending", "sent"})
