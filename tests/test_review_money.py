"""Acceptance review of the money on this session's new paths: a conversation reply, a double opt-in confirmation
and a recurring run each go through the SMS ledger (reserved, counted for the right person); two replies at once
(two threads, two cursors, committed data) cannot together pass a budget that covers one."""

import threading
from datetime import timedelta
from decimal import Decimal

import psycopg2.errors

from odoo import Command, api, fields
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from ..models.sms_spend import SpendRefused
from ..simulator.at_simulator import ATSimulator
from ..tools.at_callbacks import InboundMessage
from . import chaos
from .common import SIM_API_KEY, SIM_USERNAME, AfricasTalkingCase
from .test_sms_ledger import LedgerMixin


@tagged("post_install", "-at_install")
class TestReviewMoneyNewPaths(LedgerMixin, AfricasTalkingCase):

    def _inbound(self, number, text, message_id):
        return self.env["africastalking.inbound"].sudo()._process_inbound_message(self.account, InboundMessage(
            message_id=message_id, from_number=number, text=text))

    def test_conversation_reply_is_reserved_for_who_answers_and_gated_by_their_budget(self):
        budget = self.make_budget(1.0)  # one SMS at KES 0.80, not two
        conversation = self.env["sms.conversation"]._get_or_create("+254733000501", self.env.company)
        conversation = conversation.with_user(self.user_marketing)
        conversation.reply_body = "Your card is ready."
        conversation.action_send_reply()
        spend = self.ledger(origin="conversation")
        self.assertEqual((len(spend), spend.user_id, spend.budget_ids), (1, self.user_marketing, budget))
        conversation.reply_body = "And your timetable too."
        with self.assertRefused("SMS budget \"ICT Office\" has only"):
            conversation.action_send_reply()
        self.assertEqual(self.env["sms.sms"].sudo().search_count([("number", "=", "+254733000501")]), 1)

    def test_double_opt_in_confirmation_is_on_the_ledger(self):
        club = self.env["mailing.list"].create({"name": "Chess Club"})
        self.env["sms.keyword"].create({
            "name": "CHESS", "double_opt_in": True,
            "action_ids": [Command.create({"action_type": "list_join", "mailing_list_id": club.id})]})
        self._inbound("+254733000502", "CHESS", "review-join-1")
        sms = self.env["sms.sms"].sudo().search([("number", "=", "+254733000502")])
        self.assertEqual(len(sms), 1, "one confirmation question")
        self.assertTrue(sms.at_spend_id, "the confirmation question is reserved on the ledger")
        self.assertEqual(sms.at_spend_id.origin, "keyword")
        self.run_sms_queue()
        self.assertEqual(sms.at_spend_id.state, "settled")

    def test_recurring_run_is_paid_by_the_series_mailing_author(self):
        budget = self.make_budget(1000.0)
        template = self.create_sms_mailing(subject="Fees", body="Fees are due.", user_id=self.user_marketing.id)
        series = self.env["sms.mailing.series"].with_user(self.user_marketing).create({
            "name": "Fees weekly", "mailing_id": template.id, "frequency": "daily"})
        series.sudo().next_run_date = fields.Datetime.now() - timedelta(minutes=1)
        self.env["sms.mailing.series"].sudo()._cron_run_due()
        run = series.run_ids
        self.assertEqual(run.state, "in_queue")
        run.sudo().action_send_sms()
        spend = self.ledger(origin="mailing")
        self.assertEqual((len(spend), spend.mailing_id, spend.user_id), (1, run, self.user_marketing))
        self.assertIn(budget, spend.budget_ids)

    def test_recurring_run_is_paid_by_who_made_the_series_not_the_templates_responsible(self):
        other = self.env["res.users"].create({
            "name": "Other Otto", "login": "review_otto",
            "groups_id": [Command.set([self.env.ref("base.group_user").id,
                                       self.env.ref("mass_mailing.group_mass_mailing_user").id])]})
        mine = self.make_budget(1000.0)
        others = self.make_budget(1000.0, users=other, name="Otto's office")
        # Mary names Otto responsible of her mailing, then makes it recur: the runs are hers to pay.
        template = self.create_sms_mailing(subject="Fees", body="Fees are due.", user_id=other.id)
        series = self.env["sms.mailing.series"].with_user(self.user_marketing).create({
            "name": "Fees weekly", "mailing_id": template.id, "frequency": "daily"})
        series.sudo().next_run_date = fields.Datetime.now() - timedelta(minutes=1)
        self.env["sms.mailing.series"].sudo()._cron_run_due()
        series.run_ids.sudo().action_send_sms()
        spend = self.ledger(origin="mailing")
        self.assertEqual(spend.user_id, self.user_marketing)
        self.assertIn(mine, spend.budget_ids)
        self.assertNotIn(others, spend.budget_ids)


