"""Lists owned by teams, per role and over JSON-RPC: a marketing user of team A cannot read, write or message team
B's list, its contacts or its mailings, and uses their own; lists of no team stay everyone's; SMS managers see all."""

import json

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import AfricasTalkingCase, AfricasTalkingHttpCase


class _TwoTeams:
    @classmethod
    def _setup_teams(cls):
        user_values = {"groups_id": [Command.set([cls.env.ref("base.group_user").id,
                                                 cls.env.ref("mass_mailing.group_mass_mailing_user").id])]}
        cls.user_marketing.password = "marketing_mary"
        cls.user_bob = cls.env["res.users"].create({
            "name": "Club Bob", "login": "club_bob", "password": "club_bob", "email": "bob@example.com", **user_values})
        cls.user_manager = cls.env["res.users"].create({
            "name": "Manager Maggie", "login": "sms_maggie", "password": "sms_maggie", "email": "maggie@example.com",
            "groups_id": [Command.set([cls.env.ref("base.group_user").id,
                                       cls.env.ref("sms_africastalking.group_sms_manager").id])]})
        cls.list_a = cls.mailing_list  # Students, 4 contacts
        cls.list_b = cls.env["mailing.list"].create({
            "name": "Club members",
            "contact_ids": [Command.create({"name": "Club member %s" % index, "mobile": "+25473300000%s" % index})
                            for index in range(3)],
        })
        cls.list_public = cls.env["mailing.list"].create({
            "name": "Newsletter",
            "contact_ids": [Command.create({"name": "Reader", "mobile": "+254744000001"})],
        })
        cls.contact_b = cls.list_b.contact_ids[0]
        cls.contact_both = cls.list_b.contact_ids[1]  # also on team A's list: visible to A through it
        cls.list_a.contact_ids = [Command.link(cls.contact_both.id)]
        cls.team_a = cls.env["sms.team"].create({
            "name": "ICT Office", "member_ids": [Command.link(cls.user_marketing.id)],
            "mailing_list_ids": [Command.link(cls.list_a.id)]})
        cls.team_b = cls.env["sms.team"].create({
            "name": "Marketing Club", "member_ids": [Command.link(cls.user_bob.id)],
            "mailing_list_ids": [Command.link(cls.list_b.id)]})
        cls.mailing_b = cls.env["mailing.mailing"].with_user(cls.user_bob).create({
            "subject": "Club party", "mailing_type": "sms", "body_plaintext": "Party on Friday",
            "mailing_model_id": cls.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.link(cls.list_b.id)]})


