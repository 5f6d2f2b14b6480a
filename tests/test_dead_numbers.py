"""Dead numbers: after N hard failures in a row a number is suppressed for mailings (not blacklisted); a later
delivery lifts it, an administrator can lift it by hand; soft failures and repeated reports do not count."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase

DEAD = "+254711000501"


@tagged("post_install", "-at_install")
class TestDeadNumbers(AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.sms_dead_number_threshold = 2
        cls.Suppression = cls.env["sms.number.suppression"]

    def _send_single(self, number=DEAD, body="Your fees statement is ready"):
        sms = self.env["sms.sms"].sudo().create({"number": number, "body": body})
        self.run_sms_queue()
        self.deliver_reports()
        return self.env["africastalking.message"].search([("sms_uuid", "=", sms.uuid)])

    def _suppression(self, number=DEAD):
        return self.Suppression.search([("number", "=", number)])

    def test_suppressed_after_n_hard_failures_in_a_row(self):
        self.simulator.add_delivery_rule(DEAD, status="Failed", failure_reason="UserDoesNotExist")
        first = self._send_single()
        self.assertEqual(first.state, "failed")
        record = self._suppression()
        self.assertEqual((record.hard_failure_count, record.suppressed, record.last_failure_reason),
                         (1, False, "UserDoesNotExist"))
        # AT posts the same final report again: it changes no counter.
        url = "/sms_africastalking/%s/%s/delivery" % (self.account.id, self.callback_secret)
        self.env.flush_all()
        response = self.url_open(url, data={"id": first.at_message_id, "status": "Failed", "phoneNumber": DEAD,
                                            "networkCode": "63902", "failureReason": "UserDoesNotExist"}, timeout=20)
        self.assertEqual(response.status_code, 200)
        self.apply_queued_reports()
        record.invalidate_recordset()
        self.assertEqual(record.hard_failure_count, 1)
        self._send_single()
        record.invalidate_recordset()
        self.assertEqual((record.hard_failure_count, record.suppressed, record.reason), (2, True, "dead_number"))
        self.assertTrue(record.suppressed_date)
        self.assertFalse(self.env["phone.blacklist"].search([("number", "=", DEAD)]), "not a blacklist")
        # Transactional SMS still go to a suppressed number.
        self._send_single(body="Exam room changed")
        self.assertSentOnce(DEAD, "Exam room changed")

    def test_soft_and_account_failures_do_not_count(self):
        self.simulator.add_delivery_rule(DEAD, status="Failed", failure_reason="DeliveryFailure")
        self._send_single()
        self.simulator.add_delivery_rule(DEAD, status="AbsentSubscriber", failure_reason=None)
        self._send_single()
        self.assertFalse(self._suppression())

    def test_send_time_refusal_counts(self):
        """AT refuses an invalid number at once (403 InvalidPhoneNumber): a hard failure without any report."""
        self.simulator.add_number_rule(DEAD, 403)
        self._send_single()
        self._send_single()
        self.assertTrue(self._suppression().suppressed)

    def test_delivery_lifts_it_and_resets_the_streak(self):
        self.simulator.add_delivery_rule(DEAD, status="Failed", failure_reason="UserIsInactive")
        self._send_single()
        self._send_single()
        record = self._suppression()
        self.assertTrue(record.suppressed)
        self.simulator.add_delivery_rule(DEAD, status="Success", failure_reason=None)
        self._send_single()
        record.invalidate_recordset()
        self.assertEqual((record.suppressed, record.hard_failure_count, record.lift_source),
                         (False, 0, "delivery"))
        # The streak starts again from zero: one more failure does not suppress at a threshold of 2.
        self.simulator.add_delivery_rule(DEAD, status="Failed", failure_reason="UserIsInactive")
        self._send_single()
        record.invalidate_recordset()
        self.assertEqual((record.suppressed, record.hard_failure_count), (False, 1))

    def _two_sends_ten_minutes_apart(self):
        """Two SMS to DEAD (the first sent ten minutes before the second), no report posted yet."""
        messages = self.env["africastalking.message"]
        for minutes, body in ((20, "First"), (10, "Second")):
            sms = self.env["sms.sms"].sudo().create({"number": DEAD, "body": body})
            self.run_sms_queue()
            message = messages.search([("sms_uuid", "=", sms.uuid)])
            self.env.cr.execute("UPDATE africastalking_message SET send_date = now() at time zone 'UTC' - "
                                "make_interval(mins => %s) WHERE id = %s", (minutes, message.id))
            messages |= message
        return messages

    def _post_final(self, message, status, reason=None):
        self.simulator.set_fate(message.at_message_id, status, reason)
        self.env.flush_all()
        self.simulator.deliver_messages([message.at_message_id], intermediate=False)
        self.apply_queued_reports()

    def test_reordered_reports_count_in_send_order(self):
        """AT reports late and out of order: a delivery resets only failures sent before it."""
        first, second = self._two_sends_ten_minutes_apart()
        # The second SMS failed (reported first), then the first SMS's delivery comes late: the number is still
        # failing since the second SMS, the old delivery resets nothing.
        self._post_final(second, "Failed", "UserDoesNotExist")
        self._post_final(first, "Success")
        record = self._suppression()
        self.assertEqual((first.state, second.state), ("delivered", "failed"))
        self.assertEqual(record.hard_failure_count, 1)

    def test_late_failure_before_a_delivery_counts_nothing(self):
        # The number failed half an hour ago (count 1).
        self.Suppression._record_number_outcomes([(self.env.company.id, DEAD, "hard", "UserDoesNotExist",
                                                   fields.Datetime.now() - timedelta(minutes=30))])
        first, second = self._two_sends_ten_minutes_apart()
        self._post_final(second, "Success")
        record = self._suppression()
        self.assertEqual(record.hard_failure_count, 0)
        self._post_final(first, "Failed", "UserDoesNotExist")
        record.invalidate_recordset()
        self.assertEqual(record.hard_failure_count, 0, "the number was delivered to after that failure")
        # A failure sent after the delivery counts.
        self.simulator.add_delivery_rule(DEAD, status="Failed", failure_reason="UserDoesNotExist")
        self._send_single()
        record.invalidate_recordset()
        self.assertEqual(record.hard_failure_count, 1)

    def test_threshold_zero_never_suppresses(self):
        self.env.company.sms_dead_number_threshold = 0
        self.simulator.add_delivery_rule(DEAD, status="Failed", failure_reason="UserDoesNotExist")
        for _index in range(3):
            self._send_single()
        record = self._suppression()
        self.assertEqual((record.hard_failure_count, record.suppressed), (3, False))

    def test_lift_by_hand_administrators_only(self):
        self.simulator.add_delivery_rule(DEAD, status="Failed", failure_reason="UserDoesNotExist")
        self._send_single()
        self._send_single()
        record = self._suppression()
        with self.assertRaises(AccessError):
            record.with_user(self.user_marketing).action_lift()
        with self.assertRaises(AccessError):
            record.with_user(self.user_marketing).write({"suppressed": False})
        self.assertTrue(record.suppressed)
        record.with_user(self.env.ref("base.user_admin")).action_lift()
        self.assertEqual((record.suppressed, record.lift_source, record.lifted_uid),
                         (False, "manual", self.env.ref("base.user_admin")))

    def test_mailings_skip_it_estimate_and_traces_say_why(self):
        student = "+254722000001"  # a contact of the test mailing list
        self.Suppression._record_number_outcomes(
            [(self.env.company.id, student, "hard", "UserDoesNotExist", None)] * 2)
        mailing = self.create_sms_mailing()
        estimate = mailing._get_sms_cost_estimate()
        self.assertEqual((estimate["excluded"].get("dead_number"), estimate["recipients"]), (1, 3))
        self.assertIn("1 suppressed: dead number", mailing.sms_estimate_note)
        self.send_mailing(mailing)
        trace = mailing.mailing_trace_ids.filtered(lambda t: t.sms_number == student)
        self.assertEqual((trace.trace_status, trace.failure_type), ("cancel", "sms_dead_number"))
        self.assertEqual(dict(trace._fields["failure_type"]._description_selection(self.env))["sms_dead_number"],
                         "Suppressed: Dead Number")
        self.assertEqual(self.simulator.count(student), 0)
        self.assertEqual(self.simulator.stats()["accepted"], 3)
        # Not for transactional sends: the API (an alert) still reaches the number.
        result = self.env["sms.africastalking.api"].with_user(self.user_marketing).send_sms([student], "Exam moved")
        self.run_sms_queue()
        self.assertFalse(result.get("rejected"), result)
        self.assertSentOnce(student, "Exam moved")

    def test_other_company_does_not_see_it(self):
        self.simulator.add_delivery_rule(DEAD, status="Failed", failure_reason="UserDoesNotExist")
        self._send_single()
        other = self.env["res.company"].create({"name": "Other school"})
        user = self.env["res.users"].create({
            "name": "Other Olive", "login": "other_olive_dead", "company_id": other.id,
            "company_ids": [Command.set(other.ids)],
            "groups_id": [Command.set([self.env.ref("base.group_user").id,
                                       self.env.ref("mass_mailing.group_mass_mailing_user").id])]})
        self.assertFalse(self.Suppression.with_user(user).search([("number", "=", DEAD)]))
        self.assertEqual(self.Suppression._suppressed_numbers(other), set())