@tagged("post_install", "-at_install")
class TestReviewReplyConcurrency(LedgerMixin, TransactionCase):
    """Two conversation replies at once, as the marketing user (no superuser), against a budget covering one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = ATSimulator(accounts={SIM_USERNAME: SIM_API_KEY}).start()
        cls.addClassCleanup(cls.simulator.stop)

    def setUp(self):
        super().setUp()
        self.simulator.reset()
        self.simulator.set_balance(Decimal("100.00"))
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            self.inactive_ids = env["africastalking.account"].search([]).ids
            env["africastalking.account"].search([]).active = False
            env.company.country_id = env.ref("base.ke")
            account = env["africastalking.account"].create({
                "name": "Reply race", "environment": "custom", "api_url": self.simulator.url,
                "username": SIM_USERNAME, "api_key": SIM_API_KEY, "timeout": 5, "company_id": env.company.id})
            self.account_id = account.id
            user = env["res.users"].create({
                "name": "Replying Rita", "login": "review_reply_rita",
                "groups_id": [Command.set([env.ref("base.group_user").id,
                                           env.ref("mass_mailing.group_mass_mailing_user").id])]})
            self.user_id = user.id
            today = fields.Date.today()
            self.budget_id = env["sms.budget"].create({
                "name": "Desk", "user_ids": [Command.set([user.id])], "date_start": today,
                "date_end": today + timedelta(days=30), "limit_amount": 1.0, "currency": "KES"}).id
            self.conversation_ids = []
            for tag in ("1", "2"):
                conversation = env["sms.conversation"]._get_or_create("+25474460000%s" % tag, env.company)
                conversation.sudo().reply_body = "Reply %s" % tag
                self.conversation_ids.append(conversation.id)
            account._sms_known_balance(timedelta(0))
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            cr.execute("DELETE FROM sms_sms WHERE number LIKE '+2547446000%%'")
            cr.execute("DELETE FROM sms_spend WHERE account_id = %s", (self.account_id,))
            cr.execute("DELETE FROM sms_conversation WHERE id = ANY(%s)", (self.conversation_ids,))
            env["sms.budget"].browse(self.budget_id).unlink()
            env["africastalking.account"].browse(self.account_id).unlink()
            env["africastalking.account"].browse(self.inactive_ids).active = True
            env["res.users"].browse(self.user_id).unlink()

    def test_two_replies_against_a_budget_that_covers_one(self):
        barrier = threading.Barrier(2, timeout=30)
        outcomes = {}

        def reply(index):
            for attempt in range(3):  # as odoo.service.model.retrying does on a serialization failure
                try:
                    with self.registry.cursor() as cr:
                        env = api.Environment(cr, self.user_id, {})
                        conversation = env["sms.conversation"].browse(self.conversation_ids[index])
                        conversation.read(["reply_body"])
                        if attempt == 0:
                            barrier.wait()
                        conversation.action_send_reply()
                    outcomes[index] = "sent"
                    return
                except (SpendRefused, UserError) as refusal:
                    outcomes[index] = str(refusal)
                    return
                except psycopg2.errors.SerializationFailure:
                    continue

        threads = [threading.Thread(target=reply, args=(index,)) for index in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(sorted(value == "sent" for value in outcomes.values()), [False, True], outcomes)
        with self.registry.cursor() as cr:
            cr.execute("SELECT COUNT(*), COALESCE(SUM(amount_reserved), 0) FROM sms_spend WHERE account_id = %s",
                       (self.account_id,))
            lines, reserved = cr.fetchone()
            cr.execute("SELECT COUNT(*) FROM sms_sms WHERE number LIKE '+2547446000%%'")
            queued = cr.fetchone()[0]
        self.assertEqual((lines, queued), (1, 1))
        self.assertLessEqual(float(reserved), 1.0)
