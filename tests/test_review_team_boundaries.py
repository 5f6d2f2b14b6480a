"""Acceptance review of this session's team-owned records over JSON-RPC: a marketing user of team A must not read,
make or run what belongs to team B through the new models that hang off a mailing or a list (polls and their votes,
recurring series, keyword actions), while team B's own member still can."""

from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase
from .test_sms_team_lists import TestSmsTeamListsRpc, _TwoTeams


@tagged("post_install", "-at_install")
class TestReviewTeamBoundariesRpc(_TwoTeams, AfricasTalkingHttpCase):

    _call = TestSmsTeamListsRpc._call
    assertRefused = TestSmsTeamListsRpc.assertRefused
    assertAllowed = TestSmsTeamListsRpc.assertAllowed

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_teams()
        cls.poll_b = cls.env["sms.poll"].create({
            "name": "Which day for the party?", "mailing_id": cls.mailing_b.id,
            "answer_ids": [Command.create({"code": "1", "name": "Saturday"}),
                           Command.create({"code": "2", "name": "Sunday"})]})
        cls.vote_b = cls.env["sms.poll.vote"].create({
            "poll_id": cls.poll_b.id, "answer_id": cls.poll_b.answer_ids[0].id, "number": cls.contact_b.mobile})
        cls.mailing_a = cls.env["mailing.mailing"].with_user(cls.user_marketing).create({
            "subject": "Exams", "mailing_type": "sms", "body_plaintext": "Exams on Monday",
            "mailing_model_id": cls.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.link(cls.list_a.id)]})
        cls.series_b = cls.env["sms.mailing.series"].with_user(cls.user_bob).create({
            "name": "Club weekly", "mailing_id": cls.mailing_b.id, "frequency": "weekly"})
        cls.keyword = cls.env["sms.keyword"].create({"name": "JOIN"})

    def _visible(self, model, ids):
        return set(self.assertAllowed(model, "search", [("id", "in", ids)]))

    def test_team_a_cannot_read_team_b_poll_or_its_respondents(self):
        self.authenticate("marketing_mary", "marketing_mary")
        self.assertFalse(self._visible("sms.poll", self.poll_b.ids))
        self.assertFalse(self._visible("sms.poll.vote", self.vote_b.ids))
        self.assertFalse(self._visible("sms.poll.answer", self.poll_b.answer_ids.ids))
        self.assertRefused("sms.poll.vote", "read", self.vote_b.ids, ["number", "partner_id"])
        response = self.url_open("/sms_africastalking/poll/%s/votes.csv" % self.poll_b.id)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(self.contact_b.mobile, response.text)

    def test_team_a_cannot_attach_a_poll_to_team_b_mailing(self):
        self.authenticate("marketing_mary", "marketing_mary")
        self.poll_b.unlink()
        self.assertRefused("sms.poll", "create", [{"name": "Hijack", "mailing_id": self.mailing_b.id}])
        self.assertFalse(self.env["sms.poll"].search([("mailing_id", "=", self.mailing_b.id)]))
        # Their own mailing: allowed.
        self.assertAllowed("sms.poll", "create", [{"name": "Which room?", "mailing_id": self.mailing_a.id}])

    def test_team_a_cannot_repeat_or_steer_team_b_mailing(self):
        self.authenticate("marketing_mary", "marketing_mary")
        self.assertRefused("sms.mailing.series", "create",
                           [{"name": "Spam club", "mailing_id": self.mailing_b.id, "frequency": "daily"}])
        self.assertEqual(self.env["sms.mailing.series"].search_count([("mailing_id", "=", self.mailing_b.id)]), 1)
        self.assertFalse(self._visible("sms.mailing.series", self.series_b.ids))
        self.assertRefused("sms.mailing.series", "action_pause", self.series_b.ids)
        self.assertRefused("sms.mailing.series", "write", self.series_b.ids, {"frequency": "daily"})
        self.assertEqual((self.series_b.state, self.series_b.frequency), ("running", "weekly"))
        # Their own mailing: allowed.
        self.assertAllowed("sms.mailing.series", "create",
                           [{"name": "Exams weekly", "mailing_id": self.mailing_a.id, "frequency": "weekly"}])

    def test_team_b_member_still_manages_own_poll_and_series(self):
        self.authenticate("club_bob", "club_bob")
        self.assertEqual(self._visible("sms.poll.vote", self.vote_b.ids), set(self.vote_b.ids))
        self.assertAllowed("sms.mailing.series", "action_pause", self.series_b.ids)
        self.assertEqual(self.series_b.state, "paused")
        response = self.url_open("/sms_africastalking/poll/%s/votes.csv" % self.poll_b.id)
        self.assertEqual(response.status_code, 200)
        self.assertIn(self.contact_b.mobile, response.text)

    def test_sms_manager_sees_every_team(self):
        self.authenticate("sms_maggie", "sms_maggie")
        self.assertEqual(self._visible("sms.poll.vote", self.vote_b.ids), set(self.vote_b.ids))
        self.assertEqual(self._visible("sms.mailing.series", self.series_b.ids), set(self.series_b.ids))

    def test_team_a_keyword_cannot_feed_or_drain_team_b_list(self):
        self.authenticate("marketing_mary", "marketing_mary")
        for action_type in ("list_join", "list_leave"):
            self.assertRefused("sms.keyword.action", "create", [{
                "keyword_id": self.keyword.id, "action_type": action_type, "mailing_list_id": self.list_b.id}])
        self.assertRefused("sms.keyword", "write", self.keyword.ids, {"subscription_list_id": self.list_b.id})
        self.assertFalse(self.keyword.action_ids)
        self.assertFalse(self.keyword.subscription_list_id)
        # Their own list: allowed.
        self.assertAllowed("sms.keyword.action", "create", [{
            "keyword_id": self.keyword.id, "action_type": "list_join", "mailing_list_id": self.list_a.id}])

    def test_other_company_user_sees_no_poll_answers(self):
        company_2 = self.env["res.company"].create({"name": "Other school"})
        self.env["res.users"].create({
            "name": "Other Olga", "login": "other_olga", "password": "other_olga",
            "company_id": company_2.id, "company_ids": [Command.set(company_2.ids)],
            "groups_id": [Command.set([self.env.ref("base.group_user").id,
                                       self.env.ref("sms_africastalking.group_sms_manager").id])]})
        self.authenticate("other_olga", "other_olga")
        self.assertFalse(self._visible("sms.poll.answer", self.poll_b.answer_ids.ids))
        self.assertRefused("sms.poll.answer", "read", self.poll_b.answer_ids.ids, ["name"])

    def test_team_a_cannot_open_the_approval_of_team_b_mailing(self):
        self.mailing_b.sudo().write({"state": "to_approve", "sms_approval_state": "pending",
                                     "sms_approval_reason": "900 recipients, above the 100 of Marketing Club",
                                     "sms_approval_requested_by": self.user_bob.id})
        self.authenticate("marketing_mary", "marketing_mary")
        answer = self._call("sms.mailing.approval", "web_save", [], {"mailing_id": self.mailing_b.id},
                            specification={"approval_reason": {}, "requested_by": {"fields": {"display_name": {}}}})
        self.assertNotIn("result", answer, "the wizard's related fields would show another team's request")
        self.assertNotIn("900 recipients", str(answer))
        self.assertEqual(answer["error"]["data"]["name"], "odoo.exceptions.AccessError", answer)
        self.assertEqual(self.mailing_b.state, "to_approve")
