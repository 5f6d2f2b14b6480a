"""Team isolation of what a mailing or a conversation leaves behind, and of what a marketing user may send:

* the Sent SMS log (africastalking.message), the mailing traces and the incoming SMS of team B are not team A's to
  read (numbers, texts, costs), over JSON-RPC as the web client calls them and as the real role;
* a mailing that targets contacts by a filter instead of by lists reaches only the contacts its sender may read:
  refused at Send with a clear error, and applied again when the recipients are resolved (by the cron, as
  superuser);
* only an SMS manager makes a mailing transactional (it then skips the network opt-outs of promotional SMS).
"""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..tools.at_callbacks import InboundMessage
from .common import AfricasTalkingCase, AfricasTalkingHttpCase
from .test_sms_team_lists import TestSmsTeamListsRpc, _TwoTeams


class _TeamTraffic(_TwoTeams):
    """Team A (Mary) and team B (Bob) each sent a mailing to their list and answered a conversation of theirs."""

    @classmethod
    def _setup_team_traffic(cls):
        cls._setup_teams()
        cls.mailing_a = cls.env["mailing.mailing"].with_user(cls.user_marketing).create({
            "subject": "Exams", "mailing_type": "sms", "body_plaintext": "Exams on Monday",
            "mailing_model_id": cls.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.link(cls.list_a.id)]})
        for mailing in cls.mailing_a | cls.mailing_b:
            mailing.sudo().action_send_sms()
        # Each team's member writes in; the member of the team owning the number's list answers.
        number_a = (cls.list_a.contact_ids - cls.list_b.contact_ids)[0].mobile
        cls.conversation_a = cls._receive("in-a", number_a, "When is the exam?")
        cls.conversation_b = cls._receive("in-b", cls.contact_b.mobile, "Is the party on?")
        for user, conversation in ((cls.user_marketing, cls.conversation_a), (cls.user_bob, cls.conversation_b)):
            conversation = conversation.with_user(user)
            conversation.reply_body = "Answer of %s" % user.name
            conversation.action_send_reply()
        cls.env["sms.sms"].sudo()._process_queue()
        cls.env.invalidate_all()
        Message = cls.env["africastalking.message"]
        cls.messages_a = Message.search([("mailing_id", "=", cls.mailing_a.id)])
        cls.messages_b = Message.search([("mailing_id", "=", cls.mailing_b.id)])
        cls.reply_a = Message.search([("origin", "=", "conversation"), ("number", "=", cls.conversation_a.number)])
        cls.reply_b = Message.search([("origin", "=", "conversation"), ("number", "=", cls.conversation_b.number)])
        cls.traces_a = cls.env["mailing.trace"].search([("mass_mailing_id", "=", cls.mailing_a.id)])
        cls.traces_b = cls.env["mailing.trace"].search([("mass_mailing_id", "=", cls.mailing_b.id)])
        cls.inbound_a = cls.conversation_a.inbound_ids
        cls.inbound_b = cls.conversation_b.inbound_ids

    @classmethod
    def _receive(cls, message_id, number, text):
        inbound = cls.env["africastalking.inbound"].sudo()._process_inbound_message(
            cls.account, InboundMessage(message_id=message_id, from_number=number, text=text))
        return inbound.conversation_id


