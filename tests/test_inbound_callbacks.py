"""Inbound SMS (STOP / START / HELP and ordinary messages) and AT opt-outs, posted over real HTTP."""

from odoo.tests import tagged

from ..models.africastalking_inbound import KEYWORD_REPLY_INTERVAL_MINUTES
from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestInboundCallbacks(AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.student = cls.mailing_list.contact_ids.filtered(lambda c: c.mobile == "+254722000001")
        cls.partner = cls.partners[1]  # +254711000001

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _sim(self, method, *args, **kwargs):
        """Let the simulator post a callback to Odoo's real routes; return its HTTP status."""
        self.env.flush_all()
        status = getattr(self.simulator, method)(*args, **kwargs)
        self.env.invalidate_all()
        return status

    def _post(self, kind, secret=None, **form):
        url = "/sms_africastalking/%s/%s/%s" % (self.account.id, secret or self.callback_secret, kind)
        self.env.flush_all()
        response = self.url_open(url, data=form, timeout=20)
        self.env.invalidate_all()
        return response

    def _blacklisted(self, number):
        return self.env["phone.blacklist"].search([("number", "=", number)])

    def _inbound(self, number):
        return self.env["africastalking.inbound"].search([("from_number", "=", number)])

    # ------------------------------------------------------------------
    # Keywords
    # ------------------------------------------------------------------

    def test_stop_start_help_through_simulator(self):
        number = "+254722000001"
        self.assertEqual(self._sim("send_inbound", number, "  stop "), 200)
        entry = self._blacklisted(number)
        self.assertTrue(entry, "STOP blacklists the number")
        self.assertEqual(entry.africastalking_block, "keyword")
        self.assertTrue(self.student.phone_sanitized_blacklisted)
        self.run_sms_queue()
        self.assertSentOnce(number, self.env.company.sms_reply_stop)

        self.simulator.reset()
        self.assertEqual(self._sim("send_inbound", number, "Anza!"), 200)
        self.assertFalse(self._blacklisted(number), "START (Swahili ANZA) lifts the blacklist")
        self.run_sms_queue()
        self.assertSentOnce(number, self.env.company.sms_reply_start)

        self.simulator.reset()
        self.assertEqual(self._sim("send_inbound", number, "MSAADA"), 200)
        self.assertFalse(self._blacklisted(number), "HELP changes nothing")
        self.run_sms_queue()
        self.assertSentOnce(number, self.env.company.sms_reply_help)
        self.assertEqual(self._inbound(number).mapped("keyword"), ["help", "start", "stop"])

    def test_stopped_number_is_skipped_by_mailings(self):
        self._sim("send_inbound", "+254722000001", "SIMAMA")
        mailing = self.create_sms_mailing(body="Fees due")
        self.send_mailing(mailing)
        self.assertEqual(self.simulator.count("+254722000001", "Fees due"), 0)
        self.assertSentOnce("+254722000002", "Fees due")
        trace = mailing.mailing_trace_ids.filtered(lambda t: t.sms_number == "+254722000001")
        self.assertEqual(trace.failure_type, "sms_blacklist")

    def test_start_lifts_list_opt_out(self):
        subscription = self.student.subscription_ids
        subscription.opt_out = True
        self._sim("send_inbound", "+254722000001", "start")
        self.assertFalse(subscription.opt_out)

    def test_keywords_configurable_per_company(self):
        self.env.company.write({"sms_keyword_stop": "ONDOA, Nje", "sms_reply_stop": "Umeondolewa."})
        self._sim("send_inbound", "+254722000002", "STOP")
        self.assertFalse(self._blacklisted("+254722000002"), "STOP is no longer a keyword")
        self.assertFalse(self._inbound("+254722000002").keyword)
        self._sim("send_inbound", "+254722000002", " nje ")
        self.assertTrue(self._blacklisted("+254722000002"))
        self.run_sms_queue()
        self.assertSentOnce("+254722000002", "Umeondolewa.")

    def test_empty_reply_sends_nothing(self):
        self.env.company.sms_reply_help = False
        self._sim("send_inbound", "+254722000002", "help")
        self.run_sms_queue()
        self.assertNothingSent()

    def test_sentence_containing_stop_is_a_message(self):
        self._sim("send_inbound", "+254711000001", "please stop sending me exam dates")
        self.assertFalse(self._blacklisted("+254711000001"))
        self.run_sms_queue()
        self.assertNothingSent()

    # ------------------------------------------------------------------
    # Ordinary messages
    # ------------------------------------------------------------------

    def test_message_logged_and_posted_on_contacts(self):
        contact = self.env["mailing.contact"].create({"name": "Parent", "mobile": "0711 000 001"})
        self.assertEqual(self._sim("send_inbound", "+254711000001", "Is the school open on Friday?"), 200)
        inbound = self._inbound("+254711000001")
        self.assertEqual(len(inbound), 1)
        self.assertEqual(inbound.partner_ids, self.partner)
        self.assertIn(contact, inbound.mailing_contact_ids)
        for record in (self.partner, contact):
            self.assertIn("Is the school open on Friday?", record.message_ids[0].body)
        self.assertEqual(contact.message_ids[0].author_id, self.partner)

    def test_repeat_is_ignored(self):
        form = {"id": "ATXid_inbound_1", "from": "+254711000001", "to": "12345", "text": "Hello",
                "date": "2024-05-01 10:00:00", "linkId": "", "networkCode": "63902"}
        for _attempt in range(3):
            self.assertEqual(self._post("inbound", **form).status_code, 200)
        self.assertEqual(len(self._inbound("+254711000001")), 1)
        self.assertEqual(len(self.partner.message_ids.filtered(lambda m: "Hello" in (m.body or ""))), 1)

    def test_repeated_stop_blacklists_once_and_replies_once_per_window(self):
        for _attempt in range(3):
            self._sim("send_inbound", "+254722000003", "STOP")
        self.assertEqual(len(self.env["phone.blacklist"].with_context(active_test=False).search(
            [("number", "=", "+254722000003")])), 1)
        self.run_sms_queue()
        self.assertEqual(self.simulator.count("+254722000003"), 1, "one paid answer per keyword and window")
        # Once the window has passed, the number is answered again.
        self.env["africastalking.inbound"].search([("from_number", "=", "+254722000003")]).flush_recordset()
        self.env.cr.execute("UPDATE africastalking_inbound SET create_date = create_date - %s * interval '1 minute' "
                            "WHERE from_number = %s", (KEYWORD_REPLY_INTERVAL_MINUTES + 1, "+254722000003"))
        self._sim("send_inbound", "+254722000003", "STOP")
        self.run_sms_queue()
        self.assertEqual(self.simulator.count("+254722000003"), 2)

    def test_keyword_reply_never_goes_to_an_invalid_number(self):
        # Matches AT's phone pattern, but no such number exists (country code 999 is unassigned).
        self.assertEqual(self._post("inbound", **{"from": "+99912345678", "text": "HELP"}).status_code, 200)
        self.assertEqual(self._inbound("+99912345678").keyword, "help")
        self.run_sms_queue()
        self.assertEqual(self.simulator.count("+99912345678"), 0)
        self.assertFalse(self.env["sms.sms"].sudo().search([("number", "=", "+99912345678")]))

    def test_keyword_reply_counts_in_the_company_spending(self):
        self._sim("send_inbound", "+254722000001", "HELP")
        self.run_sms_queue()
        inbound = self._inbound("+254722000001")
        message = self.env["africastalking.message"].sudo().search([("sms_uuid", "=", inbound.reply_sms_uuid)])
        self.assertEqual(len(message), 1)
        self.assertEqual(message.company_id, self.account.company_id)
        self.assertEqual(message.account_id, self.account)
        self.assertGreater(message.cost, 0)

    def test_unknown_number(self):
        self.assertEqual(self._sim("send_inbound", "+254733999888", "Habari"), 200)
        inbound = self._inbound("+254733999888")
        self.assertEqual(inbound.text, "Habari")
        self.assertFalse(inbound.partner_ids or inbound.mailing_contact_ids)
        self.assertEqual(self._sim("send_inbound", "+254733999888", "STOP"), 200)
        self.assertTrue(self._blacklisted("+254733999888"))

    def test_inbound_wrong_secret_and_malformed(self):
        response = self._post("inbound", secret="not-the-secret", **{"from": "+254711000001", "text": "STOP"})
        self.assertEqual(response.status_code, 403)
        response = self._post("inbound", text="STOP")
        self.assertEqual(response.status_code, 400)
        response = self._post("inbound", **{"from": "not a number", "text": "STOP"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self._blacklisted("+254711000001"))
        self.assertFalse(self.env["africastalking.inbound"].search([("account_id", "=", self.account.id)]))

    # ------------------------------------------------------------------
    # AT bulk opt-out and network blacklist
    # ------------------------------------------------------------------

    def test_at_opt_out(self):
        self.assertEqual(self._sim("send_optout", "+254722000002", sender_id="ODOOTEST"), 200)
        entry = self._blacklisted("+254722000002")
        self.assertEqual(entry.africastalking_block, "at_optout")
        self.assertIn("ODOOTEST", entry.message_ids[0].body)
        # A repeat (AT retries) keeps one entry.
        self.assertEqual(self._post("optout", phoneNumber="254722000002", senderId="ODOOTEST").status_code, 200)
        self.assertEqual(len(self._blacklisted("+254722000002")), 1)
        self.run_sms_queue()
        self.assertNothingSent()

    def test_opt_out_unknown_number_and_wrong_secret(self):
        self.assertEqual(self._post("optout", secret="x" * 43, phoneNumber="+254799000111").status_code, 403)
        self.assertFalse(self._blacklisted("+254799000111"))
        self.assertEqual(self._post("optout", phoneNumber="+254799000111").status_code, 200)
        self.assertTrue(self._blacklisted("+254799000111"))
        self.assertEqual(self._post("optout", senderId="X").status_code, 400)

    def test_user_in_blacklist_report_blocks_number(self):
        self.simulator.add_delivery_rule("+254722000003", status="Failed", failure_reason="UserInBlacklist")
        mailing = self.create_sms_mailing(body="Exam timetable")
        self.send_mailing(mailing)
        self.deliver_reports()
        entry = self._blacklisted("+254722000003")
        self.assertEqual(entry.africastalking_block, "network")
        self.assertIn("UserInBlacklist", entry.message_ids[0].body)
        self.assertFalse(self._blacklisted("+254722000001"), "delivered numbers stay")
        # The next mailing skips it.
        self.simulator.reset()
        self.send_mailing(self.create_sms_mailing(body="Second notice"))
        self.assertEqual(self.simulator.count("+254722000003"), 0)
        self.assertSentOnce("+254722000001", "Second notice")
