"""Report monitoring: sent SMS without any delivery report for longer than the threshold give administrators ONE
activity per silence episode, which says what to check; the next report ends the episode."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestReportMonitoring(AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write({"sms_report_silence_minutes": 30, "sms_report_silence_min_messages": 3})

    def _send(self, count, prefix="+25471100060"):
        self.env["sms.sms"].sudo().create([{"number": "%s%s" % (prefix, index), "body": "Fees due"}
                                           for index in range(count)])
        self.run_sms_queue()
        self.env.flush_all()

    def _activities(self):
        return self.env["mail.activity"].search([("res_model", "=", "africastalking.account"),
                                                 ("res_id", "=", self.account.id)])

    def _check(self, at):
        with freeze_time(at):
            self.env["africastalking.account"]._cron_check_report_silence()
        self.account.invalidate_recordset()

    def test_one_activity_per_silence_episode(self):
        self._send(3)
        now = fields.Datetime.now()
        self._check(now + timedelta(minutes=10))
        self.assertFalse(self._activities(), "not silent long enough")
        self._check(now + timedelta(minutes=31))
        activity = self._activities()
        self.assertEqual(len(activity), 1)
        self.assertIn("Callback URLs", activity.note)
        self.assertIn("web.base.url", activity.note)
        self.assertTrue(activity.user_id.has_group("base.group_system"))
        self.assertTrue(self.account.report_silence_since)
        # The cron runs every 10 minutes: still one activity.
        self._check(now + timedelta(minutes=41))
        self._check(now + timedelta(hours=3))
        self.assertEqual(len(self._activities()), 1)
        # Reports arrive again: the episode ends and the account shows when the last report came.
        self.deliver_reports()
        self.account.invalidate_recordset()
        self.assertFalse(self.account.report_silence_since)
        self.assertTrue(self.account.last_report_date)
        # A new silence later is a new episode (these SMS leave an hour after the last report).
        self._send(3, prefix="+25471100070")
        self.env.cr.execute("UPDATE africastalking_message SET send_date = %s WHERE number LIKE '+25471100070%%'",
                            (fields.Datetime.now() + timedelta(hours=1),))
        self._check(fields.Datetime.now() + timedelta(hours=2))
        self.assertEqual(len(self._activities()), 2)

    def test_fewer_than_the_minimum_is_not_an_outage(self):
        self._send(2)
        self._check(fields.Datetime.now() + timedelta(hours=1))
        self.assertFalse(self._activities())

    def test_intermediate_reports_are_reports(self):
        """AT's intermediate "Sent" report shows the callback works: a phone that stays off is no outage."""
        self._send(3)
        self.simulator.deliver_pending(final=False)
        self.apply_queued_reports()
        self.account.invalidate_recordset()
        self.assertTrue(self.account.last_report_date)
        self._check(fields.Datetime.now() + timedelta(minutes=31))
        self.assertFalse(self._activities())

    def test_a_report_after_the_silent_sends_is_no_silence(self):
        """Some SMS got no report, but reports (of others) came after they left: callbacks work."""
        self._send(3)
        self.env.cr.execute("UPDATE africastalking_account SET last_report_date = %s WHERE id = %s",
                            (fields.Datetime.now() + timedelta(minutes=20), self.account.id))
        self.account.invalidate_recordset()
        self._check(fields.Datetime.now() + timedelta(minutes=31))
        self._check(fields.Datetime.now() + timedelta(minutes=45))
        self.assertFalse(self._activities())
        self._check(fields.Datetime.now() + timedelta(minutes=51))
        self.assertFalse(self._activities(), "the report came after these SMS left")

    def test_settings_refuse_nonsense(self):
        from odoo.exceptions import ValidationError
        with self.assertRaises(ValidationError):
            self.env.company.sms_report_silence_minutes = 0
        with self.assertRaises(ValidationError):
            self.env.company.sms_dead_number_threshold = -1
