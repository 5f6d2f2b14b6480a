"""Low-balance alert (once per crossing, after dispatch runs, rate-limited) and AT's money in AT's words on every
failure surface the ledger and AT produce (issue #17)."""

from datetime import timedelta
from decimal import Decimal

from odoo import fields
from odoo.tests import tagged

from .common import AfricasTalkingCase, AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestLowBalanceAlert(AfricasTalkingCase):

    def setUp(self):
        super().setUp()
        self.account_sudo = self.env["africastalking.account"].browse(self.account.id).sudo()
        self.account_sudo.low_balance_threshold = 10.0
        self.admin = self.env.ref("base.user_admin")

    def alerts(self):
        return self.env["mail.activity"].search([("res_model", "=", "africastalking.account"),
                                                 ("res_id", "=", self.account.id)])

    def mails(self):
        return self.env["mail.mail"].search([("model", "=", "africastalking.account"),
                                             ("res_id", "=", self.account.id)])

    def test_once_per_crossing(self):
        self.simulator.set_balance(Decimal("9.00"))
        self.account_sudo._fetch_balance()
        self.assertTrue(self.account_sudo.low_balance_alerted)
        activity = self.alerts()
        self.assertIn(self.admin, activity.user_id, "every administrator gets an activity")
        self.assertIn("KES 9.00", activity[:1].summary)
        mail = self.mails()
        self.assertEqual(len(mail), 1)
        self.assertIn(self.admin.partner_id, mail.recipient_ids)
        self.assertIn("africastalking.com", mail.body_html)
        self.assertNotRegex(mail.body_html, r"(?i)\biap\b")
        # Still low: no second alert
        self.simulator.set_balance(Decimal("5.00"))
        self.account_sudo._fetch_balance()
        self.assertEqual((len(self.alerts()), len(self.mails())), (len(activity), 1))
        # Above, then below again: a new crossing, a new alert
        self.simulator.set_balance(Decimal("50.00"))
        self.account_sudo._fetch_balance()
        self.assertFalse(self.account_sudo.low_balance_alerted)
        self.simulator.set_balance(Decimal("8.00"))
        self.account_sudo._fetch_balance()
        self.assertEqual(len(self.mails()), 2)
        self.assertEqual(len(self.alerts()), 2 * len(activity))

    def test_refreshed_after_dispatch_at_most_once_a_minute(self):
        self.simulator.set_balance(Decimal("10.50"))
        self.account_sudo._fetch_balance()
        self.assertFalse(self.account_sudo.low_balance_alerted)
        self.env["sms.sms"].create([{"number": "+25473310000%s" % index, "body": "Fees"} for index in range(2)])
        self.run_sms_queue()  # spends KES 1.60: 8.90 left, but read less than a minute ago
        self.assertFalse(self.account_sudo.low_balance_alerted, "rate-limited: no read within the minute")
        self.account_sudo.balance_date = fields.Datetime.now() - timedelta(minutes=2)
        requests = self.simulator.stats()["requests"]
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["requests"], requests + 1, "one balance read after the run")
        self.assertTrue(self.account_sudo.low_balance_alerted)
        self.assertAlmostEqual(self.account_sudo.balance_amount, 8.9)
        self.assertTrue(self.alerts())
        requests = self.simulator.stats()["requests"]
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["requests"], requests, "nothing spent since: no read")

    def test_account_form_shows_it(self):
        arch = self.env["africastalking.account"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="low_balance_threshold"', arch)
        self.assertIn('name="low_balance_alerted"', arch)
        self.assertIn('name="activity_ids"', arch)


@tagged("post_install", "-at_install")
class TestAfricasTalkingFailureWords(AfricasTalkingCase):
    """No stock IAP text, button or link is reachable from an AT failure: the failure labels of the chatter's
    popover, the resend dialog, the SMS queue and the mailing statistics speak of Africa's Talking."""

    def assertAtWords(self, text):
        self.assertNotRegex(text, r"(?i)\bIAP\b|iap-services|iap\.odoo|Insufficient Credit|Unregistered Account|"
                                  r"buy credits|set up an account")
        self.assertIn("Africa's Talking", text)

    def test_failure_labels(self):
        for model in ("mail.notification", "sms.sms", "mailing.trace"):
            labels = dict(self.env[model]._fields["failure_type"]._description_selection(self.env))
            self.assertAtWords(labels["sms_credit"])
            self.assertAtWords(labels["sms_acc"])

    def test_balance_refusal_in_the_chatter_and_resend_dialog(self):
        """AT refuses an SMS for lack of balance: the chatter's failure popover and the resend dialog show AT's
        words and lead to the AT account, never to Odoo's credit page."""
        partner = self.partners[0]
        composer = self.env["sms.composer"].with_context(
            active_model="res.partner", active_id=partner.id).create({"body": "Your parcel is here"})
        composer.action_send_sms()
        self.simulator.set_balance(Decimal("0"))  # AT refuses it (its balance ran out after the ledger's check)
        self.run_sms_queue()
        notification = self.env["mail.notification"].search([("res_partner_id", "=", partner.id),
                                                            ("notification_type", "=", "sms")])
        self.assertEqual(notification.failure_type, "sms_credit")
        self.assertAtWords(notification.format_failure_reason())
        resend = self.env["sms.resend"].with_context(default_mail_message_id=notification.mail_message_id.id).create(
            {})
        self.assertTrue(resend.has_insufficient_credit)
        arch = self.env["sms.resend"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotRegex(arch, r"(?i)buy credits|set up an account|\biap\b")
        action = resend.action_buy_credits()
        self.assertEqual((action["res_model"], action["res_id"]), ("africastalking.account", self.account.id))

    def test_ledger_refusal_of_an_automation_uses_at_words(self):
        self.simulator.set_balance(Decimal("0.10"))
        sms = self.env["sms.sms"].create({"number": "+254733100009", "body": "Fees"})
        self.assertEqual(sms.failure_type, "sms_credit")
        label = dict(sms._fields["failure_type"]._description_selection(self.env))[sms.failure_type]
        self.assertAtWords(label + " " + sms.at_failure_reason)


@tagged("post_install", "-at_install")
class TestLowBalanceTour(AfricasTalkingHttpCase):

    def test_low_balance_tour(self):
        account = self.env["africastalking.account"].browse(self.account.id).sudo()
        account.low_balance_threshold = 10.0
        self.simulator.set_balance(Decimal("7.50"))
        account._fetch_balance()
        admin = self.env.ref("base.user_admin")
        self.assertTrue(self.env["mail.activity"].search([
            ("res_model", "=", "africastalking.account"), ("res_id", "=", account.id), ("user_id", "=", admin.id)]))
        self.start_tour("/web#model=africastalking.account&id=%s&view_type=form" % account.id,
                        "sms_africastalking_low_balance_tour", login="admin")
        self.assertEqual(len(self.env["mail.mail"].search([("model", "=", "africastalking.account"),
                                                            ("res_id", "=", account.id)])), 1)
