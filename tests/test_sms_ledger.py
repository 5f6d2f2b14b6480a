"""The SMS ledger (issue #17): every path that makes AT spend money is reserved before it queues, settled with what
AT billed, released when it ends; refused with which limit, what it needs and what is left. The concurrency tests
run two sends at once on committed data, each in its own thread and database cursor."""

import base64
import csv
import io
import threading
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from unittest.mock import patch

import openpyxl
import psycopg2.errors

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.sql_db import Cursor
from odoo.tests import TransactionCase, tagged

from ..models.sms_spend import SpendRefused
from ..simulator.at_simulator import ATSimulator
from ..tools.at_callbacks import InboundMessage
from . import chaos
from .common import SIM_API_KEY, SIM_USERNAME, AfricasTalkingCase


class LedgerMixin:

    def ledger(self, **domain):
        return self.env["sms.spend"].sudo().search(
            [("id", ">", self.last_spend_id)] + [(key, "=", value) for key, value in domain.items()])

    def setUp(self):
        super().setUp()
        self.env["sms.spend"].flush_model()
        self.env.cr.execute("SELECT COALESCE(max(id), 0) FROM sms_spend")
        self.last_spend_id = self.env.cr.fetchone()[0]

    @contextmanager
    def assertRefused(self, pattern):
        """Refused, and nothing of the refused send is left (the request's transaction would roll back)."""
        with self.assertRaisesRegex(UserError, pattern), self.env.cr.savepoint():
            yield
        self.env.invalidate_all()

    def make_budget(self, limit, users=None, name="ICT Office"):
        today = fields.Date.today()
        return self.env["sms.budget"].create({
            "name": name, "user_ids": [Command.set((users or self.user_marketing).ids)], "date_start": today,
            "date_end": today + timedelta(days=30), "limit_amount": limit, "currency": "KES"})


