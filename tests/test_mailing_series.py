"""Recurring mailings: each run is a copy of the template mailing with its own statistics; a paused series skips
its runs and does not catch them up; times are in the company's time zone."""

from datetime import datetime

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestMailingSeries(AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.partner_id.tz = "Africa/Nairobi"  # UTC+3: 08:00 there is 05:00 UTC

    def _cron(self, at):
        with freeze_time(at):
            self.env["sms.mailing.series"]._cron_run_due()

    def _send_runs(self, series):
        for mailing in series.run_ids.filtered(lambda m: m.state == "in_queue"):
            mailing.sudo().action_send_sms()
        self.run_sms_queue()
        self.deliver_reports()

    def test_daily_series_over_three_days_with_a_paused_one(self):
        template = self.create_sms_mailing(subject="Fees reminder", body="Fees are due on Friday.")
        with freeze_time("2026-12-07 04:00:00"):
            series = self.env["sms.mailing.series"].with_user(self.user_marketing).create({
                "name": "Fees reminder", "mailing_id": template.id, "frequency": "daily", "run_time": 8.0})
        self.assertEqual(series.next_run_date, datetime(2026, 12, 7, 5, 0))

        self._cron("2026-12-07 04:59:00")
        self.assertFalse(series.run_ids, "not due yet")
        self._cron("2026-12-07 05:02:00")  # day 1
        self.assertEqual(len(series.run_ids), 1)
        self.assertEqual(series.next_run_date, datetime(2026, 12, 8, 5, 0))
        self._send_runs(series)

        # Day 2: paused before its run, resumed after it: the run is skipped, not caught up.
        with freeze_time("2026-12-08 04:00:00"):
            series.with_user(self.user_marketing).action_pause()
        self._cron("2026-12-08 05:02:00")
        with freeze_time("2026-12-08 06:00:00"):
            series.with_user(self.user_marketing).action_resume()
        self.assertEqual(series.next_run_date, datetime(2026, 12, 9, 5, 0))
        self._cron("2026-12-08 06:05:00")
        self.assertEqual(len(series.run_ids), 1, "the paused day is not caught up")

        self._cron("2026-12-09 05:03:00")  # day 3
        self.assertEqual(len(series.run_ids), 2)
        self._send_runs(series)

        runs = series.run_ids.sorted("id")
        self.assertEqual(runs.mapped("subject"), ["Fees reminder (2026-12-07)", "Fees reminder (2026-12-09)"])
        self.assertEqual(series.run_count, 2)
        for run in runs:
            self.assertNotEqual(run, template)
            self.assertEqual((run.sms_series_id, run.state), (series, "done"))
            self.assertEqual(len(run.mailing_trace_ids), 4, "each run has its own traces and statistics")
            self.assertEqual(run.delivered, 4)
        self.assertFalse(template.mailing_trace_ids, "the template itself is never sent")
        self.assertEqual(self.simulator.stats()["accepted"], 8)

    def test_weekly_and_term_dates_in_company_time(self):
        template = self.create_sms_mailing()
        with freeze_time("2026-12-01 10:00:00"):  # a Tuesday, 13:00 in Nairobi
            weekly = self.env["sms.mailing.series"].create({
                "name": "Weekly", "mailing_id": template.id, "frequency": "weekly", "run_time": 17.5,
                "mon": False, "thu": True})
            terms = self.env["sms.mailing.series"].create({
                "name": "Term opening", "mailing_id": template.id, "frequency": "dates", "run_time": 7.0,
                "date_ids": [(0, 0, {"date": "2027-01-11"}), (0, 0, {"date": "2026-12-01"})]})
        self.assertEqual(weekly.next_run_date, datetime(2026, 12, 3, 14, 30))  # Thursday 17:30 Nairobi
        self.assertEqual(terms.next_run_date, datetime(2027, 1, 11, 4, 0), "07:00 today has passed")
        self._cron("2027-01-11 04:01:00")
        self.assertEqual((len(terms.run_ids), terms.state), (1, "done"))

    def test_a_broadcast_repeats(self):
        """A broadcast is a mailing: Make Recurring on it opens a series repeating it."""
        from odoo import Command
        broadcast = self.env["sms.broadcast"].with_user(self.user_marketing).create({
            "name": "Library hours", "mailing_list_ids": [Command.set(self.mailing_list.ids)],
            "body": "The library opens at 7:00 this week."})
        mailing = self.env["mailing.mailing"].browse(broadcast._action_send()["res_id"])
        action = mailing.with_user(self.user_marketing).action_sms_make_recurring()
        self.assertEqual((action["res_model"], action["context"]["default_mailing_id"]),
                         ("sms.mailing.series", mailing.id))
        with freeze_time("2026-12-07 04:00:00"):
            series = self.env["sms.mailing.series"].with_user(self.user_marketing).with_context(
                **action["context"]).create({"frequency": "weekly", "run_time": 8.0})
        self.assertEqual((series.name, series.mailing_id), ("Library hours", mailing))
        self.assertEqual(series.next_run_date, datetime(2026, 12, 7, 5, 0), "Monday 08:00 in Nairobi")
        self._cron("2026-12-07 05:01:00")
        self._cron("2026-12-07 05:02:00")
        self.assertEqual(len(series.run_ids), 1, "one run per date, however often the cron runs")

    def test_bad_rules_refused(self):
        template = self.create_sms_mailing()
        with self.assertRaises(ValidationError):
            self.env["sms.mailing.series"].create({"name": "x", "mailing_id": template.id, "frequency": "weekly",
                                                   "mon": False})
        with self.assertRaises(ValidationError):
            self.env["sms.mailing.series"].create({"name": "x", "mailing_id": template.id, "frequency": "dates"})

    def test_a_run_that_cannot_leave_is_logged_and_skipped(self):
        template = self.create_sms_mailing()
        with freeze_time("2026-12-07 04:00:00"):
            series = self.env["sms.mailing.series"].create({
                "name": "Fees", "mailing_id": template.id, "frequency": "daily", "run_time": 8.0})
        self.simulator.set_balance(0)
        self._cron("2026-12-07 05:01:00")
        self.assertFalse(series.run_ids)
        self.assertIn("skipped", series.message_ids[0].body)
        self.assertEqual(series.next_run_date, datetime(2026, 12, 8, 5, 0))

    def test_other_company_cannot_see_the_series(self):
        from odoo import Command
        template = self.create_sms_mailing()
        series = self.env["sms.mailing.series"].create({"name": "Fees", "mailing_id": template.id,
                                                        "frequency": "daily"})
        other = self.env["res.company"].create({"name": "Other school"})
        user = self.env["res.users"].create({
            "name": "Other Olive", "login": "other_olive_series", "company_id": other.id,
            "company_ids": [Command.set(other.ids)],
            "groups_id": [Command.set([self.env.ref("base.group_user").id,
                                       self.env.ref("mass_mailing.group_mass_mailing_user").id])]})
        self.assertFalse(self.env["sms.mailing.series"].with_user(user).search([("id", "=", series.id)]))
