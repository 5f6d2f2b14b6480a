"""The mass-mailing cron prepares within Odoo's time limit of a cron job, over several runs when needed.

Odoo's threaded server restarts its whole process when a cron thread runs past ``limit_time_real`` (120 s by
default), and a prefork cron worker is killed past ``limit_time_cpu``: stock's preparation of 100,000 recipients
(minutes in one job) never ends on a default server. Each run of ours stops preparing at half the limit, calls the
cron back, and the mailing is not closed by its SMS all being sent while recipients are left to prepare.
"""
from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged
from odoo.tools import config

from ..models import mailing_mailing_prepare
from ..models.mailing_mailing_prepare import cron_time_limit
from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestPrepareTimeLimit(AfricasTalkingCase):

    def test_cron_time_limit_is_the_one_the_server_applies(self):
        cases = [
            # (workers, limit_time_real, limit_time_real_cron, limit_time_cpu) -> seconds
            ((0, 120, -1, 60), 120),  # Odoo's defaults, threaded server: limit_time_real (CPU time is not limited)
            ((0, 120, 0, 60), 120),  # the threaded server reads only a positive limit_time_real_cron
            ((0, 120, 600, 60), 600),
            ((0, 0, -1, 60), None),  # no limit: one run prepares everything
            ((2, 120, -1, 60), 60),  # prefork: the CPU limit comes first
            ((2, 120, 0, 0), None),  # prefork: 0 lifts the cron's real-time limit
            ((2, 120, 300, 900), 300),
        ]
        for (workers, real, real_cron, cpu), expected in cases:
            options = {"workers": workers, "limit_time_real": real, "limit_time_real_cron": real_cron,
                       "limit_time_cpu": cpu}
            with self.subTest(**options), patch.dict(config.options, options):
                self.assertEqual(cron_time_limit(), expected)

    def _mailing_of_shared_numbers(self):
        """Nine students, numbers shared three by three across chunks of two: duplicates span the cron's runs."""
        students = self.env["mailing.list"].create({"name": "Form 4", "contact_ids": [
            Command.create({"name": "Student %d" % index, "mobile": "+25471200%04d" % (index % 3)})
            for index in range(9)]})
        mailing = self.create_sms_mailing(body="Hi {{ object.name }}, results are out.",
                                          contact_list_ids=[Command.set(students.ids)])
        mailing.action_put_in_queue()
        return mailing

    def _cron_triggers(self):
        cron = self.env.ref("mass_mailing.ir_cron_mass_mailing_queue")
        return self.env["ir.cron.trigger"].sudo().search_count([("cron_id", "=", cron.id)])

    def test_a_run_past_its_time_prepares_one_chunk_and_calls_the_cron_back(self):
        mailing = self._mailing_of_shared_numbers()
        cron = self.env["mailing.mailing"].sudo()
        # Every run is past its deadline as soon as it starts: one chunk of two recipients per run.
        with patch.object(mailing_mailing_prepare, "PREPARE_CHUNK_SIZE", 2), \
                patch.object(mailing_mailing_prepare, "preparation_deadline", lambda: 0.0):
            triggers = self._cron_triggers()
            cron._process_mass_mailing_queue()
            self.assertEqual(len(mailing.mailing_trace_ids), 2, "one chunk in this run")
            self.assertEqual(mailing.state, "sending")
            self.assertTrue(mailing.sms_preparation_pending)
            self.assertGreater(self._cron_triggers(), triggers, "the cron is called back at once")

            # Everything prepared so far is sent: the mailing is not done, recipients are left.
            self.run_sms_queue()
            self.assertEqual(self.simulator.stats()["accepted"], 2)
            self.assertEqual(mailing.state, "sending", "not closed while recipients are left to prepare")

            runs = 1
            while mailing.state != "done" and runs < 20:
                cron._process_mass_mailing_queue()
                self.run_sms_queue()
                runs += 1
        self.assertEqual(mailing.state, "done")
        self.assertFalse(mailing.sms_preparation_pending)
        self.assertEqual(runs, 5, "nine recipients, two per run")
        traces = mailing.mailing_trace_ids
        self.assertEqual(len(traces), 9, "every student traced once")
        self.assertEqual(len(traces.filtered(lambda trace: trace.failure_type == "sms_duplicate")), 6,
                         "numbers prepared in an earlier run count as seen")
        for index in range(3):
            self.assertSentOnce("+25471200%04d" % index)
        self.assertEqual(self.simulator.stats()["accepted"], 3)

    def test_a_run_starts_with_a_smaller_chunk(self):
        """The first chunk's commit wakes the SMS queue cron: the smaller it is, the sooner the first SMS leaves while
        the next chunks are prepared (each run past its deadline here prepares its first chunk only)."""
        mailing = self._mailing_of_shared_numbers()
        cron = self.env["mailing.mailing"].sudo()
        prepared = []
        with patch.object(mailing_mailing_prepare, "PREPARE_CHUNK_SIZE", 4), \
                patch.object(mailing_mailing_prepare, "PREPARE_FIRST_CHUNK_SIZE", 2), \
                patch.object(mailing_mailing_prepare, "preparation_deadline", lambda: 0.0):
            while mailing.state != "done" and len(prepared) < 10:
                cron._process_mass_mailing_queue()
                prepared.append(len(mailing.mailing_trace_ids))
                self.run_sms_queue()
        self.assertEqual(prepared, [2, 4, 6, 8, 9], "two recipients per run, not four")
        self.assertEqual(len(mailing.mailing_trace_ids.filtered(lambda trace: trace.trace_status == "cancel")), 6,
                         "the duplicates across chunks are told by their position among all recipients")
        self.assertEqual(self.simulator.stats()["accepted"], 3)

    def test_one_run_of_a_small_chunk_then_larger_ones(self):
        mailing = self._mailing_of_shared_numbers()
        with patch.object(mailing_mailing_prepare, "PREPARE_CHUNK_SIZE", 4), \
                patch.object(mailing_mailing_prepare, "PREPARE_FIRST_CHUNK_SIZE", 2), \
                patch.object(mailing_mailing_prepare, "preparation_deadline", lambda: None):
            self.env["mailing.mailing"].sudo()._process_mass_mailing_queue()
        self.assertEqual(len(mailing.mailing_trace_ids), 9)
        self.assertFalse(mailing.sms_preparation_pending)
        self.run_sms_queue()
        self.assertEqual(mailing.state, "done")
        for index in range(3):
            self.assertSentOnce("+25471200%04d" % index)
        self.assertEqual(self.simulator.stats()["accepted"], 3)

    def test_no_limit_prepares_everything_in_one_run(self):
        mailing = self._mailing_of_shared_numbers()
        with patch.object(mailing_mailing_prepare, "PREPARE_CHUNK_SIZE", 2), \
                patch.object(mailing_mailing_prepare, "preparation_deadline", lambda: None):
            self.env["mailing.mailing"].sudo()._process_mass_mailing_queue()
        self.assertEqual(len(mailing.mailing_trace_ids), 9)
        self.run_sms_queue()
        self.assertEqual(mailing.state, "done")
        self.assertEqual(self.simulator.stats()["accepted"], 3)

    def test_ab_tests_are_prepared_in_one_run(self):
        """Stock draws a new random sample of an A/B test at each call: its preparation never stops half-way."""
        mailing = self._mailing_of_shared_numbers()
        mailing.sudo().write({"ab_testing_enabled": True, "ab_testing_pc": 50})
        with patch.object(mailing_mailing_prepare, "PREPARE_CHUNK_SIZE", 2), \
                patch.object(mailing_mailing_prepare, "preparation_deadline", lambda: 0.0):
            self.env["mailing.mailing"].sudo()._process_mass_mailing_queue()
        self.assertEqual(len(mailing.mailing_trace_ids), 4, "half of the nine students, in one run")