@tagged("post_install", "-at_install")
class TestSmsLedgerPaths(LedgerMixin, AfricasTalkingCase):
    """One test per path: gated (refused when it cannot be paid, nothing queued) and counted (a ledger line caused
    by the right person, settled with AT's billed cost)."""

    def assertSettled(self, spend, billed, user):
        self.assertEqual(spend.state, "settled", spend.name)
        self.assertAlmostEqual(spend.amount_billed, billed)
        self.assertEqual(spend.user_id, user)
        messages = self.env["africastalking.message"].search([("spend_id", "=", spend.id)])
        self.assertAlmostEqual(sum(messages.mapped("cost")), billed, msg="billed = AT's cost per recipient")

    def test_mailing_reserved_then_settled(self):
        mailing = self.create_sms_mailing(body="Short")
        self.send_mailing(mailing)
        spend = self.ledger(mailing_id=mailing.id)
        self.assertEqual(len(spend), 1)
        self.assertAlmostEqual(spend.amount_reserved, 3.2)
        self.assertSettled(spend, 3.2, self.user_marketing)
        self.assertEqual(spend.origin, "mailing")

    def test_messages_linked_to_their_line_as_logged(self):
        """Each AT message is logged with its ledger line: settling a dispatch writes no log row a second time and
        never looks the log up by SMS (it had no index for that: a pass over the whole log per batch)."""
        mailing = self.create_sms_mailing(body="Short")
        statements, execute = [], Cursor.execute

        def spy(cr, query, params=None, log_exceptions=True):
            statements.append(" ".join(str(getattr(query, "code", query)).split()))
            return execute(cr, query, params, log_exceptions)

        with patch.object(Cursor, "execute", spy):
            self.send_mailing(mailing)
        self.assertFalse([query for query in statements if query.startswith("UPDATE africastalking_message")
                          and "spend_id" in query])
        self.assertFalse([query for query in statements if "sms_uuid = sms.uuid" in query
                          or "sms.uuid = message.sms_uuid" in query])
        self.assertSettled(self.ledger(mailing_id=mailing.id), 3.2, self.user_marketing)

    def test_mailing_refused_says_limit_need_and_left(self):
        self.simulator.set_balance(Decimal("2.00"))
        mailing = self.create_sms_mailing(body="Short")
        with self.assertRefused(r"needs KES 3\.20 .* only KES 2\.00 is left"):
            mailing.action_put_in_queue()
        self.assertFalse(self.ledger())
        self.assertNothingSent()

    def test_reassigned_mailing_counts_for_who_launched_it(self):
        """Issue #17: a mailing re-assigned to a user without budget spent 8.00 uncounted."""
        budget = self.make_budget(100)
        mailing = self.create_sms_mailing(body="Short")
        mailing.action_put_in_queue()
        mailing.sudo().user_id = self.env.ref("base.user_admin")
        mailing.sudo().action_send_sms()
        self.run_sms_queue()
        self.assertAlmostEqual(budget.spent_amount, 3.2)
        self.assertEqual(self.ledger(mailing_id=mailing.id).user_id, self.user_marketing)

    def test_mass_composer(self):
        budget = self.make_budget(2.0)
        composer = self.env["sms.composer"].with_user(self.user_marketing).create({
            "res_model": "res.partner", "res_ids": repr(self.partners.ids), "composition_mode": "mass",
            "mass_force_send": False, "body": "Hello {{ object.name }}"})
        with self.assertRefused(r"SMS budget \"ICT Office\" has only KES 2\.00 left"):
            composer.action_send_sms()
        budget.limit_amount = 10
        composer.action_send_sms()
        self.run_sms_queue()
        self.assertSettled(self.ledger(origin="composer"), 2.4, self.user_marketing)
        self.assertAlmostEqual(budget.spent_amount, 2.4)

    def test_single_composer_and_contact_button(self):
        self.make_budget(0.5)
        partner = self.partners[0]
        composer = self.env["sms.composer"].with_user(self.user_marketing).with_context(
            active_model="res.partner", active_id=partner.id).create({"body": "Your parcel is here"})
        self.assertEqual(composer.composition_mode, "comment")
        with self.assertRefused("ICT Office"):
            composer.action_send_sms()
        self.assertFalse(self.env["sms.sms"].search([("number", "=", partner.mobile)]))
        self.env["sms.budget"].search([("name", "=", "ICT Office")]).limit_amount = 5
        composer.action_send_sms()
        self.run_sms_queue()
        self.assertSettled(self.ledger(origin="composer"), 0.8, self.user_marketing)

    def test_mailing_test_wizard(self):
        """Issue #17: Test to 10 numbers billed 8.00 with no check."""
        self.make_budget(3.0)
        mailing = self.create_sms_mailing(body="Short")
        numbers = "\n".join("+2547330001%02d" % index for index in range(10))
        wizard = self.env["mailing.sms.test"].with_user(self.user_marketing).create(
            {"mailing_id": mailing.id, "numbers": numbers})
        with self.assertRefused(r"needs KES 8\.00"):
            wizard.action_send_sms()
        wizard.numbers = "+254733000100\n+254733000101"
        wizard.action_send_sms()
        self.run_sms_queue()
        self.assertSettled(self.ledger(origin="test"), 1.6, self.user_marketing)

    def test_server_action_refused_softly_then_counted(self):
        """An automation must not roll back the change that triggered it: a refused SMS fails with the reason."""
        template = self.env["sms.template"].create({"name": "Hi", "model_id": self.env["ir.model"]._get_id(
            "res.partner"), "body": "Hello {{ object.name }}"})
        action = self.env["ir.actions.server"].create({
            "name": "Greet", "model_id": self.env["ir.model"]._get_id("res.partner"), "state": "sms",
            "sms_template_id": template.id, "sms_method": "sms"})
        self.simulator.set_balance(Decimal("0.50"))
        action.with_context(active_model="res.partner", active_ids=self.partners[:1].ids).run()
        sms = self.env["sms.sms"].search([("number", "=", self.partners[0].mobile)])
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_credit"))
        self.assertIn("only KES 0.50 is left", sms.at_failure_reason)
        self.simulator.set_balance(Decimal("100"))
        self.env["africastalking.account"].browse(self.account.id).sudo().balance_date = False
        action.with_user(self.user_marketing).sudo().with_context(
            active_model="res.partner", active_ids=self.partners[1:2].ids).run()
        self.run_sms_queue()
        self.assertSettled(self.ledger(origin="server_action"), 0.8, self.user_marketing)

    def test_api_sends_count_for_the_caller(self):
        """Issue #17: 5 API sends of 2 SMS passed a budget with 3.40 left and billed 8.00."""
        budget = self.make_budget(3.4)
        api = self.env["sms.africastalking.api"].with_user(self.user_marketing)
        results = [api.send_sms(["+2547330002%02d" % (2 * index), "+2547330002%02d" % (2 * index + 1)],
                                "Library closes at 17:00") for index in range(5)]
        self.assertEqual([result["queued"] for result in results], [2, 2, 0, 0, 0])
        self.assertIn("ICT Office", results[2]["rejected"][0]["reason"])
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["accepted"], 4)
        self.assertAlmostEqual(budget.spent_amount, 3.2)
        self.assertEqual(self.ledger(origin="api").user_id, self.user_marketing)

    def test_scheduled_api_alert_counts_for_its_caller_and_fails_softly(self):
        """Checked when scheduled, reserved when the alert cron sends it: a budget spent meanwhile refuses it there,
        without raising in the cron; the SMS fails with the reason."""
        budget = self.make_budget(5.0)
        api = self.env["sms.africastalking.api"].with_user(self.user_marketing)
        at = fields.Datetime.now() + timedelta(hours=1)
        result = api.send_sms(["+254733000301"], "Exam tomorrow", schedule_at=fields.Datetime.to_string(at))
        self.assertEqual(result["scheduled"], 1)
        budget.limit_amount = 0.5
        self.env["sms.alert"]._send_due_unruled(now=at + timedelta(minutes=1))
        alert = self.env["sms.alert"].browse(result["alert_ids"])
        sms = self.env["sms.sms"].search([("uuid", "=", alert.sms_uuid)])
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_credit"))
        self.assertIn("ICT Office", sms.at_failure_reason)
        budget.limit_amount = 5
        result = api.send_sms(["+254733000302"], "Exam tomorrow", schedule_at=fields.Datetime.to_string(at))
        self.env["sms.alert"]._send_due_unruled(now=at + timedelta(minutes=1))
        self.run_sms_queue()
        self.assertSettled(self.ledger(origin="api"), 0.8, self.user_marketing)

    def test_keyword_reply_gated_and_counted(self):
        number = "+254733000401"
        inbound = self.env["africastalking.inbound"].sudo()
        inbound._process_inbound_message(self.account, InboundMessage(
            message_id="in-1", from_number=number, text="HELP"))
        self.run_sms_queue()
        spend = self.ledger(origin="keyword")
        self.assertEqual(spend.state, "settled")
        self.assertFalse(spend.user_id, "the system answers: nobody's budget")
        self.simulator.set_balance(Decimal("0"))
        self.env["africastalking.account"].browse(self.account.id).sudo().balance_date = False
        inbound._process_inbound_message(self.account, InboundMessage(
            message_id="in-2", from_number="+254733000402", text="HELP"))
        sms = self.env["sms.sms"].search([("number", "=", "+254733000402")])
        self.assertEqual(sms.state, "error", "the callback still answers 200; the reply fails with the reason")
        self.assertIn("Not enough Africa's Talking credit", sms.at_failure_reason)

    def test_resend_is_reserved_again(self):
        budget = self.make_budget(1.0)
        sms = self.env["sms.sms"].with_user(self.user_marketing).sudo().create(
            {"number": "+254733000501", "body": "Fees"})
        self.assertAlmostEqual(budget.reserved_amount, 0.8)
        sms.sudo().write({"state": "error", "failure_type": "sms_server"})
        sms.at_spend_id._close_finished()
        self.assertEqual(sms.at_spend_id.state, "released")
        other = self.env["sms.sms"].with_user(self.user_marketing).sudo().create(
            {"number": "+254733000502", "body": "Fees"})
        self.assertTrue(other.at_spend_id)
        with self.assertRefused("ICT Office"):
            sms.with_user(self.user_marketing).sudo().resend_failed()
        other.action_set_canceled()
        self.assertEqual(other.at_spend_id.state, "released", "a cancelled send gives its reservation back")
        sms.with_user(self.user_marketing).sudo().resend_failed()
        self.run_sms_queue()
        self.assertAlmostEqual(budget.spent_amount, 0.8)

    def test_failed_send_releases_its_reservation(self):
        self.simulator.add_number_rule("+254733000601", 403)
        sms = self.env["sms.sms"].create({"number": "+254733000601", "body": "Fees"})
        spend = sms.at_spend_id
        self.assertEqual(spend.state, "reserved")
        self.run_sms_queue()
        self.assertEqual((spend.state, spend.amount_billed, spend.amount_released), ("released", 0.0, 0.8))

    def test_unpriced_destination_refused_or_priced_with_fallback(self):
        with self.assertRefused(r"No SMS rate for \+4915112345678"):
            self.env["sms.sms"].with_user(self.user_marketing).sudo().create(
                {"number": "+4915112345678", "body": "Hallo"})
        self.env.company.sms_fallback_rate = 5.0
        sms = self.env["sms.sms"].with_user(self.user_marketing).sudo().create(
            {"number": "+4915112345678", "body": "Hallo"})
        self.assertAlmostEqual(sms.at_spend_id.amount_reserved, 5.0)

    def test_open_reservations_hold_the_balance(self):
        self.simulator.set_balance(Decimal("2.00"))
        self.env["sms.sms"].create([{"number": "+25473300070%s" % index, "body": "Fees"} for index in range(2)])
        with self.assertRefused(r"only KES 0\.40 is left \(balance KES 2\.00, KES 1\.60 held"):
            self.env["sms.sms"].with_user(self.user_marketing).sudo().create(
                {"number": "+254733000709", "body": "Fees"})

    def test_broadcast_through_the_api(self):
        self.make_budget(1.0)
        api = self.env["sms.africastalking.api"].with_user(self.user_marketing)
        with self.assertRefused("ICT Office"):
            api.send_broadcast([self.mailing_list.id], body="Campus closed")

    def test_cancelled_mailing_releases_its_reservation(self):
        mailing = self.create_sms_mailing(body="Short")
        mailing.action_put_in_queue()
        mailing.sudo().action_send_sms()  # prepared and reserved, not dispatched yet
        spend = self.ledger(mailing_id=mailing.id)
        self.assertEqual((spend.state, spend.amount_held), ("reserved", 3.2))
        mailing.sudo().action_cancel()
        self.assertEqual((spend.state, spend.amount_released), ("released", 3.2))
        self.run_sms_queue()
        self.assertNothingSent()

    def test_reservation_of_a_send_that_died_expires(self):
        """A mailing whose preparation crashed stays "sending" with nothing queued: its reservation would hold the
        balance for ever; the settle cron releases it after its lifetime."""
        mailing = self.create_sms_mailing(body="Short")
        spend = self.env["sms.spend"].sudo()._reserve(
            self.env.company, {"recipients": 4, "segments": 4, "cost": 3.2, "currency": "KES"},
            user=self.user_marketing, origin="mailing", mailing=mailing)
        mailing.sudo().state = "sending"
        self.env["sms.spend"]._cron_settle()
        self.assertEqual(spend.state, "reserved", "still within its lifetime")
        spend.expire_date = fields.Datetime.now() - timedelta(minutes=1)
        self.env["sms.spend"]._cron_settle()
        self.assertEqual((spend.state, spend.amount_released), ("released", 3.2))


