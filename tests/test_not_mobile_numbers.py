"""Numbers that cannot receive SMS (landlines, premium-rate, toll-free...) cost nothing: excluded before sending, with
their reason, in the estimate, the traces, the API and the import preview (one rule, models/recipient_rules.py)."""

import base64

from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingCase

LANDLINE = "+254202222222"  # Nairobi
TOLL_FREE = "+448001234567"  # UK freephone


@tagged("post_install", "-at_install")
class TestNotMobileNumbers(AfricasTalkingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mailing_list.contact_ids = [Command.create({"name": "School office", "mobile": LANDLINE}),
                                        Command.create({"name": "Helpline", "mobile": TOLL_FREE})]

    def test_estimate_and_traces(self):
        mailing = self.create_sms_mailing(body="Exams on Monday")
        estimate = mailing._get_sms_cost_estimate()
        self.assertEqual(estimate["recipients"], 4)
        self.assertEqual(estimate["excluded"], {"not_mobile": 2})
        self.assertIn("2 not mobile numbers (landline, premium-rate...)", mailing._sms_estimate_summary(estimate))
        self.send_mailing(mailing)
        self.assertEqual(self.simulator.stats()["accepted"], 4)
        for number in (LANDLINE, TOLL_FREE):
            self.assertEqual(self.simulator.count(number), 0, "%s cost nothing" % number)
            trace = mailing.mailing_trace_ids.filtered(lambda t, n=number: t.sms_number == n)
            self.assertEqual((trace.trace_status, trace.failure_type), ("cancel", "sms_not_mobile"))

    def test_api_refuses_with_the_reason(self):
        result = self.env["sms.africastalking.api"].send_sms([LANDLINE, "+254733000123"], "Hi")
        self.assertEqual(result["queued"], 1)
        self.assertEqual(len(result["rejected"]), 1)
        self.assertEqual(result["rejected"][0]["recipient"], LANDLINE)
        self.assertIn("cannot receive SMS", result["rejected"][0]["reason"])

    def test_import_preview_and_import(self):
        data = b"Name,Mobile\nAmina,0712345678\nOffice,020 2222222\n"
        parents = self.env["mailing.list"].create({"name": "Parents"})
        wizard = self.env["sms.contact.import"].with_user(self.user_marketing).create({
            "file": base64.b64encode(data), "filename": "parents.csv", "list_ids": [Command.set(parents.ids)]})
        wizard._onchange_file()
        self.assertIn("Not a mobile number (landline, premium-rate...)", wizard.preview_html)
        wizard.action_import()
        self.assertEqual((wizard.created_count, wizard.invalid_count), (1, 1))
        self.assertEqual(parents.contact_ids.mapped("mobile"), ["+254712345678"])
