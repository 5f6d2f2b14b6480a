"""Double opt-in of keyword joins (issue #19): confirmed, never confirmed, confirmed too late."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase
from .test_sms_keywords import KeywordCaseMixin

NUMBER = "+254733000011"


@tagged("post_install", "-at_install")
class TestSmsDoubleOptIn(KeywordCaseMixin, AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.club = cls.env["mailing.list"].create({"name": "Chess Club"})
        cls.keyword = cls.env["sms.keyword"].create({
            "name": "CHESS", "double_opt_in": True,
            "action_ids": [(0, 0, {"action_type": "list_join", "mailing_list_id": cls.club.id})],
        })

    def requests(self, number=NUMBER):
        return self.env["sms.opt.in.request"].search([("number", "=", number)])

    def consents(self, number=NUMBER):
        return self.env["sms.consent"].search([("number", "=", number)], order="id")

    def test_confirmed_within_window(self):
        join = self.sms_in(NUMBER, "chess")
        self.assertFalse(self.subscription(NUMBER, self.club), "nothing counts before the YES")
        request = self.requests()
        self.assertEqual((request.state, request.mailing_list_id, request.inbound_id), ("pending", self.club, join))
        self.run_sms_queue()
        self.assertSentOnce(NUMBER, "Reply YES to confirm you want to receive SMS from Chess Club. "
                                    "Jibu NDIO kuthibitisha unataka kupokea SMS za Chess Club.")
        # A second join while waiting asks nothing more.
        self.simulator.reset()
        self.sms_in(NUMBER, "CHESS")
        self.run_sms_queue()
        self.assertNothingSent()
        self.assertEqual(len(self.requests()), 1)

        confirm = self.sms_in(NUMBER, "Ndio!")
        self.assertEqual((request.state, request.confirm_inbound_id), ("confirmed", confirm))
        subscription = self.subscription(NUMBER, self.club)
        self.assertTrue(subscription)
        self.assertFalse(subscription.opt_out)
        self.assertEqual(self.consents().mapped(lambda r: (r.consent, r.source, r.inbound_id)), [
            ("requested", "double_opt_in_request", join), ("opt_in", "double_opt_in_confirm", confirm)])
        # The YES was not posted as a message on anyone's chatter: it was the confirmation.
        self.assertFalse(confirm.sms_keyword_id)

    def test_never_confirmed(self):
        self.sms_in(NUMBER, "chess")
        self.sms_in(NUMBER, "Thanks, what time is the club?")
        self.assertFalse(self.subscription(NUMBER, self.club))
        self.assertEqual(self.requests().state, "pending")
        self.assertEqual(self.consents().mapped("consent"), ["requested"])
        # Another number's YES confirms nothing of this one.
        self.sms_in("+254733000012", "yes")
        self.assertFalse(self.subscription(NUMBER, self.club))
        self.assertFalse(self.subscription("+254733000012", self.club))

    def test_confirmed_too_late(self):
        self.sms_in(NUMBER, "chess")
        request = self.requests()
        later = fields.Datetime.now() + timedelta(hours=24, minutes=1)
        with freeze_time(later):
            late = self.sms_in(NUMBER, "YES")
        self.assertEqual(request.state, "expired")
        self.assertFalse(self.subscription(NUMBER, self.club))
        self.assertFalse(request.confirm_inbound_id)
        self.assertEqual(self.consents().mapped("consent"), ["requested"], "a late YES records no opt-in")
        self.assertFalse(late.sms_keyword_id)

    def test_expired_by_autovacuum(self):
        self.sms_in(NUMBER, "chess")
        with freeze_time(fields.Datetime.now() + timedelta(days=2)):
            self.env["sms.opt.in.request"]._gc_expire_requests()
        self.assertEqual(self.requests().state, "expired")

    def test_company_setting_and_window(self):
        keyword = self.make_keyword("GOLF", {"action_type": "list_join", "mailing_list_id": self.club.id})
        self.sms_in("+254733000013", "golf")
        self.assertTrue(self.subscription("+254733000013", self.club), "single opt-in by default")
        self.env.company.write({"sms_double_opt_in": True, "sms_double_opt_in_hours": 2})
        self.sms_in("+254733000014", "golf")
        self.assertFalse(self.subscription("+254733000014", self.club))
        request = self.requests("+254733000014")
        self.assertEqual(request.keyword_id, keyword)
        self.assertAlmostEqual(request.deadline, fields.Datetime.now() + timedelta(hours=2),
                               delta=timedelta(minutes=1))
        self.sms_in("+254733000014", "yes")
        self.assertTrue(self.subscription("+254733000014", self.club))

    def test_already_subscribed_asks_nothing(self):
        self.sms_in(NUMBER, "chess")
        self.sms_in(NUMBER, "yes")
        self.run_sms_queue()
        self.simulator.reset()
        self.sms_in(NUMBER, "chess")
        self.run_sms_queue()
        self.assertNothingSent()
        self.assertEqual(self.requests().mapped("state"), ["confirmed"])