@tagged("post_install", "-at_install")
class TestSmsLedgerConcurrency(LedgerMixin, TransactionCase):
    """Two sends at once on committed data, each in its own thread and cursor, against a balance or a budget
    that covers only one of them: one is reserved, the other refused (directly, or after the serialization retry
    Odoo does for requests and crons), and they never together take more than the limit."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = ATSimulator(accounts={SIM_USERNAME: SIM_API_KEY}).start()
        cls.addClassCleanup(cls.simulator.stop)

    def setUp(self):
        super().setUp()
        self.simulator.reset()
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            self.inactive_ids = env["africastalking.account"].search([]).ids
            env["africastalking.account"].search([]).active = False
            account = env["africastalking.account"].create({
                "name": "Ledger race", "environment": "custom", "api_url": self.simulator.url,
                "username": SIM_USERNAME, "api_key": SIM_API_KEY, "timeout": 5, "company_id": env.company.id})
            self.account_id = account.id
            env.company.country_id = env.ref("base.ke")
            user = env["res.users"].create({
                "name": "Racing Rose", "login": "ledger_race_rose",
                "groups_id": [Command.set([env.ref("base.group_user").id,
                                           env.ref("mass_mailing.group_mass_mailing_user").id])]})
            self.user_id = user.id
            self.budget_id = False
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            cr.execute("DELETE FROM sms_sms WHERE number LIKE '+2547440%%'")
            cr.execute("DELETE FROM sms_spend WHERE account_id = %s", (self.account_id,))
            if self.budget_id:
                env["sms.budget"].browse(self.budget_id).unlink()
            env["africastalking.account"].browse(self.account_id).unlink()
            env["africastalking.account"].browse(self.inactive_ids).active = True
            env["res.users"].browse(self.user_id).unlink()

    def _race(self, count_each):
        """Two threads each queue ``count_each`` SMS at the same instant (a barrier after their balance is read)."""
        barrier = threading.Barrier(2, timeout=30)
        outcomes = {}

        def send(tag):
            for attempt in range(3):  # as odoo.service.model.retrying does on a serialization failure
                try:
                    with self.registry.cursor() as cr:
                        env = chaos.superuser_env(cr)
                        env = env(user=self.user_id, su=True)
                        env["africastalking.account"].browse(self.account_id).read(["balance_amount"])
                        if attempt == 0:
                            barrier.wait()
                        env["sms.sms"].create([{"number": "+2547440%s%04d" % (tag, index), "body": "Race %s" % tag}
                                               for index in range(count_each)])
                    outcomes[tag] = "reserved"
                    return
                except SpendRefused as refusal:
                    outcomes[tag] = str(refusal)
                    return
                except psycopg2.errors.SerializationFailure:
                    outcomes.setdefault("serialization_failures", []).append(tag)
                    continue

        threads = [threading.Thread(target=send, args=(tag,)) for tag in ("1", "2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with self.registry.cursor() as cr:
            cr.execute("SELECT COUNT(*), COALESCE(SUM(amount_reserved), 0) FROM sms_spend WHERE account_id = %s",
                       (self.account_id,))
            lines, reserved = cr.fetchone()
            cr.execute("SELECT COUNT(*) FROM sms_sms WHERE number LIKE '+2547440%%'")
            queued = cr.fetchone()[0]
        return outcomes, lines, float(reserved), queued

    def _read_balance(self):
        with self.registry.cursor() as cr:
            chaos.superuser_env(cr)["africastalking.account"].browse(self.account_id)._sms_known_balance(
                timedelta(0))

    def test_two_sends_against_a_balance_that_covers_one(self):
        self.simulator.set_balance(Decimal("10.00"))  # 8 SMS each at KES 0.80: 6.40 each, 12.80 together
        self._read_balance()  # both sends then use it (read less than a minute ago)
        outcomes, lines, reserved, queued = self._race(8)
        self.assertEqual(sorted(value == "reserved" for key, value in outcomes.items() if key in "12"),
                         [False, True], outcomes)
        refusal = next(value for key, value in outcomes.items() if key in "12" and value != "reserved")
        self.assertIn("needs KES 6.40", refusal)
        self.assertIn("only KES 3.60 is left", refusal)
        self.assertEqual((lines, queued), (1, 8))
        self.assertAlmostEqual(reserved, 6.4)

    def test_two_sends_against_a_budget_that_covers_one(self):
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            today = fields.Date.today()
            self.budget_id = env["sms.budget"].create({
                "name": "Clubs", "user_ids": [Command.set([self.user_id])], "date_start": today,
                "date_end": today + timedelta(days=30), "limit_amount": 5.0, "currency": "KES"}).id
        self._read_balance()
        outcomes, lines, reserved, queued = self._race(4)  # 3.20 each
        self.assertEqual(sorted(value == "reserved" for key, value in outcomes.items() if key in "12"),
                         [False, True], outcomes)
        refusal = next(value for key, value in outcomes.items() if key in "12" and value != "reserved")
        self.assertIn("SMS budget \"Clubs\" has only KES 1.80 left", refusal)
        self.assertEqual((lines, queued), (1, 4))
        self.assertAlmostEqual(reserved, 3.2)


@tagged("post_install", "-at_install")
class TestSmsLedgerTeamsAndReport(LedgerMixin, AfricasTalkingCase):
    """Team budgets count what every member caused; the spending report per team and period, exported for finance;
    who may read the ledger."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        group_user = cls.env.ref("base.group_user")
        group_marketing = cls.env.ref("mass_mailing.group_mass_mailing_user")
        cls.user_other = cls.env["res.users"].create({
            "name": "Club Carl", "login": "ledger_club_carl",
            "groups_id": [Command.set([group_user.id, group_marketing.id])]})
        cls.user_manager = cls.env["res.users"].create({
            "name": "Manager Maggie", "login": "ledger_manager_maggie",
            "groups_id": [Command.set([group_user.id, cls.env.ref("sms_africastalking.group_sms_manager").id])]})
        cls.team_ict = cls.env["sms.team"].create({"name": "ICT Department", "member_ids": [
            Command.set([cls.user_marketing.id])]})
        cls.team_club = cls.env["sms.team"].create({"name": "=Marketing Club", "member_ids": [
            Command.set([cls.user_other.id])]})

    def send_as(self, user, count, prefix):
        self.env["sms.africastalking.api"].with_user(user).send_sms(
            ["+25473340%s%03d" % (prefix, index) for index in range(count)], "Meeting at 10")

    def test_team_budget_counts_every_member_on_every_path(self):
        today = fields.Date.today()
        budget = self.env["sms.budget"].create({
            "name": "ICT", "team_id": self.team_ict.id, "period_type": "month", "date_start": today,
            "date_end": today + timedelta(days=29), "limit_amount": 4.0, "currency": "KES"})
        self.send_as(self.user_marketing, 2, "1")  # API: 1.60
        mailing = self.create_sms_mailing(body="Short")  # 4 recipients: 3.20, more than the 2.40 left
        with self.assertRefused(r"SMS budget \"ICT\" has only KES 2\.40 left"):
            mailing.action_put_in_queue()
        self.run_sms_queue()
        self.assertAlmostEqual(budget.spent_amount, 1.6)
        self.assertEqual(self.ledger(origin="api").team_id, self.team_ict)

    def test_budget_period_rolls(self):
        budget = self.env["sms.budget"].create({
            "name": "Term", "team_id": self.team_ict.id, "period_type": "term", "date_start": "2025-01-01",
            "date_end": "2025-04-30", "limit_amount": 10.0, "currency": "KES"})
        budget._roll_periods(fields.Date.to_date("2026-12-01"))
        self.assertEqual((str(budget.date_start), str(budget.date_end)), ("2026-09-01", "2026-12-31"))

    def test_export_per_team_and_period(self):
        self.send_as(self.user_marketing, 2, "2")
        self.send_as(self.user_other, 3, "3")
        self.run_sms_queue()
        export = self.env["sms.spend.export"].with_user(self.user_manager).create({"file_format": "csv"})
        action = export.action_export()
        self.assertIn("/web/content/sms.spend.export/", action["url"])
        rows = list(csv.reader(io.StringIO(base64.b64decode(export.file).decode("utf-8-sig"))))
        by_team = {row[0]: row for row in rows[1:]}
        self.assertEqual(by_team["ICT Department"][1], fields.Date.today().strftime("%Y-%m"))
        self.assertAlmostEqual(float(by_team["ICT Department"][9]), 1.6)
        self.assertAlmostEqual(float(by_team["'=Marketing Club"][9]), 2.4, msg="formula-safe team name")
        export.file_format = "xlsx"
        export.action_export()
        sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(export.file))).active
        values = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
        self.assertAlmostEqual(values["ICT Department"][9], 1.6)
        # A marketing user exports only their own lines
        export = self.env["sms.spend.export"].with_user(self.user_other).create({"file_format": "csv"})
        export.action_export()
        rows = list(csv.reader(io.StringIO(base64.b64decode(export.file).decode("utf-8-sig"))))
        self.assertEqual([row[0] for row in rows[1:]], ["'=Marketing Club"])

    def test_who_reads_the_ledger(self):
        self.send_as(self.user_marketing, 1, "4")
        self.send_as(self.user_other, 1, "5")
        mine = self.env["sms.spend"].with_user(self.user_other).search([("id", ">", self.last_spend_id)])
        self.assertEqual(mine.user_id, self.user_other)
        every = self.env["sms.spend"].with_user(self.user_manager).search([("id", ">", self.last_spend_id)])
        self.assertEqual(every.user_id, self.user_marketing | self.user_other)
        self.team_club.manager_id = self.user_marketing
        theirs = self.env["sms.spend"].with_user(self.user_marketing).search([("id", ">", self.last_spend_id)])
        self.assertEqual(theirs.user_id, self.user_marketing | self.user_other, "a team manager reads the team's")
        portal = self.env["res.users"].create({"name": "Portal Pat", "login": "ledger_portal",
                                               "groups_id": [Command.set([self.env.ref("base.group_portal").id])]})
        with self.assertRaises(AccessError):
            self.env["sms.spend"].with_user(portal).search([])
        with self.assertRaises(AccessError):
            mine.with_user(self.user_other).write({"amount_billed": 0})
        internal = self.env["res.users"].create({"name": "Internal Ian", "login": "ledger_internal",
                                                 "groups_id": [Command.set([self.env.ref("base.group_user").id])]})
        with self.assertRaises(AccessError):
            self.env["sms.spend.export"].with_user(internal).create({}).action_export()

    def test_other_company_lines_are_hidden(self):
        self.send_as(self.user_marketing, 1, "6")
        company_b = self.env["res.company"].create({"name": "Other School"})
        self.user_manager.write({"company_ids": [Command.link(company_b.id)], "company_id": company_b.id})
        seen = self.env["sms.spend"].with_user(self.user_manager).with_context(
            allowed_company_ids=[company_b.id]).search([("id", ">", self.last_spend_id)])
        self.assertFalse(seen)