@tagged("post_install", "-at_install")
class TestSmsTeamListsRpc(_TwoTeams, AfricasTalkingHttpCase):
    """Every call as the web client (or a script with the session cookie) makes it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_teams()

    def _call(self, model, method, *args, **kwargs):
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1,
                   "params": {"model": model, "method": method, "args": list(args), "kwargs": kwargs}}
        self.env.flush_all()
        response = self.url_open("/web/dataset/call_kw/%s/%s" % (model, method), data=json.dumps(payload),
                                 headers={"Content-Type": "application/json"}, timeout=60)
        self.env.invalidate_all()
        return response.json()

    def assertRefused(self, model, method, *args, **kwargs):
        answer = self._call(model, method, *args, **kwargs)
        self.assertNotIn("result", answer, "%s.%s%r should be refused" % (model, method, args))
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError", answer)
        return answer

    def assertAllowed(self, model, method, *args, **kwargs):
        answer = self._call(model, method, *args, **kwargs)
        self.assertNotIn("error", answer)
        return answer.get("result")  # a method returning None answers without "result"

    def _visible(self, model, ids):
        return set(self.assertAllowed(model, "search", [("id", "in", ids)], context={"active_test": False}))

    def test_member_of_team_a_sees_own_and_public_lists_only(self):
        self.authenticate("marketing_mary", "marketing_mary")
        lists = self.list_a | self.list_b | self.list_public
        self.assertEqual(self._visible("mailing.list", lists.ids), {self.list_a.id, self.list_public.id})
        self.assertRefused("mailing.list", "read", [self.list_b.id], ["name", "contact_ids"])
        self.assertRefused("mailing.list", "write", [self.list_b.id], {"name": "Hacked"})
        self.assertRefused("mailing.list", "unlink", [self.list_b.id])
        self.assertEqual(self.list_b.name, "Club members")
        # Their own list: read and write.
        self.assertAllowed("mailing.list", "write", [self.list_a.id], {"name": "Students 2027"})
        self.assertEqual(self.list_a.name, "Students 2027")

    def test_member_of_team_a_cannot_reach_team_b_contacts(self):
        self.authenticate("marketing_mary", "marketing_mary")
        contacts = self.list_a.contact_ids | self.list_b.contact_ids | self.list_public.contact_ids
        visible = self._visible("mailing.contact", contacts.ids)
        self.assertEqual(visible, set((self.list_a.contact_ids | self.list_public.contact_ids).ids))
        self.assertIn(self.contact_both.id, visible, "a contact also on a list of my team is mine to see")
        self.assertNotIn(self.contact_b.id, visible)
        self.assertRefused("mailing.contact", "read", [self.contact_b.id], ["name", "mobile"])
        self.assertRefused("mailing.contact", "write", [self.contact_b.id], {"mobile": "+254799999999"})
        self.assertEqual(self.contact_b.mobile, "+254733000000")
        # Nor through the subscriptions, nor by subscribing someone to B's list.
        subscriptions = self.env["mailing.subscription"].search([("list_id", "=", self.list_b.id)])
        self.assertFalse(self._visible("mailing.subscription", subscriptions.ids))
        self.assertRefused("mailing.subscription", "create",
                           {"contact_id": (self.list_a.contact_ids - self.list_b.contact_ids)[0].id,
                            "list_id": self.list_b.id})
        self.assertRefused("mailing.contact", "create",
                           {"name": "Intruder", "mobile": "+254755000001", "list_ids": [[4, self.list_b.id]]})
        self.assertNotIn("Intruder", self.list_b.contact_ids.mapped("name"))

    def test_member_of_team_a_cannot_message_team_b_list(self):
        self.authenticate("marketing_mary", "marketing_mary")
        self.assertFalse(self._visible("mailing.mailing", self.mailing_b.ids))
        self.assertRefused("mailing.mailing", "read", [self.mailing_b.id], ["subject"])
        self.assertRefused("mailing.mailing", "action_put_in_queue", [self.mailing_b.id])
        self.assertRefused("mailing.mailing", "action_send_sms", [self.mailing_b.id])
        self.assertRefused("mailing.mailing", "action_launch", [self.mailing_b.id])
        self.assertEqual(self.mailing_b.state, "draft")
        values = {"subject": "Mine", "mailing_type": "sms", "body_plaintext": "Hello",
                  "mailing_model_id": self.env["ir.model"]._get_id("mailing.list")}
        self.assertRefused("mailing.mailing", "create", dict(values, contact_list_ids=[[4, self.list_b.id]]))
        self.assertRefused("mailing.mailing", "create",
                           dict(values, contact_list_ids=[[6, 0, [self.list_a.id, self.list_b.id]]]))
        # Retargeting their own mailing at B's list is refused too, and changes nothing.
        own_id = self.assertAllowed("mailing.mailing", "create", dict(values, contact_list_ids=[[4, self.list_a.id]]))
        self.assertRefused("mailing.mailing", "write", [own_id], {"contact_list_ids": [[4, self.list_b.id]]})
        self.assertEqual(self.env["mailing.mailing"].browse(own_id).contact_list_ids, self.list_a)
        self.assertEqual(self.simulator.stats()["requests"], 0, "nothing reached Africa's Talking")

    def test_member_of_team_a_sends_to_own_list(self):
        self.authenticate("marketing_mary", "marketing_mary")
        values = {"subject": "Exams", "mailing_type": "sms", "body_plaintext": "Exams on Monday",
                  "mailing_model_id": self.env["ir.model"]._get_id("mailing.list"),
                  "contact_list_ids": [[6, 0, [self.list_a.id, self.list_public.id]]]}
        own_id = self.assertAllowed("mailing.mailing", "create", values)
        self.assertAllowed("mailing.mailing", "action_put_in_queue", [own_id])
        mailing = self.env["mailing.mailing"].browse(own_id)
        self.assertEqual(mailing.state, "in_queue")
        mailing.sudo().action_send_sms()
        self.run_sms_queue()
        numbers = (self.list_a.contact_ids | self.list_public.contact_ids).mapped("mobile")
        for number in numbers:
            self.assertSentOnce(number)
        self.assertEqual(self.simulator.count(self.contact_b.mobile), 0)

    def test_member_cannot_hand_lists_around(self):
        self.authenticate("marketing_mary", "marketing_mary")
        self.assertRefused("mailing.list", "write", [self.list_a.id], {"sms_team_ids": [[6, 0, []]]})
        self.assertRefused("mailing.list", "write", [self.list_a.id], {"sms_team_ids": [[4, self.team_b.id]]})
        self.assertRefused("mailing.list", "write", [self.list_public.id], {"sms_team_ids": [[4, self.team_b.id]]})
        self.assertRefused("sms.team", "write", [self.team_a.id], {"mailing_list_ids": [[4, self.list_public.id]]})
        self.assertEqual(self.list_a.sms_team_ids, self.team_a)
        self.assertFalse(self.list_public.sms_team_ids)
        # A new list of their own team is fine.
        new_id = self.assertAllowed("mailing.list", "create", {"name": "Lab users",
                                                               "sms_team_ids": [[4, self.team_a.id]]})
        self.assertEqual(self.env["mailing.list"].browse(new_id).sms_team_ids, self.team_a)

    def test_sms_manager_sees_and_sends_everything(self):
        self.authenticate("sms_maggie", "sms_maggie")
        lists = self.list_a | self.list_b | self.list_public
        self.assertEqual(self._visible("mailing.list", lists.ids), set(lists.ids))
        contacts_b = self.list_b.contact_ids
        self.assertEqual(self._visible("mailing.contact", contacts_b.ids), set(contacts_b.ids))
        self.assertEqual(self._visible("mailing.mailing", self.mailing_b.ids), set(self.mailing_b.ids))
        self.assertAllowed("mailing.list", "write", [self.list_public.id], {"sms_team_ids": [[4, self.team_b.id]]})
        self.assertEqual(self.list_public.sms_team_ids, self.team_b)
        self.assertAllowed("mailing.mailing", "action_put_in_queue", [self.mailing_b.id])
        self.assertEqual(self.mailing_b.state, "in_queue")


@tagged("post_install", "-at_install")
class TestSmsTeamListsCompanies(_TwoTeams, AfricasTalkingCase):
    """A team's lists follow the team's company: a member sees them only while working in that company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_teams()
        cls.company_2 = cls.env["res.company"].create({"name": "Second campus"})
        cls.user_marketing.company_ids = [Command.link(cls.company_2.id)]
        cls.list_c = cls.env["mailing.list"].create({"name": "Campus 2 staff"})
        cls.team_c = cls.env["sms.team"].create({
            "name": "Campus 2 ICT", "company_id": cls.company_2.id,
            "member_ids": [Command.link(cls.user_marketing.id)], "mailing_list_ids": [Command.link(cls.list_c.id)]})

    def _lists(self, companies):
        env_lists = self.env["mailing.list"].with_user(self.user_marketing).with_context(
            allowed_company_ids=companies.ids)
        return env_lists.search([("id", "in", (self.list_a | self.list_b | self.list_c | self.list_public).ids)])

    def test_lists_follow_the_current_companies(self):
        company_1 = self.env.company
        self.assertEqual(self._lists(company_1), self.list_a | self.list_public)
        self.assertEqual(self._lists(self.company_2), self.list_c | self.list_public)
        self.assertEqual(self._lists(company_1 | self.company_2), self.list_a | self.list_c | self.list_public)
        with self.assertRaises(AccessError):
            self.list_c.with_user(self.user_marketing).with_context(allowed_company_ids=company_1.ids).read(["name"])

    def test_archived_membership_does_not_grant(self):
        self.team_a.member_ids = [Command.unlink(self.user_marketing.id)]
        self.assertEqual(self._lists(self.env.company), self.list_public)
