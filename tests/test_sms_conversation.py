"""Conversations: inbound SMS over real HTTP land in one thread per number and company, with the outbound log of
every sending path, an unread counter, assignment, done / reopen, contacts and search."""

import json

from odoo import Command
from odoo.addons.bus.models.bus import channel_with_db, json_dump
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..models.sms_conversation import UNREAD_CHANNEL, UNREAD_NOTIFICATION
from .common import AfricasTalkingHttpCase
from .test_simulator_inbox import _run_js


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


@tagged("post_install", "-at_install")
class TestSmsConversationBus(AfricasTalkingHttpCase):
    """The systray badge is refreshed by a bus notification when a number writes in, not by a request per click."""

    def _unread_notifications(self):
        self.env.cr.precommit.run()  # the bus writes its messages when the transaction commits
        channel = json_dump(channel_with_db(self.env.cr.dbname, UNREAD_CHANNEL))
        return self.env["bus.bus"].sudo().search([("channel", "=", channel)])

    def test_an_unread_inbound_notifies_without_data(self):
        before = self._unread_notifications()
        self.env.flush_all()
        self.assertEqual(self.simulator.send_inbound("+254711000001", "Is the bus running?"), 200)
        notifications = self._unread_notifications() - before
        self.assertEqual(len(notifications), 1)
        self.assertEqual(json.loads(notifications.message), {"type": UNREAD_NOTIFICATION, "payload": {}},
                         "no number, text or count leaves with it: each client asks for its own count")
        self.env.flush_all()
        self.assertEqual(self.simulator.send_inbound("+254711000001", "STOP"), 200)
        self.assertEqual(len(self._unread_notifications() - before), 1, "STOP is handled, nothing unread")

    def test_only_sms_marketing_users_listen(self):
        internal = self.env["res.users"].create({"name": "Clerk", "login": "clerk_bus",
                                                  "groups_id": [Command.set([self.env.ref("base.group_user").id])]})
        websocket = self.env["ir.websocket"]
        self.assertEqual(websocket.with_user(self.user_marketing)._sms_conversation_channels(), [UNREAD_CHANNEL])
        self.assertEqual(websocket.with_user(internal)._sms_conversation_channels(), [])


@tagged("post_install", "-at_install")
class TestSmsConversationReply(AfricasTalkingHttpCase):
    """Inbound -> thread -> reply -> AT (the simulator, real HTTP) -> delivery report -> thread, bulk and premium."""

    def _receive(self, number, text, **kwargs):
        self.env.flush_all()
        self.assertEqual(self.simulator.send_inbound(number, text, **kwargs), 200)
        self.env.invalidate_all()
        return self.env["sms.conversation"].search([("number", "=", number)])

    def _reply(self, conversation, text):
        conversation = conversation.with_user(self.user_marketing)
        conversation.reply_body = text
        conversation.action_send_reply()
        self.assertFalse(conversation.reply_body, "the reply box empties once the reply is queued")
        queued = conversation._thread_entries()[-1]
        self.assertEqual((queued["direction"], queued["text"], queued["state"]), ("out", text, "queued"))
        self.run_sms_queue()
        self.deliver_reports()

    def test_bulk_reply_round_trip(self):
        conversation = self._receive("+254711000001", "Is the school bus running?")
        self.assertEqual(conversation.reply_route, "ODOOTEST", "an ordinary SMS is answered from the sender ID")
        self._reply(conversation, "Yes, from 7 am.")
        (sent,) = self.simulator.messages
        self.assertEqual((sent["number"], sent["text"], sent["sender_id"], sent["premium"]),
                         ("+254711000001", "Yes, from 7 am.", "ODOOTEST", False))
        self.assertSentOnce("+254711000001", "Yes, from 7 am.")
        last = conversation._thread_entries()[-1]
        self.assertEqual((last["direction"], last["text"], last["state"]), ("out", "Yes, from 7 am.", "delivered"))
        log = self.env["africastalking.message"].search([("number", "=", "+254711000001")], limit=1)
        self.assertEqual(log.origin, "conversation")
        self.assertEqual(log.partner_id, self.partners[1])

    def test_premium_reply_round_trip_carries_the_link_id_once(self):
        conversation = self._receive("+254711000002", "RESULTS 2026", to="22384", premium=True)
        link_id = self.simulator.link_id_of("+254711000002")
        self.assertEqual(conversation.last_inbound_id.link_id, link_id)
        self.assertIn("22384", conversation.reply_route)
        self._reply(conversation, "Your results: Maths A, English B+")
        (sent,) = self.simulator.messages
        self.assertEqual((sent["sender_id"], sent["premium"], sent["link_id"]), ("22384", True, link_id),
                         "bulkSMSMode=0 from the short code, with the inbound's linkId")
        self.assertEqual(conversation._thread_entries()[-1]["state"], "delivered",
                         "the simulator accepted the linkId (a foreign one fails with InvalidLinkId)")
        self.assertEqual(self.simulator.stats()["premium"], 1)

        self.simulator.reset()
        conversation.invalidate_recordset()
        self.assertEqual(conversation.reply_route, "ODOOTEST", "a link id answers one SMS only")
        self._reply(conversation, "Anything else?")
        (second,) = self.simulator.messages
        self.assertEqual((second["sender_id"], second["premium"]), ("ODOOTEST", False))

        self.simulator.reset()
        self._receive("+254711000002", "Thanks", to="22384", premium=True)
        self._reply(conversation, "Welcome")
        (third,) = self.simulator.messages
        self.assertEqual((third["premium"], third["link_id"]),
                         (True, self.simulator.link_id_of("+254711000002")), "a new SMS brings a new link id")

    def test_reply_cost_and_refusals(self):
        conversation = self._receive("+254711000001", "Hello").with_user(self.user_marketing)
        conversation.reply_body = "x" * 170
        self.assertEqual(conversation.reply_segments, 2)
        self.assertTrue(conversation.reply_cost_display)
        conversation.reply_body = "   "
        with self.assertRaises(UserError):
            conversation.action_send_reply()
        self.run_sms_queue()
        self.assertNothingSent()


