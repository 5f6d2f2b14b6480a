"""The SMS queue cron keeps up with a mailing being prepared, on committed data (issue #21).

On Odoo's threaded server the mass-mailing cron prepares a large mailing chunk by chunk in one thread while the SMS
queue cron sends in the other: each chunk's commit wakes the queue. A run of the queue goes on with the SMS
queued while it sends (instead of ending after what it found when it started, and leaving the rest to a new run
that waits for its write-back and reads the whole queue again), as long as half of the cron's time limit allows.
"""

import time
from unittest.mock import patch

from odoo.tests import TransactionCase, tagged

from ..models import sms_sms
from ..simulator.at_simulator import ATSimulator
from . import chaos
from .common import SIM_API_KEY, SIM_USERNAME


@tagged("post_install", "-at_install")
class TestDispatchFollowsTheQueue(TransactionCase):

    FIRST, LATER = 3, 3

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = ATSimulator(accounts={SIM_USERNAME: SIM_API_KEY}).start()
        cls.addClassCleanup(cls.simulator.stop)

    def setUp(self):
        super().setUp()
        self.simulator.reset()
        self.simulator.set_latency(0.5)  # the run is still sending its first SMS when the next ones are queued
        self.addCleanup(self.simulator.set_latency, 0.0)
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            self.inactive_ids = env["africastalking.account"].search([]).ids
            env["africastalking.account"].search([]).active = False
            self.account_id = env["africastalking.account"].create({
                "name": "Follow the queue", "environment": "custom", "api_url": self.simulator.url,
                "username": SIM_USERNAME, "api_key": SIM_API_KEY, "timeout": 5, "concurrency": 4,
                "company_id": env.company.id}).id
            env.company.country_id = env.ref("base.ke")
            self.first_ids = chaos.queue_personal_sms(env, self.FIRST, 254756000000, "First").ids
        self.later_ids = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            env["sms.sms"].browse(self.first_ids + self.later_ids).exists().unlink()
            env.cr.execute("DELETE FROM africastalking_message WHERE account_id = %s", (self.account_id,))
            env["africastalking.account"].browse(self.account_id).unlink()
            env["africastalking.account"].browse(self.inactive_ids).active = True

    def _run_queue_while_more_are_queued(self):
        """A run of the cron (committing, in its own thread) on the first SMS; while AT answers their requests,
        more SMS are queued and committed (as a preparation's next chunk)."""
        thread, errors = chaos.run_in_thread(self.registry, lambda env: env["sms.sms"]._process_queue())
        deadline = time.monotonic() + 30
        while not self.simulator.stats().get("requests") and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertTrue(self.simulator.stats().get("requests"), "the run sends the first SMS")
        with self.registry.cursor() as cr:
            self.later_ids = chaos.queue_personal_sms(chaos.superuser_env(cr), self.LATER, 254757000000, "Later").ids
        thread.join(60)
        self.assertFalse(thread.is_alive())
        self.assertEqual(errors, [])

    def _states(self, ids):
        with self.registry.cursor() as cr:
            return set(chaos.superuser_env(cr)["sms.sms"].browse(ids).mapped("state"))

    def _queue_triggered(self):
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            cron = env.ref("sms.ir_cron_sms_scheduler_action")
            return env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])

    def test_a_run_sends_the_sms_queued_while_it_sends(self):
        self._run_queue_while_more_are_queued()
        self.assertEqual(self._states(self.first_ids + self.later_ids), {"pending"}, "every SMS sent in one run")
        stats = self.simulator.stats()
        self.assertEqual((stats["messages"], stats["duplicates"]), (self.FIRST + self.LATER, 0))

    def test_a_run_past_its_time_takes_in_nothing_more_and_calls_the_cron_back(self):
        triggers = self._queue_triggered()
        with patch.object(sms_sms, "dispatch_deadline", lambda: 0.0):
            self._run_queue_while_more_are_queued()
        self.assertEqual(self._states(self.first_ids), {"pending"})
        self.assertEqual(self._states(self.later_ids), {"outgoing"}, "left to the next run")
        self.assertGreater(self._queue_triggered(), triggers, "the next run is called at once")
        self.assertEqual(self.simulator.stats()["messages"], self.FIRST)
