"""Reliability: gateway faults, delivery-report chaos, neutralized copies, secrets, fuzzed templates.

The same fault and chaos logic runs at large sizes, with the dispatcher killed and restarted, in ``make stress``
(``bench/stress.py``); here it runs small enough for ``make test``.
"""

import logging
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo import Command
from odoo.exceptions import UserError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import tagged
from odoo.tools import mute_logger

from . import chaos
from .common import SIM_API_KEY, SIM_USERNAME, AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestGatewayFaults(AfricasTalkingCase):
    """Read timeouts, 5xx, resets and wrong-key answers, and a dispatcher that dies between claim and answer."""

    SMS_COUNT = 200

    def test_faults_never_send_twice_nor_leave_sms_without_state(self):
        self.account.timeout = 1
        self.simulator.hang_seconds = 1.5
        rng = chaos.fresh_rng(7)
        control = chaos.SimulatorControl(self.simulator)
        sms = chaos.queue_personal_sms(self.env["sms.sms"].sudo().env, self.SMS_COUNT, 254733000000, "Faults")
        # A dispatcher dies after AT accepted its batch and before it wrote the answers: its claim stays behind.
        killed = sms[:20]._africastalking_claim()
        killed._africastalking_send_with(self.account)
        chaos.dispatch_with_faults(self.env, (sms - killed).ids, control, rng, batch_size=25, fault_ratio=0.3)
        # Fifteen minutes later, the queue gives the interrupted claim an unknown outcome; it never resends it.
        self.env.cr.execute("UPDATE sms_sms SET at_claim_date = at_claim_date - interval '2 hours' "
                            "WHERE id = ANY(%s)", (killed.ids,))
        self.env.invalidate_all()
        self.run_sms_queue()
        time.sleep(self.simulator.hang_seconds + 0.5)  # a 'timeout before processing' request lands late
        state = control.state()
        problems, summary = chaos.check_dispatch(self.env, sms.ids, state)
        self.assertEqual(problems, [])
        self.assertGreaterEqual(summary["faults"], 30, summary)
        self.assertTrue(summary["unknown"] and summary["sent"] and summary["failed"], summary)
        self.assertEqual(set(killed.mapped("state")), {"unknown"})

        # Running the queue again sends nothing: no unknown or failed SMS is ever retried blindly.
        accepted = self.simulator.stats()["accepted"]
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["accepted"], accepted)

        # AT's reports settle every message it accepted, unknown outcomes included.
        problems, settled = chaos.settle_with_reports(self.env, self.account, state, rng)
        self.assertEqual(problems, [])
        self.assertGreaterEqual(settled, len(killed))


