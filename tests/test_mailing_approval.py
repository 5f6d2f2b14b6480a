"""Approval of SMS mailings above a team's threshold: the flow (Send, Schedule, Send Now, approve, refuse, change
after approval) and who may decide."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestMailingApproval(AfricasTalkingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        marketing = [Command.set([cls.env.ref("base.group_user").id,
                                  cls.env.ref("mass_mailing.group_mass_mailing_user").id])]
        cls.approver = cls.env["res.users"].create({
            "name": "Approver Alice", "login": "approver_alice", "email": "alice@example.com", "groups_id": marketing})
        cls.outsider = cls.env["res.users"].create({
            "name": "Club Bob", "login": "club_bob_approval", "email": "bob@example.com", "groups_id": marketing})
        cls.manager = cls.env["res.users"].create({
            "name": "Manager Maggie", "login": "maggie_approval", "email": "maggie@example.com",
            "groups_id": [Command.set([cls.env.ref("base.group_user").id,
                                       cls.env.ref("sms_africastalking.group_sms_manager").id])]})
        cls.team = cls.env["sms.team"].create({
            "name": "ICT Office",
            "member_ids": [Command.set((cls.user_marketing | cls.approver).ids)],
            "approver_ids": [Command.link(cls.approver.id)],
            "mailing_list_ids": [Command.link(cls.mailing_list.id)],
            "approval_recipients_threshold": 3,  # the list has 4 students
        })
        cls.env["sms.team"].create({"name": "Marketing Club", "member_ids": [Command.link(cls.outsider.id)]})

    def _send(self, mailing):
        mailing.action_put_in_queue()
        self.env.invalidate_all()

    def _run_queue(self):
        self.env["mailing.mailing"].sudo()._process_mass_mailing_queue()
        self.run_sms_queue()

    def _decide(self, mailing, user, decision, note=False):
        wizard = self.env["sms.mailing.approval"].with_user(user).create(
            {"mailing_id": mailing.id, "decision": decision, "note": note})
        wizard.action_confirm()
        self.env.invalidate_all()

    def test_send_above_threshold_waits_and_sends_nothing(self):
        mailing = self.create_sms_mailing()
        self._send(mailing)
        self.assertEqual(mailing.state, "to_approve")
        self.assertEqual(mailing.sms_approval_state, "pending")
        self.assertEqual(mailing.sms_approval_team_ids, self.team)
        self.assertEqual(mailing.sms_approval_requested_by, self.user_marketing)
        self.assertIn("4 recipients, above the 3 of ICT Office", mailing.sms_approval_reason)
        self.assertIn("Waiting for approval", mailing.message_ids[0].body)
        activity = mailing.activity_ids
        self.assertEqual(activity.user_id, self.approver, "the approver gets a to-do")
        self._run_queue()
        mailing.sudo().action_send_sms()  # even the queue's own call does not send it
        self.run_sms_queue()
        self.assertEqual(mailing.state, "to_approve")
        self.assertNothingSent()
        self.assertFalse(self.env["sms.sms"].sudo().search_count([("mailing_id", "=", mailing.id)]))

    def test_below_threshold_goes_to_the_queue(self):
        self.team.approval_recipients_threshold = 4
        mailing = self.create_sms_mailing()
        self._send(mailing)
        self.assertEqual(mailing.state, "in_queue")
        self.assertFalse(mailing.sms_approval_state)

    def test_no_threshold_no_approval(self):
        self.team.approval_recipients_threshold = 0
        mailing = self.create_sms_mailing()
        self._send(mailing)
        self.assertEqual(mailing.state, "in_queue")

    def test_cost_threshold(self):
        self.team.approval_recipients_threshold = 0
        mailing = self.create_sms_mailing()
        self.assertTrue(mailing.sms_cost_available, mailing.sms_estimate_note)
        self.team.approval_cost_threshold = mailing.sms_estimate_cost - 0.01
        self._send(mailing)
        self.assertEqual(mailing.state, "to_approve")
        self.assertIn("above the", mailing.sms_approval_reason)
        mailing.action_cancel()
        self.team.approval_cost_threshold = mailing.sms_estimate_cost
        self._send(mailing)
        self.assertEqual(mailing.state, "in_queue", "a cost equal to the threshold needs no approval")

    def test_approve_sends_once(self):
        mailing = self.create_sms_mailing()
        self._send(mailing)
        before = fields.Datetime.now()
        self._decide(mailing, self.approver, "approve", "OK for the exam notice")
        self.assertEqual(mailing.state, "in_queue")
        self.assertEqual(mailing.sms_approval_state, "approved")
        self.assertEqual(mailing.sms_approval_user_id, self.approver)
        self.assertGreaterEqual(mailing.sms_approval_date, before.replace(microsecond=0))
        self.assertEqual(mailing.sms_approval_note, "OK for the exam notice")
        self.assertIn("Approved by Approver Alice: OK for the exam notice", mailing.message_ids[0].body)
        self.assertFalse(mailing.activity_ids, "the approver's to-do is done")
        self._run_queue()
        self.assertEqual(mailing.state, "done")
        for number in self.mailing_list.contact_ids.mapped("mobile"):
            self.assertSentOnce(number)

    def test_approval_keeps_the_schedule(self):
        mailing = self.create_sms_mailing()
        later = fields.Datetime.now() + timedelta(days=2)
        wizard = self.env["mailing.mailing.schedule.date"].with_user(self.user_marketing).create(
            {"mass_mailing_id": mailing.id, "schedule_date": later})
        wizard.action_schedule_date()
        self.env.invalidate_all()
        self.assertEqual(mailing.state, "to_approve", "Schedule waits for approval too")
        self._decide(mailing, self.approver, "approve")
        self.assertEqual(mailing.state, "in_queue")
        self.assertEqual(mailing.schedule_type, "scheduled")
        self.assertEqual(mailing.schedule_date, later)
        self._run_queue()
        self.assertEqual(mailing.state, "in_queue", "not before its time")
        self.assertNothingSent()

    def test_send_now_waits_too(self):
        mailing = self.create_sms_mailing(sms_force_send=True)
        mailing.action_send_mail()
        self.env.invalidate_all()
        self.assertEqual(mailing.state, "to_approve")
        self.run_sms_queue()
        self.assertNothingSent()

    def test_refuse_returns_to_draft_with_the_note(self):
        mailing = self.create_sms_mailing()
        self._send(mailing)
        with self.assertRaises(UserError):
            self._decide(mailing, self.approver, "refuse", "  ")
        self.assertEqual(mailing.state, "to_approve", "a refusal without a note changes nothing")
        self._decide(mailing, self.approver, "refuse", "Send to the final-year list only")
        self.assertEqual(mailing.state, "draft")
        self.assertEqual(mailing.sms_approval_state, "refused")
        self.assertEqual(mailing.sms_approval_user_id, self.approver)
        self.assertEqual(mailing.sms_approval_note, "Send to the final-year list only")
        self.assertIn("Refused by Approver Alice", mailing.message_ids[0].body)
        self._run_queue()
        self.assertNothingSent()
        # Sent again: asks again.
        self._send(mailing)
        self.assertEqual(mailing.state, "to_approve")
        self.assertEqual(mailing.sms_approval_state, "pending")

    def test_nobody_approves_their_own_mailing(self):
        self.team.approver_ids = [Command.link(self.user_marketing.id)]  # Mary approves the team's mailings...
        mailing = self.create_sms_mailing()
        self._send(mailing)
        self.assertFalse(mailing.with_user(self.user_marketing).sms_can_approve)
        with self.assertRaises(AccessError):  # ... but not her own
            self._decide(mailing, self.user_marketing, "approve")
        with self.assertRaises(AccessError):
            mailing.with_user(self.user_marketing)._sms_approve()
        with self.assertRaises(AccessError):
            mailing.with_user(self.user_marketing).action_sms_approve()
        self.assertEqual(mailing.state, "to_approve")

    def test_only_approvers_decide(self):
        mailing = self.create_sms_mailing()
        self._send(mailing)
        with self.assertRaises(AccessError):  # not an approver of ICT Office (and does not even see the mailing)
            self._decide(mailing, self.outsider, "approve")
        self.team.member_ids = [Command.link(self.outsider.id)]  # a member, still not an approver
        with self.assertRaises(AccessError):
            self._decide(mailing, self.outsider, "approve")
        self.assertEqual(mailing.state, "to_approve")
        self.assertTrue(mailing.with_user(self.approver).sms_can_approve)
        self.assertTrue(mailing.with_user(self.manager).sms_can_approve)
        self._decide(mailing, self.manager, "approve", "Manager's OK")
        self.assertEqual(mailing.state, "in_queue")
        self.assertEqual(mailing.sms_approval_user_id, self.manager)

    def test_requester_cannot_skip_approval_by_writing_the_state(self):
        mailing = self.create_sms_mailing()
        self._send(mailing)
        mailing.with_user(self.user_marketing).write({"state": "in_queue"})
        self.assertEqual(mailing.state, "to_approve")
        with self.assertRaises(AccessError):
            mailing.with_user(self.user_marketing).write({"sms_approval_state": "approved"})
        self.assertEqual(mailing.sms_approval_state, "pending")

    def test_change_after_approval_asks_again(self):
        mailing = self.create_sms_mailing()
        self._send(mailing)
        self._decide(mailing, self.approver, "approve")
        self.assertEqual(mailing.state, "in_queue")
        mailing.with_user(self.user_marketing).body_plaintext = "Exams are cancelled, stay home!"
        self.env.invalidate_all()
        self.assertEqual(mailing.state, "to_approve", "the approver did not see this text")
        self.assertEqual(mailing.sms_approval_state, "pending")
        self._run_queue()
        self.assertNothingSent()

    def test_cancel_withdraws_the_request(self):
        mailing = self.create_sms_mailing()
        self._send(mailing)
        mailing.with_user(self.user_marketing).action_cancel()
        self.assertEqual(mailing.state, "draft")
        self.assertFalse(mailing.sms_approval_state)

    def test_team_of_the_responsible_when_lists_have_no_team(self):
        self.team.mailing_list_ids = [Command.clear()]
        mailing = self.create_sms_mailing()
        self._send(mailing)
        self.assertEqual(mailing.state, "to_approve", "Mary's team's threshold applies to her mailings")
        self.assertEqual(mailing.sms_approval_team_ids, self.team)

    def test_form_buttons(self):
        mailing = self.create_sms_mailing()
        self._send(mailing)
        form = Form(mailing.with_user(self.approver))
        self.assertEqual(form.state, "to_approve")
        action = mailing.with_user(self.approver).action_sms_refuse()
        self.assertEqual(action["res_model"], "sms.mailing.approval")
        self.assertEqual(action["context"]["default_decision"], "refuse")