@tagged("post_install", "-at_install")
class TestTeamSentSmsRpc(_TeamTraffic, AfricasTalkingHttpCase):

    _call = TestSmsTeamListsRpc._call
    assertRefused = TestSmsTeamListsRpc.assertRefused
    assertAllowed = TestSmsTeamListsRpc.assertAllowed

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_team_traffic()

    def _visible(self, model, records):
        return set(self.assertAllowed(model, "search", [("id", "in", records.ids)]))

    def test_the_traffic_was_made(self):
        self.assertEqual(len(self.messages_a), 5)  # 4 students and the club member also on list A
        self.assertEqual(len(self.messages_b), 3)
        self.assertEqual((len(self.reply_a), len(self.reply_b)), (1, 1))
        self.assertEqual(self.reply_b.user_id, self.user_bob)
        self.assertEqual(self.reply_b.conversation_id, self.conversation_b)
        self.assertFalse(self.messages_b.user_id, "a mailing's messages follow the mailing, not a sender")
        self.assertEqual((len(self.traces_a), len(self.traces_b)), (5, 3))
        self.assertEqual((len(self.inbound_a), len(self.inbound_b)), (1, 1))

    def test_team_a_cannot_read_team_b_sent_sms(self):
        self.authenticate("marketing_mary", "marketing_mary")
        everything = self.messages_a | self.messages_b | self.reply_a | self.reply_b
        self.assertEqual(self._visible("africastalking.message", everything), set((self.messages_a | self.reply_a).ids))
        answer = self.assertRefused("africastalking.message", "read", self.messages_b[:1].ids, ["number", "body"])
        self.assertNotIn(self.messages_b[0].number, str(answer))
        self.assertRefused("africastalking.message", "read", self.reply_b.ids, ["number", "body"])
        # The cost pivot adds up her team's messages only.
        groups = self.assertAllowed("africastalking.message", "read_group", [("id", "in", everything.ids)],
                                    ["cost:sum"], [])
        self.assertEqual(groups[0]["__count"], len(self.messages_a | self.reply_a))
        # Nor by the contact's number, nor from a search on team B's mailing.
        rows = self.assertAllowed("africastalking.message", "search_read", [("number", "=", self.contact_b.mobile)],
                                  fields=["body"])
        self.assertFalse(rows)
        self.assertFalse(self.assertAllowed("africastalking.message", "search",
                                            [("mailing_id", "=", self.mailing_b.id)]))

    def test_team_a_cannot_read_team_b_traces(self):
        self.authenticate("marketing_mary", "marketing_mary")
        self.assertEqual(self._visible("mailing.trace", self.traces_a | self.traces_b), set(self.traces_a.ids))
        self.assertRefused("mailing.trace", "read", self.traces_b[:1].ids, ["sms_number", "at_cost"])
        self.assertRefused("mailing.trace", "write", self.traces_b[:1].ids, {"trace_status": "error"})

    def test_team_a_cannot_read_team_b_incoming_sms(self):
        self.authenticate("marketing_mary", "marketing_mary")
        self.assertEqual(self._visible("africastalking.inbound", self.inbound_a | self.inbound_b),
                         set(self.inbound_a.ids))
        self.assertRefused("africastalking.inbound", "read", self.inbound_b.ids, ["from_number", "text"])

    def test_team_b_member_sees_team_b_records(self):
        self.authenticate("club_bob", "club_bob")
        everything = self.messages_a | self.messages_b | self.reply_a | self.reply_b
        self.assertEqual(self._visible("africastalking.message", everything), set((self.messages_b | self.reply_b).ids))
        self.assertEqual(self._visible("mailing.trace", self.traces_a | self.traces_b), set(self.traces_b.ids))
        self.assertEqual(self._visible("africastalking.inbound", self.inbound_a | self.inbound_b),
                         set(self.inbound_b.ids))

    def test_sms_manager_sees_every_team(self):
        self.authenticate("sms_maggie", "sms_maggie")
        everything = self.messages_a | self.messages_b | self.reply_a | self.reply_b
        self.assertEqual(self._visible("africastalking.message", everything), set(everything.ids))
        self.assertEqual(self._visible("mailing.trace", self.traces_a | self.traces_b),
                         set((self.traces_a | self.traces_b).ids))
        self.assertEqual(self._visible("africastalking.inbound", self.inbound_a | self.inbound_b),
                         set((self.inbound_a | self.inbound_b).ids))


