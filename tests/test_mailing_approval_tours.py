"""The approval flow in headless Chromium: the requester sends and waits, the approver approves or refuses."""

from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestMailingApprovalTours(AfricasTalkingHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_marketing.password = "marketing_mary"
        cls.approver = cls.env["res.users"].create({
            "name": "Approver Alice", "login": "approver_alice", "password": "approver_alice",
            "email": "alice@example.com",
            "groups_id": [Command.set([cls.env.ref("base.group_user").id,
                                       cls.env.ref("mass_mailing.group_mass_mailing_user").id])]})
        cls.team = cls.env["sms.team"].create({
            "name": "ICT Office", "member_ids": [Command.set((cls.user_marketing | cls.approver).ids)],
            "approver_ids": [Command.link(cls.approver.id)],
            "mailing_list_ids": [Command.link(cls.mailing_list.id)], "approval_recipients_threshold": 3})

    def _url(self, mailing):
        return "/web#model=mailing.mailing&view_type=form&id=%s" % mailing.id

    def _waiting_mailing(self):
        mailing = self.create_sms_mailing(subject="Exam notice")
        mailing.with_user(self.user_marketing).action_put_in_queue()
        self.assertEqual(mailing.state, "to_approve")
        return mailing

    def test_request_tour(self):
        mailing = self.create_sms_mailing(subject="Exam notice")
        self.start_tour(self._url(mailing), "sms_africastalking_approval_request_tour", login="marketing_mary")
        self.assertEqual(mailing.state, "to_approve")
        self.assertEqual(mailing.sms_approval_requested_by, self.user_marketing)
        self.assertNothingSent()

    def test_approve_tour(self):
        mailing = self._waiting_mailing()
        self.start_tour(self._url(mailing), "sms_africastalking_approval_approve_tour", login="approver_alice")
        self.assertEqual(mailing.state, "in_queue")
        self.assertEqual(mailing.sms_approval_user_id, self.approver)
        self.assertEqual(mailing.sms_approval_note, "Fine for the exam notice")

    def test_refuse_tour(self):
        mailing = self._waiting_mailing()
        self.start_tour(self._url(mailing), "sms_africastalking_approval_refuse_tour", login="approver_alice")
        self.assertEqual(mailing.state, "draft")
        self.assertEqual(mailing.sms_approval_state, "refused")
        self.assertNothingSent()
