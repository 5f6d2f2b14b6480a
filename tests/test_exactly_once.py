"""Exactly once under real timing (issue #14): one regression test per case, each failing on the code before it.

Reports go through the real webhook over HTTP; the timers (one hour for an interrupted claim, 48 hours for an
unknown outcome) are passed by moving the stored dates back, as a person cannot wait.
"""

import time

import psycopg2

from odoo import Command
from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.sql_db import connection_info_for
from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..simulator.at_simulator import ATSimulator
from . import chaos
from .common import SIM_API_KEY, SIM_USERNAME, AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestExactlyOnce(AfricasTalkingHttpCase, CronMixinCase):

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _post_report(self, account, **form):
        # Only a hash of each callback secret is stored: keep the plain ones, as the administrator pastes them at AT.
        secrets = self.__dict__.setdefault("_plain_secrets", {self.account.id: self.callback_secret})
        if account.id not in secrets:
            secrets[account.id] = account._generate_callback_secret()
        url = "/sms_africastalking/%s/%s/delivery" % (account.id, secrets[account.id])
        self.env.flush_all()
        response = self.url_open(url, data=form, timeout=20)
        self.assertEqual(response.status_code, 200)
        self.apply_queued_reports()

    def _move_claims_back(self, sms, hours):
        """Time travel: the SMS were claimed ``hours`` ago (and their log rows written then)."""
        self.env.flush_all()
        self.env.cr.execute("UPDATE sms_sms SET at_claim_date = now() at time zone 'UTC' - make_interval(hours => %s)"
                            " WHERE id = ANY(%s)", (hours, sms.ids))
        self.env.cr.execute("UPDATE africastalking_message SET send_date = send_date - make_interval(hours => %s) "
                            "WHERE sms_uuid = ANY(%s)", (hours, sms.mapped("uuid")))
        self.env.invalidate_all()

    def _unknown_outcomes(self, bodies, number):
        """SMS to ``number`` that AT accepted but whose answer timed out: their outcome is unknown."""
        self.account.timeout = 1
        self.simulator.hang_seconds = 1.5
        self.simulator.inject_fault("timeout", count=len(bodies))
        sms = self.env["sms.sms"].sudo().create([{"number": number, "body": body} for body in bodies])
        self.run_sms_queue()
        self.assertEqual(set(sms.mapped("state")), {"unknown"})
        return sms

    def _deliver(self, message_ids, **kwargs):
        self.env.flush_all()
        self.simulator.deliver_messages(message_ids, **kwargs)

    def _at_id(self, text):
        [message] = [m for m in self.simulator.messages if m["text"] == text]
        return message["id"]

    def _log(self, sms):
        return self.env["africastalking.message"].search([("sms_uuid", "=", sms.uuid)])

    def _personal_mailing(self, mailing_list=None):
        mailing = self.create_sms_mailing(body="Dear {{ object.name }}, your exam card is ready.",
                                          contact_list_ids=[Command.set((mailing_list or self.mailing_list).ids)])
        mailing.action_put_in_queue()
        mailing.sudo().action_send_sms()
        return mailing, self.env["sms.sms"].sudo().search([("mailing_id", "=", mailing.id)], order="id")

    # ------------------------------------------------------------------
    # 2. A crash mid-send, then AT's reports
    # ------------------------------------------------------------------

    def test_crash_mid_send_reports_settle_the_interrupted_sms(self):
        _mailing, sms = self._personal_mailing()
        claimed = sms._africastalking_claim()
        reached = claimed[:2]
        # The dispatcher dies after AT accepted two messages, before it wrote AT's answer.
        reached._africastalking_send_with(self.account)
        self.deliver_reports()  # AT reports at once: the SMS are still claimed, the reports wait
        self.assertEqual(set(sms.mapped("state")), {"process"})

        # An hour later the queue recovers the claim: what reports said settles the SMS that reached AT.
        self._move_claims_back(sms, 2)
        self.run_sms_queue()
        self.apply_queued_reports()
        for one in reached:
            log = self._log(one)
            self.assertEqual((log.state, log.at_message_id), ("delivered", self._at_id(one.body)))
            self.assertEqual(log.parts, 1)
            self.assertGreater(log.cost, 0, "priced at the rate table: AT's reports carry no cost")
            self.assertEqual((one.sms_tracker_id.mailing_trace_id.trace_status,
                              one.sms_tracker_id.mailing_trace_id.at_message_id), ("sent", log.at_message_id))
            self.assertGreater(one.sms_tracker_id.mailing_trace_id.at_cost, 0)
            self.assertEqual(one.state, "pending")
        never_left = sms - reached
        self.assertEqual(set(never_left.mapped("state")), {"unknown"})

        # Re-posting changes nothing; 48 hours later only what never reached AT becomes resendable.
        self.deliver_reports()
        self._move_claims_back(sms, 49)
        self.run_sms_queue()
        self.assertEqual(set(reached.sms_tracker_id.mailing_trace_id.mapped("trace_status")), {"sent"})
        self.assertEqual(set(never_left.mapped("state")), {"error"})
        # A person retries every error: each contact has its SMS exactly once.
        self.env["sms.sms"].sudo().search([("state", "=", "error")]).resend_failed()
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["duplicates"], 0)
        for one in sms:
            self.assertSentOnce(one.number, one.body)

    def _closed_backend_pid(self, seen_alive_by_this_transaction=False):
        """The pid of a database connection that existed and is now gone, as a killed dispatcher leaves it.

        A closed connection's backend exits asynchronously: another connection polls until PostgreSQL no longer
        lists it (on a loaded machine it stays listed for a moment, and a claim of a live backend is rightly left
        alone). ``seen_alive_by_this_transaction``: the test's transaction reads pg_stat_activity while the backend
        lives, as a long dispatcher transaction may have done."""
        connection = psycopg2.connect(**connection_info_for(self.env.cr.dbname)[1])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        if seen_alive_by_this_transaction:
            self.env.cr.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            self.assertEqual(self.env.cr.fetchone()[0], 1)
        connection.close()
        watcher = psycopg2.connect(**connection_info_for(self.env.cr.dbname)[1])
        watcher.autocommit = True
        try:
            deadline = time.monotonic() + 10
            with watcher.cursor() as cursor:
                while time.monotonic() < deadline:
                    cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
                    if not cursor.fetchone():
                        return pid
                    time.sleep(0.05)
        finally:
            watcher.close()
        return self.fail("backend %s still listed 10 s after its connection closed" % pid)

    def test_claim_of_a_killed_dispatcher_is_recovered_at_once(self):
        """A killed dispatcher's connection is gone with it: its claim needs no hour to be known interrupted."""
        sms = self.env["sms.sms"].sudo().create([{"number": "+25471100002%d" % index, "body": "Bus leaves at 7"}
                                                 for index in range(2)])
        claimed = sms._africastalking_claim()
        claimed[:1]._africastalking_send_with(self.account)
        self.deliver_reports()
        # The claim as a killed process leaves it: made by a database connection that no longer exists.
        dead_pid = self._closed_backend_pid()
        self.env.cr.execute("UPDATE sms_sms SET at_claim_pid = %s WHERE id = ANY(%s)", (dead_pid, sms.ids))
        self.env.invalidate_all()
        self.run_sms_queue()
        self.apply_queued_reports()
        self.assertEqual(sms.mapped("state"), ["pending", "unknown"], "the report settled the one AT accepted")
        self.assertEqual(self._log(sms[0]).state, "delivered")
        self.assertEqual(self.simulator.stats()["accepted"], 1, "nothing resent")

    def test_claim_of_a_dispatcher_seen_alive_earlier_in_the_transaction_is_recovered(self):
        """PostgreSQL keeps a transaction's first view of pg_stat_activity: a dispatcher that died after it must
        not stay 'alive' for the rest of that transaction (the recovery clears the snapshot first)."""
        sms = self.env["sms.sms"].sudo().create({"number": "+254711000029", "body": "Bus leaves at 7"})
        sms._africastalking_claim()
        dead_pid = self._closed_backend_pid(seen_alive_by_this_transaction=True)
        self.env.cr.execute("UPDATE sms_sms SET at_claim_pid = %s WHERE id = %s", (dead_pid, sms.id))
        self.env.invalidate_all()
        self.env["sms.sms"]._africastalking_recover_stale_claims()
        self.assertEqual(sms.state, "unknown", "the dead dispatcher's claim is known interrupted at once")
        self.assertEqual(self.simulator.stats()["accepted"], 0, "nothing sent")

    def test_claim_of_a_live_dispatcher_is_left_alone(self):
        sms = self.env["sms.sms"].sudo().create({"number": "+254711000031", "body": "Bus leaves at 8"})
        sms._africastalking_claim()
        self.run_sms_queue()
        self.assertEqual(sms.state, "process", "its dispatcher (this connection) is still writing")

    # ------------------------------------------------------------------
    # 3. The 48-hour expiry and what reports already said
    # ------------------------------------------------------------------

    def test_expiry_never_regresses_a_reported_outcome(self):
        delivered = self._unknown_outcomes(["Exam at 08:00"], "+254711000009")
        sent = self._unknown_outcomes(["Exam at 10:00"], "+254711000019")
        self._deliver([self._at_id("Exam at 08:00")])
        self._deliver([self._at_id("Exam at 10:00")], final=False)  # only "Sent" so far
        self.apply_queued_reports()
        self._move_claims_back(delivered | sent, 49)
        self.run_sms_queue()
        self.assertEqual(self._log(delivered).state, "delivered")
        for sms in delivered | sent:
            self.assertNotEqual(sms.state, "error", "AT accepted it: never 'resend if needed'")
        # Retry of every error resends nothing
        self.env["sms.sms"].sudo().search([("state", "=", "error")]).resend_failed()
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["duplicates"], 0)

    # ------------------------------------------------------------------
    # 4. Unknown outcomes matched to reports without swapping
    # ------------------------------------------------------------------

    def test_two_unknown_outcomes_to_one_number_are_never_swapped(self):
        one_contact = self.env["mailing.list"].create({
            "name": "One", "contact_ids": [Command.create({"name": "Amina", "mobile": "+254733000111"})]})
        self.account.timeout = 1
        self.simulator.hang_seconds = 1.5
        traces = self.env["mailing.trace"]
        for text in ("Fees are due", "Library closed"):
            mailing = self.create_sms_mailing(body=text, contact_list_ids=[Command.set(one_contact.ids)])
            self.simulator.inject_fault("timeout")
            self.send_mailing(mailing)
            traces |= mailing.mailing_trace_ids
        self.assertEqual(traces.mapped("trace_status"), ["unknown", "unknown"])
        first, second = self._at_id("Fees are due"), self._at_id("Library closed")
        self.simulator.set_fate(first, "Success")
        self.simulator.set_fate(second, "Failed", "DeliveryFailure")
        self._deliver([second])  # B's failure first, then A's success
        self._deliver([first])
        self.apply_queued_reports()
        traces.invalidate_recordset()
        # Which report is which cannot be told by number alone: nothing is swapped, both say why they wait.
        self.assertEqual(traces.mapped("trace_status"), ["unknown", "unknown"])
        logs = self.env["africastalking.message"].search([("number", "=", "+254733000111")])
        self.assertEqual(set(logs.mapped("state")), {"unknown"})
        self.assertTrue(all(logs.mapped("report_ambiguous")))
        self.assertIn("Several SMS to this number", logs[0].failure_reason)
        # ... and the expiry never offers them for a resend.
        self._move_claims_back(self.env["sms.sms"].sudo().search([("number", "=", "+254733000111")]), 49)
        self.run_sms_queue()
        traces.invalidate_recordset()
        self.assertEqual(traces.mapped("trace_status"), ["unknown", "unknown"])

    def test_report_applied_only_within_its_send_window(self):
        """A report received before the unknown outcome's send began is not about it."""
        [sms] = self._unknown_outcomes(["Graduation on Friday"], "+254711000008")
        self._move_claims_back(sms, -2)  # the send began two hours after the report is received
        self.deliver_reports()
        self.assertEqual(self._log(sms).state, "unknown")

    # ------------------------------------------------------------------
    # 5. Blacklisting only from reports applied to their own message on their own account
    # ------------------------------------------------------------------

    def test_user_in_blacklist_only_from_applied_reports(self):
        blacklist = self.env["phone.blacklist"].sudo()
        number = "+254711000007"
        sms = self.env["sms.sms"].sudo().create({"number": number, "body": "Welcome week"})
        self.run_sms_queue()
        log = self._log(sms)
        failed = {"id": log.at_message_id, "status": "Failed", "phoneNumber": number, "networkCode": "63902",
                  "failureReason": "UserInBlacklist"}
        # Posted on another account's URL: ignored, and blocks nothing.
        other = self.account.copy({"name": "Other company account", "company_id": self.env["res.company"].create(
            {"name": "Other school"}).id})
        self._post_report(other, **failed)
        self.assertFalse(blacklist.search([("number", "=", number)]))
        # Delivered first: a late "Failed" changes nothing, blocks nothing.
        self._post_report(self.account, **{**failed, "status": "Success", "failureReason": ""})
        self._post_report(self.account, **failed)
        self.assertEqual(log.state, "delivered")
        self.assertFalse(blacklist.search([("number", "=", number)]))
        # Applied to its own message: it blocks the number.
        sms = self.env["sms.sms"].sudo().create({"number": "+254711000006", "body": "Welcome week"})
        self.run_sms_queue()
        self._post_report(self.account, **{**failed, "id": self._log(sms).at_message_id,
                                            "phoneNumber": "+254711000006"})
        self.assertTrue(blacklist.search([("number", "=", "+254711000006")]))

    # ------------------------------------------------------------------
    # 6. Failure reasons per recipient
    # ------------------------------------------------------------------

    def test_refusal_reasons_per_recipient(self):
        self.simulator.add_number_rule("+254722000000", 409)
        self.simulator.add_number_rule("+254722000001", 502)
        mailing = self.create_sms_mailing(body="Same text for everyone")
        self.send_mailing(mailing)
        self.assertEqual(self.simulator.stats()["send_requests"], 1, "one request for the whole group")
        traces = {trace.sms_number: trace for trace in mailing.mailing_trace_ids}
        self.assertEqual(traces["+254722000000"].failure_reason, "DoNotDisturbRejection")
        self.assertEqual(traces["+254722000001"].failure_reason, "RejectedByGateway")
        self.assertEqual(traces["+254722000002"].trace_status, "pending")

    # ------------------------------------------------------------------
    # 7 and #18 item 7. Every path that queues wakes the queue
    # ------------------------------------------------------------------

    def test_composer_default_mode_and_server_action_wake_the_queue(self):
        composer = self.env["sms.composer"].with_user(self.user_marketing).create({
            "res_model": "res.partner", "res_ids": repr(self.partners.ids), "composition_mode": "mass",
            "body": "Open day on Saturday"})
        self.assertFalse(composer.mass_force_send, "the default mode only queues")
        with self.capture_triggers("sms.ir_cron_sms_scheduler_action") as capture:
            composer.action_send_sms()
        self.assertTrue(capture.records, "the composer's SMS leave at once, not on the 5-minute cron")
        action = self.env["ir.actions.server"].create({
            "name": "Welcome SMS", "model_id": self.env["ir.model"]._get_id("res.partner"), "state": "sms",
            "sms_method": "sms", "sms_template_id": self.env["sms.template"].create({
                "name": "Welcome", "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Welcome {{ object.name }}"}).id})
        with self.capture_triggers("sms.ir_cron_sms_scheduler_action") as capture:
            action.with_context(active_model="res.partner", active_ids=self.partners[:1].ids,
                                active_id=self.partners[0].id).run()
        self.assertTrue(capture.records, "a server action's SMS leave at once")
        self.run_sms_queue()
        self.assertSentOnce(self.partners[0].mobile, "Welcome %s" % self.partners[0].name)

    # ------------------------------------------------------------------
    # 8. enqueue=1 for bulk requests
    # ------------------------------------------------------------------

    def test_bulk_requests_are_enqueued(self):
        self.send_mailing(self.create_sms_mailing(body="Same text for everyone"))
        self.assertEqual([m["enqueue"] for m in self.simulator.messages], [True] * 4)
        self.simulator.reset()
        self.env["sms.sms"].sudo().create({"number": "+254711000005", "body": "Just you"})
        self.run_sms_queue()
        self.assertEqual([m["enqueue"] for m in self.simulator.messages], [False], "a single SMS is answered at once")


