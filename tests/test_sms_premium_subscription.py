"""AT's premium subscription notifications (issue #19): the short code's list follows, with consent records."""

from odoo.tests import tagged

from .common import AfricasTalkingHttpCase
from .test_sms_keywords import KeywordCaseMixin

NUMBER = "+254733000021"


@tagged("post_install", "-at_install")
class TestSmsPremiumSubscription(KeywordCaseMixin, AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.results = cls.env["mailing.list"].create({"name": "Results service (premium)"})
        cls.keyword = cls.env["sms.keyword"].create({
            "name": "RESULTS", "short_code": "22384", "subscription_list_id": cls.results.id})

    def notify(self, number, update_type, short_code="22384", keyword="RESULTS"):
        self.env.flush_all()
        status = self.simulator.send_subscription(number, short_code, keyword=keyword, update_type=update_type)
        self.env.invalidate_all()
        return status

    def consents(self, number=NUMBER):
        return self.env["sms.consent"].search([("number", "=", number), ("source", "=", "premium")], order="id")

    def test_addition_then_deletion(self):
        self.assertEqual(self.notify(NUMBER, "addition"), 200)
        subscription = self.subscription(NUMBER, self.results)
        self.assertEqual(len(subscription), 1)
        self.assertFalse(subscription.opt_out)
        # AT retries until it gets a 200: a repeat changes nothing and records nothing more.
        self.assertEqual(self.notify(NUMBER, "addition"), 200)
        self.assertEqual(len(self.subscription(NUMBER, self.results)), 1)
        self.assertEqual(self.notify(NUMBER, "deletion"), 200)
        self.assertTrue(subscription.opt_out)
        records = self.consents()
        self.assertEqual(records.mapped(lambda r: (r.consent, r.mailing_list_id)),
                         [("opt_in", self.results), ("opt_out", self.results)])
        self.assertIn("22384", records[0].evidence)
        self.assertIn("addition", records[0].evidence)
        self.assertIn("deletion", records[1].evidence)
        self.assertFalse(self.env["phone.blacklist"].search([("number", "=", NUMBER)]),
                         "leaving a premium service is not a global opt-out")

    def test_existing_contact_reused(self):
        student = self.mailing_list.contact_ids.filtered(lambda c: c.mobile == "+254722000001")
        self.notify("254722000001", "addition")  # AT may send the number without '+'
        self.assertEqual(self.subscription("+254722000001", self.results).contact_id, student)

    def test_short_code_without_list_changes_nothing(self):
        self.assertEqual(self.notify(NUMBER, "addition", short_code="30001", keyword="NEWS"), 200)
        self.assertFalse(self.subscription(NUMBER, self.results))
        self.assertFalse(self.consents())

    def test_short_code_list_when_keyword_unknown(self):
        self.assertEqual(self.notify(NUMBER, "addition", keyword="OTHERWORD"), 200)
        self.assertTrue(self.subscription(NUMBER, self.results), "the short code's list is used")

    def test_refused_without_the_account_secret_or_with_bad_input(self):
        path = "/sms_africastalking/%s/%s/subscription"
        form = {"phoneNumber": NUMBER, "shortCode": "22384", "keyword": "RESULTS", "updateType": "addition"}
        self.env.flush_all()
        self.assertEqual(self.url_open(path % (self.account.id, "A" * 43), data=form).status_code, 403)
        self.assertEqual(self.url_open(path % (self.account.id, self.callback_secret),
                                       data={**form, "updateType": "upgrade"}).status_code, 400)
        self.assertEqual(self.url_open(path % (self.account.id, self.callback_secret),
                                       data={**form, "phoneNumber": "x"}).status_code, 400)
        self.env.invalidate_all()
        self.assertFalse(self.subscription(NUMBER, self.results))
        self.assertFalse(self.consents())

    def test_other_company_keyword_not_used(self):
        other = self.env["res.company"].create({"name": "Other School"})
        other_list = self.env["mailing.list"].create({"name": "Other list"})
        self.env["sms.keyword"].create({"name": "NEWS", "short_code": "30001", "company_id": other.id,
                                        "subscription_list_id": other_list.id})
        self.notify(NUMBER, "addition", short_code="30001", keyword="NEWS")
        self.assertFalse(self.subscription(NUMBER, other_list), "this account's company has no such keyword")