@tagged("post_install", "-at_install")
class TestDeliveryReportChaos(AfricasTalkingCase):
    """Reports repeated (20 %), reordered, intermediate and final, some before their send's answer is written."""

    MESSAGE_COUNT = 500

    def test_every_final_state_exact_nothing_regressed(self):
        rng = chaos.fresh_rng(11)
        sms = self.env["sms.sms"].sudo().create([
            {"number": "+%d" % (254744000000 + index), "body": "Fees are due on Friday."}
            for index in range(self.MESSAGE_COUNT)])
        # One fifth is at AT, but the dispatcher has not written AT's answer yet: their reports come first.
        late = sms[: self.MESSAGE_COUNT // 5]._africastalking_claim()
        late_results = late._africastalking_send_with(self.account)
        self.run_sms_queue()
        on_time = self.env["africastalking.message"].search([("sms_uuid", "in", (sms - late).mapped("uuid"))])
        messages = [(m.at_message_id, m.number) for m in on_time]
        messages += [(result.message_id, result.number) for result in late_results]
        self.assertEqual(len({message_id for message_id, _number in messages}), self.MESSAGE_COUNT)

        forms, expected = chaos.chaos_forms(rng, messages, repeat_ratio=0.2)
        chaos.enqueue_forms(self.env, self.account, forms)
        written = []

        def write_late_answers():
            if not written:
                late._africastalking_apply_results(late_results)
                written.append(True)

        regressions = chaos.apply_in_chunks(self.env, expected, chunk=len(forms) // 4, on_chunk=write_late_answers)
        self.assertEqual(regressions, [])
        self.assertEqual(chaos.check_report_states(self.env, expected), [])
        self.assertEqual(self.env["africastalking.message"].search_count(
            [("at_message_id", "in", list(expected))]), self.MESSAGE_COUNT, "early reports are completed, not doubled")
        self.assertEqual(set(sms.mapped("to_delete")), {True}, "every SMS got its final report")

        # AT retries everything once more, in another order: nothing moves.
        rng.shuffle(forms)
        chaos.enqueue_forms(self.env, self.account, forms)
        self.assertEqual(chaos.apply_in_chunks(self.env, expected, chunk=len(forms)), [])
        self.assertEqual(chaos.check_report_states(self.env, expected), [])


@tagged("post_install", "-at_install")
class TestNeutralizedCopy(AfricasTalkingCase):
    """A neutralized copy (staging, restored backup) never sends, and says why."""

    def _neutralize(self):
        for query in get_neutralization_queries(["base", "sms_africastalking"]):
            self.env.cr.execute(query)
        self.env.invalidate_all()

    def test_neutralized_database_sends_nothing(self):
        self._neutralize()
        self.assertFalse(self.account.active)
        partner = self.partners[0]
        message = partner._message_sms("Exam card ready", partner_ids=partner.ids)
        sms = self.env["sms.sms"].sudo().create({"number": "+254711000009", "body": "Fees due"})
        mailing = self.create_sms_mailing()
        with self.assertRaises(UserError):
            mailing.action_put_in_queue()  # the credit gate says there is no account
        mailing.sudo().write({"state": "in_queue"})  # queued before the copy was made
        mailing.sudo().action_send_sms()
        self.assertEqual(mailing.state, "draft")
        self.run_sms_queue()
        self.assertNothingSent()
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_acc"))
        self.assertIn("No Africa's Talking account", sms.at_failure_reason)
        self.assertEqual(message.notification_ids.failure_type, "sms_acc")
        self.assertFalse(self.env["africastalking.account"]._authenticate_callback(
            self.account.id, self.callback_secret), "nor does it take AT's callbacks")

    def test_account_created_on_neutralized_database_is_archived(self):
        self._neutralize()
        account = self.env["africastalking.account"].create({
            "name": "Pasted production key", "username": "school", "api_key": "prod-key"})
        self.assertFalse(account.active)
        self.run_sms_queue()
        self.env["sms.sms"].sudo().create({"number": "+254711000009", "body": "Fees due"})
        self.run_sms_queue()
        self.assertNothingSent()


@tagged("post_install", "-at_install")
class TestSecretsNeverLeak(AfricasTalkingCase):
    """The API key appears in no log line, no error shown to users, no failure reason."""

    API_KEY = "atsk_Zq9DISTINCTIVEkey4711"

    def setUp(self):
        super().setUp()
        self.simulator.accounts[SIM_USERNAME] = self.API_KEY
        self.addCleanup(self.simulator.accounts.__setitem__, SIM_USERNAME, SIM_API_KEY)
        self.account.api_key = self.API_KEY
        self.account.timeout = 1
        self.simulator.hang_seconds = 1.5
        self.env.flush_all()  # the test's own write of the key is not what is checked

    def _capture(self):
        return self.assertLogs(level=logging.DEBUG)

    def _assertNoKey(self, logs, *texts):
        for record in logs.records:
            self.assertNotIn(self.API_KEY, record.getMessage())
            self.assertNotIn(self.API_KEY, str(record.args))
        for text in texts:
            self.assertNotIn(self.API_KEY, text or "")

    def test_failing_sends_and_balance_checks(self):
        texts = []
        with self._capture() as logs:
            logging.getLogger(__name__).debug("capture starts")
            for fault in ("timeout", "http_500", "reset", "http_401"):
                self.simulator.inject_fault(fault, after_processing=fault != "http_401")
                sms = self.env["sms.sms"].sudo().create({"number": "+254711000001", "body": "Fault %s" % fault})
                self.run_sms_queue()
                self.assertIn(sms.state, ("unknown", "error"))
                texts.append(sms.at_failure_reason)
            for fault in ("timeout", "http_500", "reset", "http_401"):
                self.simulator.inject_fault(fault, endpoint="user")
                with self.assertRaises(UserError) as error:
                    self.account.action_check_balance()
                texts.append(str(error.exception))
            self.simulator.accounts[SIM_USERNAME] = "rotated-key"  # the stored key is now wrong
            with self.assertRaises(UserError) as error:
                self.account.action_test_connection()
            texts.append(str(error.exception))
            sms = self.env["sms.sms"].sudo().create({"number": "+254711000002", "body": "Wrong key"})
            self.run_sms_queue()
            self.assertEqual((sms.state, sms.failure_type), ("error", "sms_acc"))
            texts.append(sms.at_failure_reason)
        texts += self.env["africastalking.message"].search([]).mapped("failure_reason")
        self._assertNoKey(logs, *texts)
        for text in texts[4:9]:
            # What a user reads says what to do, without internals.
            for internal in ("Traceback", "Exception", "127.0.0.1", "apiKey", "requests.", "urllib3"):
                self.assertNotIn(internal, text)
        self.assertIn("Check them in the account", texts[7])


# Placeholders a marketing text may hold: fields, related fields, an empty relation, a field that does not
# exist, and a method (not a field).
PLACEHOLDERS = st.sampled_from([
    "object.name", "object.mobile", "object.email", "object.country_id.name", "object.title_id.name",
    "object.id", "object.message_bounce", "object.nonexistent_field", "object.country_id.nonexistent",
    "object.name.upper", "object.is_blacklisted", "object.list_ids.name", "object.list_ids",
])
TEXT = st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=30)


@tagged("post_install", "-at_install")
class TestTemplateBodies(AfricasTalkingCase):
    """Any SMS body: the fast renderer of mailings gives what Odoo's renderer gives, or Odoo's clear error."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contacts = cls.env["mailing.contact"].create([
            {"name": "Amani Wanjiru", "mobile": "+254722100001", "email": "amani@example.com",
             "country_id": cls.env.ref("base.ke").id,
             "list_ids": [Command.link(cls.mailing_list.id), Command.create({"name": "Parents"})]},
            {"name": "", "mobile": False},
        ])
        cls.mailing = cls.env["mailing.mailing"].create({
            "subject": "Fuzz", "mailing_type": "sms", "body_plaintext": "x",
            "mailing_model_id": cls.env["ir.model"]._get_id("mailing.contact"),
            "contact_list_ids": [Command.link(cls.mailing_list.id)]})

    def _render_both(self, body):
        outcomes = []
        for render in (self.mailing._africastalking_render,
                       self.env["mail.render.mixin"]._render_template):
            try:
                with mute_logger("odoo.addons.mail.models.mail_render_mixin"):
                    outcomes.append(render(body, "mailing.contact", self.contacts.ids))
            except UserError:
                outcomes.append(UserError)
        return outcomes

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(TEXT, st.one_of(st.none(), PLACEHOLDERS)), max_size=4))
    def test_fast_render_matches_odoo(self, parts):
        body = "".join(text + ("{{ %s }}" % path if path else "") for text, path in parts)
        if "object.name.upper" in body:
            # A method renders as its repr, with a memory address: compare the shape only.
            ours, odoo = self._render_both(body)
            self.assertEqual(ours is UserError, odoo is UserError)
            return
        ours, odoo = self._render_both(body)
        self.assertEqual(ours, odoo, body)

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.text(max_size=60))
    def test_any_body_renders_or_says_why(self, body):
        ours, odoo = self._render_both(body)
        self.assertEqual(ours, odoo, body)