@tagged("post_install", "-at_install")
class TestRealTiming(TransactionCase):
    """The concurrency harness on committed data: real cursors per thread, AT's reports posted to Odoo's real
    webhook by the simulator with zero delay while AT answers slowly, the report cron applying them all along.

    1. Reports land while the dispatcher writes its batch (case 1 of the issue: the batch once failed on them).
    2. A dispatcher killed after AT accepted part of its claim, reports arriving all along, a new dispatcher; the
       hour and the 48 hours passed by moving the stored dates.
    Each ends with every SMS AT accepted settled from its reports, nothing processing, no duplicate at AT, also after
    a Retry of every error.
    """

    COUNT = 24

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = ATSimulator(accounts={SIM_USERNAME: SIM_API_KEY}, failure_rate=0.25, seed=14).start()
        cls.addClassCleanup(cls.simulator.stop)
        cls.control = chaos.SimulatorControl(cls.simulator)

    def setUp(self):
        super().setUp()
        self.simulator.reset()
        self.simulator.auto_deliver, self.simulator.delivery_delay = True, 0.0  # reports at once
        self.simulator.report_repeats, self.simulator.reorder_reports = 2, True
        self.simulator.set_latency(0.5)  # AT answers slowly: the reports arrive before the answers
        self.addCleanup(setattr, self.simulator, "auto_deliver", False)
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            self.inactive_ids = env["africastalking.account"].search([]).ids
            env["africastalking.account"].search([]).active = False
            account = env["africastalking.account"].create({
                "name": "Real timing", "environment": "custom", "api_url": self.simulator.url,
                "username": SIM_USERNAME, "api_key": SIM_API_KEY, "timeout": 5, "concurrency": 4,
                "company_id": env.company.id})
            self.account_id = account.id
            base_url = "http://127.0.0.1:%s" % config["http_port"]
            self.simulator.set_callback_urls(
                delivery=base_url + account._callback_path("delivery", account._generate_callback_secret()))
            env.company.country_id = env.ref("base.ke")
            self.sms_ids = chaos.queue_personal_sms(env, self.COUNT, 254755000000, "Timing").ids
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        self.simulator.auto_deliver = False
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            sms = env["sms.sms"].browse(self.sms_ids).exists()
            env.cr.execute("DELETE FROM africastalking_message WHERE account_id = %s", (self.account_id,))
            env.cr.execute("DELETE FROM africastalking_delivery_report WHERE account_id = %s", (self.account_id,))
            sms.unlink()
            env["africastalking.account"].browse(self.account_id).unlink()
            env["africastalking.account"].browse(self.inactive_ids).active = True

    def _dispatch(self, env):
        env["sms.sms"]._process_queue(ids=self.sms_ids)

    def _assert_settled(self, applier, after):
        state = chaos.wait_for_reports(self.control)
        applier.drain()
        applier.drain()
        with self.registry.cursor() as cr:
            problems, summary = chaos.check_settled(chaos.superuser_env(cr), self.sms_ids, state)
        self.assertEqual(problems, [], "%s: %s" % (after, summary))
        self.assertEqual(applier.errors, [])
        return summary

    def test_reports_during_the_write_back(self):
        with chaos.ReportApplier(self.registry) as applier:
            thread, errors = chaos.run_in_thread(self.registry, self._dispatch)
            chaos.finish(thread)
            self.assertEqual(errors, [])
            summary = self._assert_settled(applier, "dispatch")
            self.assertEqual((summary["accepted"], summary["settled"]), (self.COUNT, self.COUNT), summary)
            self.assertGreater(self.simulator.stats()["reports_posted"], 2 * self.COUNT)
            chaos.retry_every_error(self.registry, self.sms_ids)
            self._assert_settled(applier, "retry of every error")

    def test_dispatcher_killed_while_reports_arrive(self):
        killed, reached = self.sms_ids[: self.COUNT * 2 // 3], self.COUNT // 3
        with chaos.ReportApplier(self.registry) as applier:
            thread, errors = chaos.run_in_thread(
                self.registry, lambda env: chaos.killed_dispatch(env, killed, reached))
            chaos.finish(thread)
            # A new dispatcher sends the rest while the reports of the killed one arrive.
            thread, more_errors = chaos.run_in_thread(self.registry, self._dispatch)
            chaos.finish(thread)
            self.assertEqual(errors + more_errors, [])
            chaos.wait_for_reports(self.control)
            with self.registry.cursor() as cr:
                env = chaos.superuser_env(cr)
                # An hour later the queue recovers the claim, and the waiting reports settle what reached AT.
                chaos.pass_time(env, killed, 2)
                env["sms.sms"]._process_queue()
            summary = self._assert_settled(applier, "stale-claim recovery")
            self.assertEqual(summary["unknown"], len(killed) - reached, summary)
            self.assertEqual(summary["settled"], self.COUNT - len(killed) + reached, summary)
            with self.registry.cursor() as cr:
                env = chaos.superuser_env(cr)
                # 48 hours later, what never reached AT may be resent by a person; they retry every error.
                chaos.pass_time(env, killed, 48)
                env["sms.sms"]._process_queue()
            self.assertEqual(chaos.retry_every_error(self.registry, self.sms_ids), len(killed) - reached)
            summary = self._assert_settled(applier, "retry of every error")
            self.assertEqual(summary["settled"], self.COUNT, summary)
