"""AT's money in AT's words: no stock IAP credit page or text is reachable from an AT failure."""

from odoo.tests import tagged

from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestAfricasTalkingMoneyWords(AfricasTalkingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["africastalking.account"].browse(cls.account.id).sudo().write(
            {"balance": "KES 12.40", "balance_amount": 12.4, "balance_currency": "KES"})

    def _arch(self, model, view_type, view_id=None):
        return self.env[model].get_views([(view_id, view_type)])["views"][view_type]["arch"]

    def assertNoIap(self, text):
        self.assertNotRegex(text, r"(?i)\bIAP\b|iap-services|iap\.odoo|get_credits_url")

    def test_failure_banners_and_buttons_speak_of_africas_talking(self):
        form = self._arch("mailing.mailing", "form", self.env.ref("mass_mailing.view_mail_mass_mailing_form").id)
        self.assertNoIap(form)
        self.assertIn("Africa's Talking refused some SMS for lack of balance", form)
        kanban = self._arch("mailing.mailing", "kanban")
        self.assertNoIap(kanban)
        self.assertIn("Africa's Talking balance too low", kanban)
        resend = self._arch("sms.resend", "form")
        self.assertNoIap(resend)
        self.assertNotIn("Buy credits", resend)
        self.assertIn("Africa's Talking Balance", resend)

    def test_buy_credit_buttons_lead_to_the_at_account(self):
        mailing = self.create_sms_mailing().with_env(self.env)  # as the administrator
        message = self.partners[0].message_post(body="SMS", message_type="sms")
        resend = self.env["sms.resend"].create({"mail_message_id": message.id})
        for action in (mailing.action_buy_sms_credits(), resend.action_buy_credits()):
            self.assertEqual(action["res_model"], "africastalking.account")
            self.assertEqual(action["res_id"], self.account.id)
            self.assertNotIn("url", action)

    def test_a_marketing_user_is_told_the_balance_and_whom_to_ask(self):
        mailing = self.create_sms_mailing()
        action = mailing.with_user(self.user_marketing).action_buy_sms_credits()
        self.assertEqual(action["tag"], "display_notification")
        message = action["params"]["message"]
        self.assertIn("KES 12.40", message)
        self.assertIn("administrator", message)
        self.assertIn("https://account.africastalking.com", message)
        self.assertNoIap(message)

    def test_no_account_says_so(self):
        self.account.active = False
        action = self.create_sms_mailing().with_user(self.user_marketing).action_buy_sms_credits()
        self.assertIn("No Africa's Talking account", action["params"]["message"])