@tagged("post_install", "-at_install")
class TestSmsConversationFromContact(AfricasTalkingHttpCase):

    def test_contact_opens_its_thread(self):
        partner = self.partners[2].with_user(self.user_marketing)
        action = partner.action_open_sms_conversation()
        conversation = self.env["sms.conversation"].browse(action["res_id"])
        self.assertEqual((conversation.number, conversation.company_id), ("+254711000002", self.env.company))
        self.assertEqual(conversation.partner_ids, self.partners[2])
        self.assertEqual(partner.action_open_sms_conversation()["res_id"], conversation.id, "one thread per number")
        nobody = self.env["res.partner"].create({"name": "No phone"}).with_user(self.user_marketing)
        with self.assertRaises(UserError):
            nobody.action_open_sms_conversation()


@tagged("post_install", "-at_install")
class TestSmsConversationPhonePage(AfricasTalkingHttpCase):
    """A person writes to the premium short code on the simulator's phone page (headless Chromium); Odoo answers
    from the thread; the phone shows the answer with the same linkId."""

    def _open_page(self, steps):
        self.env.flush_all()
        self.browser_js(self.simulator.url + "/phones", _run_js(steps), ready="document.body.dataset.ready === '1'",
                        timeout=60)
        self.env.invalidate_all()

    def test_premium_short_code_round_trip_on_the_phone_page(self):
        number = "+254711000099"
        self._open_page("""
            document.querySelector("#new-phone-number").value = %(number)s;
            document.querySelector("#new-phone button").click();
            await waitFor("the new phone's thread", () => !document.querySelector("#composer").hidden);
            document.querySelector("#short-code").value = "22384";
            document.querySelector("#premium").checked = true;
            document.querySelector("#reply-text").value = "RESULTS";
            document.querySelector("#reply-form button").click();
            await odooAnswer("#thread .bubble.sent.reply", "the SMS to the short code");
            const sent = document.querySelector("#thread .bubble.sent.reply");
            if (!sent.dataset.linkId || !sent.textContent.includes("to 22384")) {
                throw new Error("the phone shows no linkId for its premium SMS: " + sent.textContent);
            }
        """ % {"number": json.dumps(number)})
        link_id = self.simulator.link_id_of(number)
        conversation = self.env["sms.conversation"].search([("number", "=", number)])
        self.assertEqual((conversation.last_inbound_id.text, conversation.last_inbound_id.to_number,
                          conversation.last_inbound_id.link_id), ("RESULTS", "22384", link_id))

        conversation.with_user(self.user_marketing).write({"reply_body": "Maths A, English B+"})
        conversation.with_user(self.user_marketing).action_send_reply()
        self.run_sms_queue()

        self._open_page("""
            await openPhone(%(number)s);
            const answer = await waitFor("Odoo's answer", () => receivedBubble("Maths A, English B+"));
            const sent = document.querySelector("#thread .bubble.sent.reply");
            if (answer.dataset.linkId !== sent.dataset.linkId) {
                throw new Error("linkId " + answer.dataset.linkId + " answers " + sent.dataset.linkId);
            }
            const from = answer.querySelector(".from").textContent;
            if (!from.includes("22384") || !from.includes("bulkSMSMode=0")) {
                throw new Error("not a premium answer from the short code: " + from);
            }
        """ % {"number": json.dumps(number)})
        self.deliver_reports()
        self.assertEqual(conversation._thread_entries()[-1]["state"], "delivered")