@tagged("post_install", "-at_install")
class TestTeamSentSmsRoles(_TeamTraffic, AfricasTalkingCase):
    """The same rules as the real role in Python (``with_user``): what other code of the addon reads."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_team_traffic()

    def test_no_team_messages_stay_visible(self):
        # A single SMS to a contact (no mailing, no conversation) is no team's: every marketing user sees it.
        composer = self.env["sms.composer"].with_user(self.user_bob).create({
            "composition_mode": "numbers", "numbers": self.partners[0].mobile, "body": "Bus at 8"})
        composer.action_send_sms()
        self.env["sms.sms"].sudo()._process_queue()
        single = self.env["africastalking.message"].search([("body", "=", "Bus at 8")])
        self.assertEqual(single.user_id, self.user_bob)
        self.assertTrue(single.with_user(self.user_marketing).read(["number"]))

    def test_conversation_thread_shows_what_its_readers_may_see(self):
        thread_b = self.conversation_b.with_user(self.user_bob)._thread_entries()
        self.assertIn("Answer of Club Bob", [entry["text"] for entry in thread_b])
        with self.assertRaises(AccessError):
            self.conversation_b.with_user(self.user_marketing).read(["number"])
        Message = self.env["africastalking.message"].with_user(self.user_marketing)
        self.assertFalse(Message.search([("id", "in", (self.messages_b | self.reply_b).ids)]))

    def test_companies_still_apply_to_managers(self):
        company_2 = self.env["res.company"].create({"name": "Second campus"})
        manager_2 = self.env["res.users"].create({
            "name": "Manager of campus 2", "login": "manager_campus_2",
            "company_id": company_2.id, "company_ids": [Command.set(company_2.ids)],
            "groups_id": [Command.set([self.env.ref("base.group_user").id,
                                       self.env.ref("sms_africastalking.group_sms_manager").id])]})
        everything = self.messages_a | self.messages_b | self.reply_a | self.reply_b
        self.assertFalse(self.env["africastalking.message"].with_user(manager_2).search([("id", "in", everything.ids)]))
        self.assertFalse(self.env["africastalking.inbound"].with_user(manager_2).search(
            [("id", "in", (self.inbound_a | self.inbound_b).ids)]))
        self.assertEqual(self.env["africastalking.message"].with_user(self.user_manager).search(
            [("id", "in", everything.ids)]), everything)

    def test_the_rule_of_a_manager_adds_no_condition(self):
        # Managers bypass the team rules entirely: the screens of issue #21 run without a subquery for them.
        for model in ("africastalking.message", "mailing.trace", "africastalking.inbound"):
            manager_domain = self.env["ir.rule"].with_user(self.user_manager)._compute_domain(model, "read")
            member_domain = self.env["ir.rule"].with_user(self.user_marketing)._compute_domain(model, "read")
            self.assertNotIn("'any'", str(manager_domain), model)
            self.assertIn("'any'", str(member_domain), model)


@tagged("post_install", "-at_install")
class TestTeamAudienceRpc(_TwoTeams, AfricasTalkingHttpCase):
    """A mailing targeting contacts by a filter reaches only the contacts its sender may read."""

    _call = TestSmsTeamListsRpc._call
    assertRefused = TestSmsTeamListsRpc.assertRefused
    assertAllowed = TestSmsTeamListsRpc.assertAllowed

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_teams()
        cls.contact_model_id = cls.env["ir.model"]._get_id("mailing.contact")

    def _filter_mailing_values(self, domain, **values):
        return {"subject": "By filter", "mailing_type": "sms", "body_plaintext": "Hello by filter",
                "mailing_model_id": self.contact_model_id, "mailing_domain": repr(domain), **values}

    def test_member_cannot_send_to_team_b_contacts_by_filter(self):
        self.authenticate("marketing_mary", "marketing_mary")
        mailing_id = self.assertAllowed("mailing.mailing", "create",
                                        self._filter_mailing_values([("list_ids", "in", [self.list_b.id])]))
        for method in ("action_put_in_queue", "action_launch", "action_send_sms"):
            answer = self._call("mailing.mailing", method, [mailing_id])
            self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.UserError", answer)
            self.assertIn("2 Mailing Contact", answer["error"]["data"]["message"])
            self.assertIn("Target the lists of your teams", answer["error"]["data"]["message"])
        self.assertEqual(self.env["mailing.mailing"].browse(mailing_id).state, "draft")
        # Nor by creating it straight in the queue.
        answer = self._call("mailing.mailing", "create",
                            self._filter_mailing_values([("mobile", "!=", False)], state="in_queue"))
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.UserError", answer)
        self.run_sms_queue()
        self.assertNothingSent()

    def test_member_sends_by_filter_within_reach(self):
        self.authenticate("marketing_mary", "marketing_mary")
        own = self.list_a.contact_ids | self.list_public.contact_ids
        mailing_id = self.assertAllowed("mailing.mailing", "create", self._filter_mailing_values(
            [("id", "in", own.ids)]))
        self.assertAllowed("mailing.mailing", "action_put_in_queue", [mailing_id])
        mailing = self.env["mailing.mailing"].browse(mailing_id)
        self.assertEqual(mailing.state, "in_queue")
        self.assertEqual(mailing.sms_launched_by_id, self.user_marketing)
        # Naming an SMS manager as its launcher would lift the rules.
        self.assertRefused("mailing.mailing", "write", [mailing_id], {"sms_launched_by_id": self.user_manager.id})
        # So would editing the filter of a queued mailing launched by a manager: she then answers for it.
        managers = self.env["mailing.mailing"].with_user(self.user_manager).create(self._filter_mailing_values(
            [("id", "in", own.ids)], schedule_type="scheduled", schedule_date="2030-01-01 08:00:00"))
        managers.action_schedule()
        answer = self._call("mailing.mailing", "write", managers.ids,
                            {"mailing_domain": repr([("list_ids", "in", [self.list_b.id])])})
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.UserError", answer)
        self.assertEqual(managers.sms_launched_by_id, self.user_manager)
        mailing.sudo().action_send_sms()
        self.run_sms_queue()
        for number in own.mapped("mobile"):
            self.assertSentOnce(number)

    def test_preparation_leaves_out_contacts_out_of_reach(self):
        """Lists change between Send and the cron's preparation: the cron resolves the filter with the sender's
        rules, not its own (superuser)."""
        self.authenticate("marketing_mary", "marketing_mary")
        mailing_id = self.assertAllowed("mailing.mailing", "create", self._filter_mailing_values(
            [("name", "=like", "Late joiner%")], schedule_type="scheduled", schedule_date="2030-01-01 08:00:00"))
        self.assertAllowed("mailing.mailing", "action_schedule", [mailing_id])
        mailing = self.env["mailing.mailing"].browse(mailing_id)
        self.assertEqual(mailing.state, "in_queue")
        joiners = self.env["mailing.contact"].create([
            {"name": "Late joiner A", "mobile": "+254755000001", "list_ids": [Command.link(self.list_a.id)]},
            {"name": "Late joiner B", "mobile": "+254755000002", "list_ids": [Command.link(self.list_b.id)]},
        ])
        mailing.sudo().action_send_sms()
        self.run_sms_queue()
        self.assertSentOnce(joiners[0].mobile)
        self.assertEqual(self.simulator.count(joiners[1].mobile), 0, "team B's contact is out of Mary's reach")
        self.assertEqual(self.env["mailing.trace"].search([("mass_mailing_id", "=", mailing_id)]).mapped("res_id"),
                         joiners[0].ids)

    def test_sms_manager_sends_to_every_contact_by_filter(self):
        self.authenticate("sms_maggie", "sms_maggie")
        mailing_id = self.assertAllowed("mailing.mailing", "create",
                                        self._filter_mailing_values([("list_ids", "in", [self.list_b.id])]))
        self.assertAllowed("mailing.mailing", "action_put_in_queue", [mailing_id])
        self.env["mailing.mailing"].browse(mailing_id).sudo().action_send_sms()
        self.run_sms_queue()
        for number in self.list_b.contact_ids.mapped("mobile"):
            self.assertSentOnce(number)


@tagged("post_install", "-at_install")
class TestTransactionalMailingRights(_TwoTeams, AfricasTalkingHttpCase):
    """A transactional mailing reaches the numbers that refused promotional SMS: an SMS manager's decision."""

    _call = TestSmsTeamListsRpc._call
    assertRefused = TestSmsTeamListsRpc.assertRefused
    assertAllowed = TestSmsTeamListsRpc.assertAllowed

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_teams()
        cls.values = {"subject": "Fees due", "mailing_type": "sms", "body_plaintext": "Fees are due on Friday",
                      "mailing_model_id": cls.env["ir.model"]._get_id("mailing.list"),
                      "contact_list_ids": [[6, 0, cls.mailing_list.ids]]}

    def test_marketing_user_cannot_make_a_mailing_transactional(self):
        self.authenticate("marketing_mary", "marketing_mary")
        # (a subject each: a refused create leaves its UTM source in a cache the rollback does not clear)
        self.assertRefused("mailing.mailing", "create", dict(self.values, sms_traffic="transactional",
                                                             subject="Fees due (1)"))
        self.assertRefused("mailing.mailing", "create", dict(self.values, subject="Fees due (2)"),
                           context={"default_sms_traffic": "transactional"})
        own_id = self.assertAllowed("mailing.mailing", "create", dict(self.values, subject="Fees due (3)"))
        self.assertRefused("mailing.mailing", "write", [own_id], {"sms_traffic": "transactional"})
        self.assertEqual(self.env["mailing.mailing"].browse(own_id).sms_traffic, "promotional")
        # The form does not offer it to her.
        views = self.assertAllowed("mailing.mailing", "get_views", [[False, "form"]])
        self.assertNotIn('name="sms_traffic"', views["views"]["form"]["arch"])

    def test_sms_manager_makes_a_mailing_transactional(self):
        self.authenticate("sms_maggie", "sms_maggie")
        mailing_id = self.assertAllowed("mailing.mailing", "create", dict(self.values, sms_traffic="transactional"))
        self.assertEqual(self.env["mailing.mailing"].browse(mailing_id).sms_traffic, "transactional")
        views = self.assertAllowed("mailing.mailing", "get_views", [[False, "form"]])
        self.assertIn('name="sms_traffic"', views["views"]["form"]["arch"])
        # A marketing user's copy of it is promotional.
        self.authenticate("marketing_mary", "marketing_mary")
        copy_id = self.assertAllowed("mailing.mailing", "copy", [mailing_id])
        self.assertEqual(self.env["mailing.mailing"].browse(copy_id).sms_traffic, "promotional")

    def test_as_the_role_in_python(self):
        # (copies: create() writes the new UTM source into the dict it is given)
        mailing = self.env["mailing.mailing"].with_user(self.user_marketing).create(dict(self.values))
        with self.assertRaises(AccessError):
            mailing.sms_traffic = "transactional"
        mailing.with_user(self.user_manager).sms_traffic = "transactional"
        self.assertEqual(mailing.sms_traffic, "transactional")
        with self.assertRaises(UserError):  # AccessError is a UserError: the web client shows its message
            self.env["mailing.mailing"].with_user(self.user_bob).create(dict(self.values, sms_traffic="transactional"))
