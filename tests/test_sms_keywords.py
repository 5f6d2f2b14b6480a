"""Keywords that do things (issue #19): each action, through the simulator and Odoo's real inbound route."""

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


class KeywordCaseMixin:
    """Helpers shared by the keyword, consent, double opt-in, poll and premium tests."""

    def sms_in(self, number, text, to="12345", link_id=None, premium=False):
        """The phone ``number`` texts ``text`` to ``to``: the simulator posts it to Odoo's inbound route."""
        self.env.flush_all()
        status = self.simulator.send_inbound(number, text, to=to, link_id=link_id, premium=premium)
        self.env.invalidate_all()
        self.assertEqual(status, 200)
        return self.env["africastalking.inbound"].search([("from_number", "=", number)], limit=1)

    def make_keyword(self, word, *actions, **values):
        return self.env["sms.keyword"].create({
            "name": word, "action_ids": [Command.create(action) for action in actions], **values,
        })

    def subscription(self, number, mailing_list):
        return self.env["mailing.subscription"].search([
            ("contact_id.phone_sanitized", "=", number), ("list_id", "=", mailing_list.id)])


@tagged("post_install", "-at_install")
class TestSmsKeywords(KeywordCaseMixin, AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.club = cls.env["mailing.list"].create({"name": "Drama Club"})
        cls.env["res.lang"]._activate_lang("sw")

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def test_join_creates_contact_and_subscribes(self):
        self.make_keyword("Theatre", {"action_type": "list_join", "mailing_list_id": self.club.id})
        inbound = self.sms_in("+254733000001", "  theatre! ")
        self.assertEqual(inbound.sms_keyword_id.name, "Theatre")
        subscription = self.subscription("+254733000001", self.club)
        self.assertEqual(len(subscription), 1)
        self.assertFalse(subscription.opt_out)
        self.assertEqual(subscription.contact_id.name, "+254733000001")
        # A repeat changes nothing: still one contact, one subscription.
        self.sms_in("+254733000001", "THEATRE")
        self.assertEqual(len(self.subscription("+254733000001", self.club)), 1)
        self.assertEqual(self.env["mailing.contact"].search_count([("phone_sanitized", "=", "+254733000001")]), 1)
        self.run_sms_queue()
        self.assertNothingSent()

    def test_join_reuses_contact_and_lifts_list_opt_out(self):
        student = self.mailing_list.contact_ids.filtered(lambda c: c.mobile == "+254722000001")
        self.club.contact_ids = [Command.link(student.id)]
        subscription = self.subscription("+254722000001", self.club)
        subscription.opt_out = True
        self.make_keyword("KLABU", {"action_type": "list_join", "mailing_list_id": self.club.id})
        self.sms_in("+254722000001", "klabu")
        self.assertFalse(subscription.opt_out)
        self.assertEqual(self.subscription("+254722000001", self.club), subscription)

    def test_leave(self):
        self.make_keyword("LEAVE STUDENTS", {"action_type": "list_leave", "mailing_list_id": self.mailing_list.id})
        self.sms_in("+254722000002", "Leave   students.")
        self.assertTrue(self.subscription("+254722000002", self.mailing_list).opt_out)
        self.assertFalse(self.subscription("+254722000003", self.mailing_list).opt_out)
        self.assertFalse(self.env["phone.blacklist"].search([("number", "=", "+254722000002")]),
                         "leaving a list is not a global opt-out")

    def test_reply_language_and_window(self):
        self.make_keyword("BALANCE", {"action_type": "reply", "reply_en": "Fees are due on Friday.",
                                   "reply_sw": "Ada inalipwa Ijumaa."})
        self.partners[0].lang = "sw"
        self.partners[1].lang = "en_US"
        self.sms_in("+254711000000", "balance")
        self.sms_in("+254711000001", "Balance?")
        self.sms_in("+254733000009", "BALANCE")  # nobody Odoo knows: both languages, as the STOP replies
        self.run_sms_queue()
        self.assertSentOnce("+254711000000", "Ada inalipwa Ijumaa.")
        self.assertSentOnce("+254711000001", "Fees are due on Friday.")
        self.assertSentOnce("+254733000009", "Fees are due on Friday. Ada inalipwa Ijumaa.")
        sms_log = self.env["africastalking.message"].search([("number", "=", "+254711000001")])
        self.assertEqual(sms_log.origin, "keyword", "the reply is an SMS of the company, costed as a keyword reply")

        # The same keyword again within the window: no second SMS (an auto-responder loop costs one SMS).
        self.simulator.reset()
        self.sms_in("+254711000001", "BALANCE")
        self.run_sms_queue()
        self.assertNothingSent()

    def test_activity_for_user(self):
        self.make_keyword("CALL ME", {"action_type": "activity", "user_id": self.user_marketing.id,
                                      "activity_summary": "Call the parent back"})
        inbound = self.sms_in("+254711000002", "call me")
        activity = inbound.conversation_id.activity_ids
        self.assertEqual(len(activity), 1, "the activity is on the number's conversation")
        self.assertEqual(activity.user_id, self.user_marketing)
        self.assertEqual(activity.summary, "Call the parent back")
        self.assertIn("call me", activity.note)

    def test_assign_conversation(self):
        self.make_keyword("COUNSELLOR", {"action_type": "assign", "user_id": self.user_marketing.id})
        inbound = self.sms_in("+254711000001", "Counsellor")
        conversation = self.env["sms.conversation"].search([("number", "=", "+254711000001")])
        self.assertEqual(len(conversation), 1, "one thread, attached once")
        self.assertEqual(inbound.conversation_id, conversation)
        self.assertEqual(conversation.user_id, self.user_marketing)
        self.assertEqual(conversation.unread_count, 1)
        self.assertIn(conversation, self.env["sms.conversation"].with_user(self.user_marketing).search([]))

    def test_reply_to_premium_short_code_uses_link_id(self):
        self.make_keyword("RESULTS", {"action_type": "reply", "reply_en": "Results are out on Friday."},
                          short_code="22384")
        inbound = self.sms_in("+254711000001", "results", to="22384", premium=True)
        self.run_sms_queue()
        (sent,) = self.simulator.messages
        self.assertEqual((sent["sender_id"], sent["premium"], sent["link_id"]),
                         ("22384", True, self.simulator.link_id_of("+254711000001")))
        self.assertTrue(inbound.link_reply_uuid, "the linkId is used once")

    def test_forward_to_email(self):
        self.make_keyword("ABSENT", {"action_type": "email", "email_to": "registrar@school.example"})
        self.sms_in("+254711000001", "Absent")
        mail = self.env["mail.mail"].search([("email_to", "=", "registrar@school.example")])
        self.assertEqual(len(mail), 1)
        self.assertIn("+254711000001", mail.subject)
        self.assertIn("Absent", mail.body_html)

    def test_several_actions_in_sequence(self):
        self.make_keyword(
            "JOIN",
            {"action_type": "list_join", "mailing_list_id": self.club.id, "sequence": 1},
            {"action_type": "reply", "reply_en": "Welcome to the club.", "sequence": 2},
            {"action_type": "email", "email_to": "club@school.example", "sequence": 3},
        )
        self.sms_in("+254733000002", "join")
        self.assertTrue(self.subscription("+254733000002", self.club))
        self.assertTrue(self.env["mail.mail"].search([("email_to", "=", "club@school.example")]))
        self.run_sms_queue()
        self.assertSentOnce("+254733000002", "Welcome to the club.")

    # ------------------------------------------------------------------
    # Matching
    # ------------------------------------------------------------------

    def test_short_code_specific_wins_and_others_do_not_match(self):
        self.make_keyword("INFO2", {"action_type": "reply", "reply_en": "Any number"})
        self.make_keyword("INFO2", {"action_type": "reply", "reply_en": "Short code 20414"}, short_code="20414")
        self.make_keyword("ONLY", {"action_type": "reply", "reply_en": "Only 20414"}, short_code=" 20414")
        self.sms_in("+254733000003", "info2", to="20414")
        self.sms_in("+254733000004", "info2", to="12345")
        inbound = self.sms_in("+254733000005", "only", to="12345")
        self.assertFalse(inbound.sms_keyword_id, "a keyword of another short code does not match")
        self.run_sms_queue()
        self.assertSentOnce("+254733000003", "Short code 20414")
        self.assertSentOnce("+254733000004", "Any number")
        self.assertEqual(self.simulator.count("+254733000005"), 0)

    def test_builtin_words_win_and_sentences_are_messages(self):
        self.make_keyword("JOIN", {"action_type": "list_join", "mailing_list_id": self.club.id})
        inbound = self.sms_in("+254722000001", "please join me to the club")
        self.assertFalse(inbound.sms_keyword_id)
        self.assertFalse(self.subscription("+254722000001", self.club))

    def test_builtin_words_cannot_be_shadowed(self):
        reply = {"action_type": "reply", "reply_en": "x"}
        for word in ("STOP", "stop!", "Simama", "anza", "Msaada", "Unsubscribe", "yes", "Ndío"):
            with self.subTest(word=word), self.assertRaises(ValidationError):
                self.make_keyword(word, reply)
        self.env.company.sms_keyword_stop = "STOP, ONDOA"
        with self.assertRaisesRegex(ValidationError, "built-in STOP word"):
            self.make_keyword("Ondoa", reply)
        keyword = self.make_keyword("JOIN", reply)
        with self.assertRaises(ValidationError):
            keyword.name = "help"
        with self.assertRaises(ValidationError):
            self.make_keyword("!!!", reply)

    def test_action_needs_its_values(self):
        for action in ({"action_type": "list_join"}, {"action_type": "reply"}, {"action_type": "activity"},
                       {"action_type": "email"}, {"action_type": "assign"}):
            with self.subTest(action=action), self.assertRaises(ValidationError):
                self.make_keyword("WORD%s" % action["action_type"], action)

    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------

    def test_marketing_user_manages_keywords_of_own_company(self):
        keyword = self.env["sms.keyword"].with_user(self.user_marketing).create({
            "name": "CLUB", "action_ids": [Command.create({"action_type": "reply", "reply_en": "Hi"})]})
        keyword.action_ids.reply_en = "Hello"
        other = self.env["res.company"].create({"name": "Other School"})
        foreign = self.env["sms.keyword"].create({"name": "FOREIGN", "company_id": other.id})
        self.assertFalse(self.env["sms.keyword"].with_user(self.user_marketing).search([("id", "=", foreign.id)]))
        keyword.with_user(self.user_marketing).unlink()

    def test_internal_and_portal_users_refused(self):
        internal = self.env["res.users"].create({"name": "Ivy", "login": "ivy_kw",
                                                 "groups_id": [Command.set([self.env.ref("base.group_user").id])]})
        portal = self.env["res.users"].create({"name": "Pat", "login": "pat_kw",
                                               "groups_id": [Command.set([self.env.ref("base.group_portal").id])]})
        for user in (internal, portal):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["sms.keyword"].with_user(user).create({"name": "HACK"})
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["sms.keyword"].with_user(user).search([])
