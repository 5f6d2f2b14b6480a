"""Conversations: inbound SMS over real HTTP land in one thread per number and company, with the outbound log of
every sending path, an unread counter, assignment, done / reopen, contacts and search."""

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestSmsConversation(AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.partners[1]  # +254711000001
        cls.Conversation = cls.env["sms.conversation"]

    def _receive(self, number, text, **kwargs):
        self.env.flush_all()
        status = self.simulator.send_inbound(number, text, **kwargs)
        self.env.invalidate_all()
        self.assertEqual(status, 200)
        return self.Conversation.search([("number", "=", number), ("company_id", "=", self.env.company.id)])

    def _open_thread(self, conversation, user=None):
        """What the form does when it opens: read the record with its thread."""
        record = conversation.with_user(user) if user else conversation
        return record.web_read({"thread_html": {}, "unread_count": {}, "state": {}})[0]

    def _age_outbound_log(self, minutes=5):
        """A test runs in one transaction, where every row gets the same time: move the SMS sent so far back."""
        self.env.flush_all()
        self.env.cr.execute("UPDATE africastalking_message SET send_date = send_date - %s * interval '1 minute'",
                            (minutes,))
        self.env.invalidate_all()

    def test_inbound_creates_one_thread_per_number(self):
        first = self._receive("+254711000001", "Hello, is school open tomorrow?")
        self.assertEqual(len(first), 1)
        self.assertEqual(first.partner_ids, self.partner, "linked to the contact having the number")
        self.assertEqual(first.unread_count, 1)
        self.assertEqual(first.state, "open")
        self.assertEqual(first.last_message_preview, "Hello, is school open tomorrow?")
        second = self._receive("+254711000001", "And the bus?")
        self.assertEqual(second, first, "the same number's SMS go to the same thread")
        self.assertEqual(second.unread_count, 2)
        self.assertEqual(first.inbound_ids.mapped("text"), ["And the bus?", "Hello, is school open tomorrow?"])
        other = self._receive("+254711000002", "Hi")
        self.assertNotEqual(other, first)
        self.assertEqual(self.Conversation.search_count([("number", "like", "+2547110000")]), 2)

    def test_repeated_callback_counts_once(self):
        self.env.flush_all()
        form = {"date": "2026-12-01 10:00:00", "from": "+254711000001", "id": "inbound-repeat-1", "linkId": "",
                "text": "Repeat me", "to": "12345", "networkCode": "63902"}
        url = "/sms_africastalking/%s/%s/inbound" % (self.account.id, self.callback_secret)
        for _attempt in range(3):
            self.assertEqual(self.url_open(url, data=form, timeout=20).status_code, 200)
        self.env.invalidate_all()
        conversation = self.Conversation.search([("number", "=", "+254711000001")])
        self.assertEqual(conversation.unread_count, 1, "AT's retries of one SMS are one unread message")
        self.assertEqual(len(conversation.inbound_ids), 1)

    def test_keywords_are_shown_but_not_unread(self):
        conversation = self._receive("+254711000001", "STOP")
        self.assertEqual(conversation.unread_count, 0, "STOP is handled automatically: nothing to read")
        self.assertEqual(len(conversation.inbound_ids), 1)
        self.assertIn("STOP", conversation.thread_html)

    def test_thread_shows_outbound_of_every_path_in_order_with_states(self):
        self.partner.with_user(self.user_marketing)._message_sms("Your fees are due")
        self.run_sms_queue()
        self._age_outbound_log()
        conversation = self._receive("+254711000001", "Paid yesterday")
        mailing_number = "+254722000001"
        self.send_mailing(self.create_sms_mailing(body="Exams on Monday"))
        self.assertFalse(self.Conversation.search([("number", "=", mailing_number)]),
                         "a mailing creates no conversation rows")
        self.deliver_reports()
        self._age_outbound_log()
        entries = conversation._thread_entries()
        self.assertEqual([(entry["direction"], entry["text"]) for entry in entries],
                         [("out", "Your fees are due"), ("in", "Paid yesterday")])
        self.assertEqual(entries[0]["state"], "delivered")
        self.assertIn("Delivered", conversation.thread_html)
        student = self._receive(mailing_number, "Which room?")
        self.assertEqual([(e["direction"], e["text"], e["state"]) for e in student._thread_entries()],
                         [("out", "Exams on Monday", "delivered"), ("in", "Which room?", "received")])

    def test_reading_the_thread_clears_unread_and_done_reopens(self):
        before = self.Conversation.with_user(self.user_marketing).systray_unread_count()
        conversation = self._receive("+254711000001", "Hello")
        self.assertEqual(self.Conversation.with_user(self.user_marketing).systray_unread_count(), before + 1)
        values = self._open_thread(conversation, self.user_marketing)
        self.assertEqual(values["unread_count"], 0)
        self.assertIn("Hello", values["thread_html"])
        conversation.invalidate_recordset()
        self.assertEqual(conversation.unread_count, 0)
        self.assertEqual(self.Conversation.with_user(self.user_marketing).systray_unread_count(), before)

        conversation.with_user(self.user_marketing).action_done()
        self.assertEqual(conversation.state, "done")
        self._receive("+254711000001", "One more question")
        conversation.invalidate_recordset()
        self.assertEqual(conversation.state, "open", "a new SMS reopens a done conversation")
        self.assertEqual(conversation.unread_count, 1)
        conversation.with_user(self.user_marketing).action_mark_unread()
        self.assertEqual(conversation.unread_count, 1)

    def test_systray_counter_is_false_outside_sms_marketing(self):
        internal = self.env["res.users"].create({"name": "Internal", "login": "internal_conv",
                                                 "groups_id": [Command.set([self.env.ref("base.group_user").id])]})
        self.assertIs(self.Conversation.with_user(internal).systray_unread_count(), False)

    def test_assign_and_create_contact(self):
        conversation = self._receive("+254733000009", "Who is this?")
        self.assertFalse(conversation.partner_ids)
        conversation.with_user(self.user_marketing).action_assign_to_me()
        self.assertEqual(conversation.user_id, self.user_marketing)
        action = conversation.with_user(self.user_marketing).action_create_contact()
        self.assertEqual(action["res_model"], "res.partner")
        partner = self.env["res.partner"].with_user(self.user_marketing).with_context(**action["context"]).create(
            {"name": "New Parent"})
        self.assertEqual(partner.mobile, "+254733000009")
        conversation.invalidate_recordset()
        self.assertEqual(conversation.partner_ids, partner)
        self.assertEqual(conversation.display_name, "New Parent (+254733000009)")

    def test_search_by_number_name_and_text(self):
        conversation = self._receive("+254711000001", "The gate is locked")
        other = self._receive("+254711000002", "Thanks")
        self.partner.with_user(self.user_marketing)._message_sms("Meeting at noon")
        self.run_sms_queue()
        Conversation = self.Conversation.with_user(self.user_marketing)
        self.assertEqual(Conversation.search([("number", "ilike", "711000001")]), conversation)
        self.assertEqual(Conversation.search([("contact_name", "ilike", self.partner.name)]), conversation)
        self.assertEqual(Conversation.search([("text_search", "ilike", "gate is")]), conversation)
        self.assertEqual(Conversation.search([("text_search", "ilike", "meeting AT")]), conversation,
                         "outbound texts are searched too")
        self.assertEqual(Conversation.search([("text_search", "ilike", "thanks")]), other)
        self.assertFalse(Conversation.search([("text_search", "ilike", "100%")]))

    def test_concurrent_get_or_create_makes_one_row(self):
        first = self.Conversation._get_or_create("+254711000005", self.env.company)
        second = self.Conversation._get_or_create("+254711000005", self.env.company)
        self.assertEqual(first, second)
        with self.assertRaises(UserError):
            self.Conversation._get_or_create("", self.env.company)
