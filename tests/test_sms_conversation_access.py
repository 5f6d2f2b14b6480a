"""Who sees and answers which conversation, per role, over JSON-RPC as the web client calls it."""

from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase
from .test_secrets import _JsonRpc


@tagged("post_install", "-at_install")
class TestSmsConversationAccess(_JsonRpc, AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Other school", "country_id": cls.env.ref("base.ke").id})
        marketing = cls.env.ref("mass_mailing.group_mass_mailing_user")

        def user(login, groups, companies=company):
            return cls.env["res.users"].create({
                "name": login[5:].replace("_", " ").title(), "login": login, "password": login + "-pass-1234",
                "company_id": companies[:1].id, "company_ids": [Command.set(companies.ids)],
                "groups_id": [Command.set([group.id for group in groups])]})

        cls.user_marketing.password = "marketing_mary-pass-1234"
        cls.member = cls.user_marketing
        cls.outsider = user("conv_outsider", [cls.env.ref("base.group_user"), marketing])
        cls.manager = user("conv_sms_manager", [cls.env.ref("base.group_user"),
                                           cls.env.ref("sms_africastalking.group_sms_manager")])
        cls.internal = user("conv_internal", [cls.env.ref("base.group_user")])
        cls.portal = user("conv_portal", [cls.env.ref("base.group_portal")])
        cls.team = cls.env["sms.team"].create({"name": "ICT Office", "member_ids": [Command.link(cls.member.id)],
                                               "mailing_list_ids": [Command.link(cls.mailing_list.id)]})
        Conversation = cls.env["sms.conversation"]
        cls.on_team_list = Conversation._get_or_create("+254722000001", company)  # a Students contact
        cls.no_team = Conversation._get_or_create("+254733000001", company)
        cls.assigned_to_manager = Conversation._get_or_create("+254733000002", company)
        cls.assigned_to_manager.user_id = cls.manager
        cls.assigned_to_outsider = Conversation._get_or_create("+254733000003", company)
        cls.assigned_to_outsider.user_id = cls.outsider
        cls.of_team = Conversation._get_or_create("+254733000004", company)
        cls.of_team._assign(user=cls.manager, team=cls.team)
        cls.other_company = Conversation._get_or_create("+254733000005", cls.company_b)

    def _visible(self, login):
        self.authenticate(login, login + "-pass-1234")
        # Only this test's threads: the demo data may hold others
        mine = (self.on_team_list | self.no_team | self.assigned_to_manager | self.assigned_to_outsider
                | self.of_team | self.other_company).ids
        answer = self._call_kw("sms.conversation", "search_read", [[("id", "in", mine)]], {"fields": ["number"]})
        if "error" in answer:
            return answer["error"]["data"]["name"]
        return {row["number"] for row in answer["result"]}

    def test_each_role_sees_its_conversations(self):
        self.assertEqual(self._visible("marketing_mary"), {
            "+254722000001",  # a contact of a list her team owns
            "+254733000001",  # nobody's, no team
            "+254733000004",  # her team's, assigned to someone else
        })
        self.assertEqual(self._visible("conv_outsider"), {"+254733000001", "+254733000003"},
                         "not the team's lists; the one assigned to them")
        self.assertEqual(self._visible("conv_sms_manager"), {"+254722000001", "+254733000001", "+254733000002",
                                                        "+254733000003", "+254733000004"},
                         "an SMS manager sees all of their companies")
        self.assertEqual(self._visible("conv_internal"), "odoo.exceptions.AccessError")
        self.assertEqual(self._visible("conv_portal"), "odoo.exceptions.AccessError")

    def test_only_those_who_see_a_thread_answer_it(self):
        self.authenticate("conv_outsider", "conv_outsider-pass-1234")
        answer = self._call_kw("sms.conversation", "write", [self.on_team_list.ids, {"reply_body": "Hi"}])
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        answer = self._call_kw("sms.conversation", "action_send_reply", [self.on_team_list.ids])
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        answer = self._call_kw("sms.conversation", "action_done", [self.of_team.ids])
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError")
        self.run_sms_queue()
        self.assertNothingSent()
        self.assertEqual(self.of_team.state, "open")

        self.authenticate("marketing_mary", "marketing_mary-pass-1234")
        answer = self._call_kw("sms.conversation", "write", [self.on_team_list.ids, {"reply_body": "Hello"}])
        self.assertTrue(answer.get("result"), answer)
        answer = self._call_kw("sms.conversation", "action_send_reply", [self.on_team_list.ids])
        self.assertTrue(answer.get("result"), answer)
        self.run_sms_queue()
        self.assertSentOnce("+254722000001", "Hello")

    def test_private_helpers_are_not_callable_over_rpc(self):
        self.authenticate("marketing_mary", "marketing_mary-pass-1234")
        for method, args in (("_get_or_create", ["+254799000001", self.env.company.id]),
                             ("_assign", [self.no_team.ids]), ("_mark_read", [self.no_team.ids])):
            answer = self._call_kw("sms.conversation", method, args)
            self.assertIn("error", answer, method)
        self.assertFalse(self.env["sms.conversation"].search([("number", "=", "+254799000001")]))

    def test_counter_counts_what_the_user_sees(self):
        self.env.cr.execute("UPDATE sms_conversation SET unread_count = 0")
        (self.on_team_list | self.assigned_to_outsider | self.other_company).write({"unread_count": 1})
        self.env.invalidate_all()
        Conversation = self.env["sms.conversation"]
        self.assertEqual(Conversation.with_user(self.member).systray_unread_count(), 1)
        self.assertEqual(Conversation.with_user(self.outsider).systray_unread_count(), 1)
        self.assertEqual(Conversation.with_user(self.manager).systray_unread_count(), 2)
        self.assertIs(Conversation.with_user(self.internal).systray_unread_count(), False)

    def test_team_membership_follows_the_lists(self):
        self.assertEqual(self.on_team_list.team_member_ids, self.member)
        self.assertFalse(self.no_team.team_member_ids)
        self.team.mailing_list_ids = [Command.clear()]
        self.assertFalse(self.on_team_list.with_user(self.outsider).search(
            [("id", "=", self.on_team_list.id), ("team_member_ids", "!=", False)]))
        self.assertIn(self.on_team_list, self.env["sms.conversation"].with_user(self.outsider).search([]),
                      "once no team owns the list, the unassigned thread is everyone's")
