"""The demo is a Kenyan institution: company, currency, time zones, numbers, a sent mailing, an inbound SMS."""
from odoo import Command, fields
from odoo.tests import TransactionCase, tagged

from ..tools.phone import normalize_number


@tagged("post_install", "-at_install")
class TestKenyanDemo(TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sent = cls.env.ref("sms_africastalking.mailing_mailing_demo_sent", raise_if_not_found=False)

    def setUp(self):
        super().setUp()
        if not self.sent:
            self.skipTest("the addon was installed without its demo data")

    def test_company_and_admin_in_kenya(self):
        company = self.env.ref("base.main_company")
        self.assertEqual(company.country_id, self.env.ref("base.ke"))
        self.assertEqual(company.currency_id.name, "KES")
        self.assertEqual(company.partner_id.tz, "Africa/Nairobi")
        self.assertEqual(self.env.ref("base.user_admin").tz, "Africa/Nairobi")
        if "iap_enrich_auto_done" in company._fields:
            self.assertTrue(company.iap_enrich_auto_done, "no partner_autocomplete call to the internet")

    def test_demo_numbers_valid_in_both_forms(self):
        demo_ids = self.env["ir.model.data"].search([("module", "=", "sms_africastalking"), ("model", "in", (
            "mailing.contact", "res.partner"))])
        records = [self.env[data.model].browse(data.res_id) for data in demo_ids]
        self.assertGreaterEqual(len(records), 10)
        raw = [record.mobile for record in records]
        self.assertTrue(any(number.startswith("07") for number in raw), "local 07xx numbers in the demo")
        self.assertTrue(any(number.startswith("+254") for number in raw), "international numbers in the demo")
        for record in records:
            self.assertRegex(record.phone_sanitized or "", r"^\+254(7|1)\d{8}$", record.display_name)
            self.assertEqual(normalize_number(record.mobile, "KE").e164, record.phone_sanitized)
        # Lists per class, department and club, with their members.
        names = self.env["mailing.list"].search([]).mapped("name")
        for prefix in ("Class:", "Department:", "Club:"):
            self.assertTrue(any(name.startswith(prefix) for name in names), prefix)

    def test_sent_mailing_with_delivery_reports(self):
        self.assertEqual(self.sent.state, "done")
        self.assertEqual((self.sent.delivered, self.sent.failed), (3, 2))
        log = self.env["africastalking.message"].search([("mailing_id", "=", self.sent.id)])
        self.assertEqual(sorted(log.mapped("state")), ["delivered"] * 3 + ["failed"] * 2)
        self.assertTrue(all(message.failure_reason for message in log if message.state == "failed"))
        # Stock's default filter of the SMS mailings is "My Mailings": the administrator sees the demo ones.
        admin = self.env.ref("base.user_admin")
        mine = self.env["mailing.mailing"].with_user(admin).search([("user_id", "=", admin.id),
                                                                   ("mailing_type", "=", "sms")])
        self.assertIn(self.sent, mine)
        self.assertIn(self.env.ref("sms_africastalking.mailing_mailing_demo_exams"), mine)

    def test_inbound_conversation(self):
        guardian = self.env.ref("sms_africastalking.res_partner_demo_guardian_grace")
        inbound = self.env["africastalking.inbound"].search([("at_message_id", "=", "demo-inbound-1")])
        self.assertEqual(inbound.partner_ids, guardian)
        self.assertIn("Hall A", guardian.message_ids[:1].body)

    def test_test_wizard_accepts_local_numbers(self):
        """A user whose own country is not the company's still types 07xx numbers in Kenya."""
        user = self.env["res.users"].create({
            "name": "US-set officer", "login": "us_officer", "country_id": self.env.ref("base.us").id,
            "groups_id": [Command.set([self.env.ref("mass_mailing.group_mass_mailing_user").id])]})
        mailing = self.env.ref("sms_africastalking.mailing_mailing_demo_exams")
        # The Test is paid like any send (issue #17): the demo account's simulator is not running here, so the
        # ledger uses the balance read last.
        self.env.company._get_africastalking_account().write(
            {"balance_amount": 100.0, "balance_currency": "KES", "balance_date": fields.Datetime.now()})
        wizard = self.env["mailing.sms.test"].with_user(user).create({
            "mailing_id": mailing.id, "numbers": "0712 345 678\n+254 733 000 111"})
        wizard.action_send_sms()
        sms = self.env["sms.sms"].sudo().search([("mailing_id", "=", mailing.id)])
        self.assertEqual(sorted(sms.mapped("number")), ["+254712345678", "+254733000111"])
