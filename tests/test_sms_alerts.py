"""Date-relative alert rules: they fire at the right time, follow the date, cancel with the record, never twice."""

from datetime import date, datetime

from freezegun import freeze_time

from odoo import Command, api
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import AfricasTalkingCase

# The exam starts on 2030-03-10 at 10:00 in Nairobi (UTC+3); "2 days before at 08:00" is 2030-03-08 05:00 UTC.
EXAM_START = datetime(2030, 3, 10, 7, 0)
DUE = datetime(2030, 3, 8, 5, 0)


class SmsAlertCommon(AfricasTalkingCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Demo rules and their alerts would fire under the frozen clock: keep the tests to their own rules.
        cls.env["sms.alert.rule"].search([]).state = "paused"
        cls.env["sms.alert"].search([]).unlink()
        cls.template = cls.env["sms.template"].create({
            "name": "Exam reminder", "model_id": cls.env["ir.model"]._get_id("sms.event"),
            "body": "Reminder: {{ object.name }} in {{ object.location }}",
        })

    def create_exam(self, **values):
        return self.env["sms.event"].create({
            "name": "MAT 101", "event_type": "exam", "date_begin": EXAM_START, "location": "Hall A",
            "partner_ids": [Command.set(self.partners[:2].ids)], **values,
        })

    def create_rule(self, **values):
        # Rules search and render any model's records as superuser: only administrators write them.
        return self.env["sms.alert.rule"].with_user(self.env.ref("base.user_admin")).create({
            "name": "Exam reminder",
            "model_id": self.env["ir.model"]._get_id("sms.event"),
            "date_field_id": self.env["ir.model.fields"]._get("sms.event", "date_begin").id,
            "offset_value": 2, "offset_unit": "days", "direction": "before",
            "use_time_of_day": True, "time_of_day": 8.0, "tz": "Africa/Nairobi",
            "template_id": self.template.id, "audience": "partners",
            "cancel_domain": "[('state', '=', 'cancel')]",
            **values,
        }).sudo()

    def run_alert_cron(self, at):
        with freeze_time(at):
            self.env["sms.alert.rule"]._cron_process_alerts()
        self.run_sms_queue()

    def alerts(self, rule, state=None):
        domain = [("rule_id", "=", rule.id)] + ([("state", "=", state)] if state else [])
        return self.env["sms.alert"].search(domain)


@tagged("post_install", "-at_install")
class TestSmsAlertRules(SmsAlertCommon):

    def test_schedule_computation(self):
        rule = self.create_rule()
        self.assertEqual(rule._compute_scheduled_at(EXAM_START), DUE)
        rule.write({"use_time_of_day": False, "offset_value": 3, "offset_unit": "hours"})
        self.assertEqual(rule._compute_scheduled_at(EXAM_START), datetime(2030, 3, 10, 4, 0))
        rule.write({"direction": "after", "offset_value": 1, "offset_unit": "weeks", "use_time_of_day": True,
                    "time_of_day": 17.5})
        self.assertEqual(rule._compute_scheduled_at(EXAM_START), datetime(2030, 3, 17, 14, 30))
        # A date field (no time): the time of day always applies, in the rule's time zone.
        partner_rule = self.env["sms.alert.rule"].create({
            "name": "Birthday", "model_id": self.env["ir.model"]._get_id("res.partner"),
            "date_field_id": self.env["ir.model.fields"]._get("res.partner", "date").id,
            "offset_value": 2, "offset_unit": "days", "direction": "before", "time_of_day": 8.0,
            "tz": "Africa/Nairobi", "state": "paused",
            "template_id": self.env["sms.template"].create({
                "name": "Partner", "model_id": self.env["ir.model"]._get_id("res.partner"), "body": "Hi"}).id,
        })
        self.assertEqual(partner_rule._compute_scheduled_at(date(2030, 3, 10)), DUE)

    def test_fires_at_the_right_time_once(self):
        with freeze_time("2030-03-01 09:00:00"):
            exam = self.create_exam()
            rule = self.create_rule()
        alerts = self.alerts(rule)
        self.assertEqual(len(alerts), 2, "one alert per record and recipient, created when the rule is saved")
        self.assertEqual(set(alerts.mapped("scheduled_at")), {DUE})
        self.assertEqual(set(alerts.mapped("state")), {"pending"})

        self.run_alert_cron(datetime(2030, 3, 8, 4, 59))
        self.assertNothingSent()
        self.assertEqual(set(alerts.mapped("state")), {"pending"})

        self.run_alert_cron(datetime(2030, 3, 8, 5, 0))
        for partner in self.partners[:2]:
            self.assertSentOnce(partner.mobile, "Reminder: MAT 101 in Hall A")
        self.assertEqual(set(alerts.mapped("state")), {"sent"})
        self.assertTrue(all(alerts.mapped("sms_uuid")))

        # The contact's "Sent SMS" history and the exam's chatter show it.
        messages = self.env["africastalking.message"].search([("sms_uuid", "in", alerts.mapped("sms_uuid"))])
        self.assertEqual(messages.partner_id, self.partners[:2])
        self.assertEqual(set(messages.mapped("state")), {"pending"})
        self.assertEqual(set(alerts.mapped("delivery_state")), {"pending"})
        note = exam.message_ids.filtered(lambda m: m.message_type == "sms")
        self.assertEqual(len(note), 1)
        self.assertIn("Reminder: MAT 101 in Hall A", note.body)
        self.assertIn(self.partners[0].name, note.body)

        # Further runs, late or repeated, never send again.
        self.run_alert_cron(datetime(2030, 3, 8, 5, 5))
        self.run_alert_cron(datetime(2030, 3, 8, 9, 0))
        self.assertEqual(self.simulator.stats()["accepted"], 2)
        self.assertEqual(len(self.alerts(rule)), 2)

    def test_date_moves_and_alert_follows(self):
        with freeze_time("2030-03-01 09:00:00"):
            exam = self.create_exam()
            rule = self.create_rule()
            exam.date_begin = datetime(2030, 3, 12, 7, 0)  # postponed by two days
        self.run_alert_cron(datetime(2030, 3, 8, 5, 0))
        self.assertNothingSent()
        self.assertEqual(set(self.alerts(rule).mapped("scheduled_at")), {datetime(2030, 3, 10, 5, 0)})
        self.run_alert_cron(datetime(2030, 3, 10, 5, 1))
        self.assertSentOnce(self.partners[0].mobile, "Reminder: MAT 101 in Hall A")

        # Brought forward after the alert went out: each record and recipient is alerted once.
        exam.date_begin = datetime(2030, 3, 11, 7, 0)
        self.run_alert_cron(datetime(2030, 3, 10, 6, 0))
        self.assertEqual(self.simulator.count(self.partners[0].mobile), 1)

    def test_send_time_rereads_the_date(self):
        """A date moved between the last sync and the send is seen: the claimed alert waits instead."""
        with freeze_time("2030-03-01 09:00:00"):
            exam = self.create_exam()
            rule = self.create_rule()
        exam.date_begin = datetime(2030, 3, 20, 7, 0)
        with freeze_time(DUE):
            sent = self.env["sms.alert"]._send_due(rule_ids=rule.ids)  # no sync first
        self.assertFalse(sent)
        self.assertEqual(set(self.alerts(rule).mapped("scheduled_at")), {datetime(2030, 3, 18, 5, 0)})
        self.assertEqual(set(self.alerts(rule).mapped("state")), {"pending"})

    def test_cancel_delete_and_recipient_removal(self):
        with freeze_time("2030-03-01 09:00:00"):
            exam, other = self.create_exam(), self.create_exam(name="CS 102")
            rule = self.create_rule()
        self.assertEqual(len(self.alerts(rule, "pending")), 4)
        exam.action_cancel()
        other.partner_ids = [Command.unlink(self.partners[1].id)]
        self.run_alert_cron(datetime(2030, 3, 2, 9, 0))
        cancelled = self.alerts(rule, "cancelled")
        self.assertEqual(len(cancelled), 3)
        self.assertIn("cancelled", cancelled.filtered(lambda a: a.res_id == exam.id)[0].failure_reason)

        # Re-confirmed: its alerts are pending again; deleted: cancelled for good.
        exam.action_confirm()
        self.run_alert_cron(datetime(2030, 3, 2, 9, 5))
        self.assertEqual(len(self.alerts(rule, "pending")), 3)
        other.unlink()
        self.run_alert_cron(datetime(2030, 3, 2, 9, 10))
        self.assertEqual(self.alerts(rule, "pending").mapped("res_id"), [exam.id, exam.id])

        # An alert cancelled by hand stays cancelled whatever the record does.
        by_hand = self.alerts(rule, "pending").filtered(lambda a: a.partner_id == self.partners[1])
        by_hand.with_user(self.user_marketing).action_cancel()
        exam.date_begin = datetime(2030, 3, 11, 7, 0)
        self.run_alert_cron(datetime(2030, 3, 2, 9, 15))
        self.assertEqual(by_hand.state, "cancelled")
        self.run_alert_cron(datetime(2030, 3, 9, 5, 0))
        self.assertSentOnce(self.partners[0].mobile, "Reminder: MAT 101 in Hall A")
        self.assertEqual(self.simulator.stats()["accepted"], 1)
        self.assertEqual(self.simulator.count(self.partners[0].mobile, "Reminder: CS 102 in Hall A"), 0)

    def test_paused_rule_and_expiry(self):
        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam()
            rule = self.create_rule(max_delay_hours=2)
            rule.action_pause()
        self.run_alert_cron(DUE)
        self.assertNothingSent()
        # Resumed within the allowed delay: sent; a rule resumed too late cancels instead of sending stale news.
        with freeze_time(datetime(2030, 3, 8, 6, 0)):
            rule.action_resume()
        self.run_alert_cron(datetime(2030, 3, 8, 6, 0))
        self.assertEqual(self.simulator.stats()["accepted"], 2)

        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam(name="Late exam", partner_ids=[Command.set(self.partners[2].ids)])
        self.run_alert_cron(datetime(2030, 3, 2, 9, 0))
        with freeze_time(datetime(2030, 3, 2, 9, 0)):
            rule.action_pause()
        self.run_alert_cron(datetime(2030, 3, 8, 8, 0))
        with freeze_time(datetime(2030, 3, 8, 8, 0)):
            rule.action_resume()
        self.run_alert_cron(datetime(2030, 3, 8, 8, 0))
        self.assertEqual(self.simulator.count(self.partners[2].mobile), 0)
        late = self.alerts(rule).filtered(lambda a: a.partner_id == self.partners[2])
        self.assertEqual((late.state, late.failure_reason), ("cancelled", "Expired: its time passed."))

    def test_mailing_list_audience_blacklist_and_opt_out(self):
        contacts = self.mailing_list.contact_ids.sorted("id")
        self.mailing_list.subscription_ids.filtered(lambda s: s.contact_id == contacts[3]).opt_out = True
        self.env["phone.blacklist"].sudo()._add([contacts[2].phone_sanitized or contacts[2].mobile])
        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam(partner_ids=False)
            rule = self.create_rule(audience="mailing_lists", mailing_list_ids=[Command.set(self.mailing_list.ids)])
        self.assertEqual(self.alerts(rule).mailing_contact_id, contacts[:3], "opted-out contacts get no alert")
        self.run_alert_cron(DUE)
        self.assertSentOnce(contacts[0].mobile, "Reminder: MAT 101 in Hall A")
        self.assertSentOnce(contacts[1].mobile, "Reminder: MAT 101 in Hall A")
        self.assertEqual(self.simulator.count(contacts[2].mobile), 0)
        refused = self.alerts(rule).filtered(lambda a: a.mailing_contact_id == contacts[2])
        self.assertEqual((refused.state, refused.failure_reason), ("failed", "The number is blacklisted."))

    def test_mailing_list_audience_follows_the_mailings_opt_out_rule(self):
        """One list opt-out rule for alerts and mailings (stock's): opted out of one of the lists but still
        subscribed to another is alerted, as a mailing to these lists sends to them; opted out of all is not."""
        contacts = self.mailing_list.contact_ids.sorted("id")
        parents = self.env["mailing.list"].create({"name": "All parents",
                                                   "contact_ids": [Command.set(contacts[:2].ids)]})
        self.mailing_list.subscription_ids.filtered(lambda s: s.contact_id in contacts[:2]).opt_out = True
        parents.subscription_ids.filtered(lambda s: s.contact_id == contacts[1]).opt_out = True
        lists = self.mailing_list | parents
        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam(partner_ids=False)
            rule = self.create_rule(audience="mailing_lists", mailing_list_ids=[Command.set(lists.ids)])
        self.assertEqual(self.alerts(rule).mailing_contact_id, contacts - contacts[1])
        mailing = self.env["mailing.mailing"].create({
            "subject": "Same lists", "mailing_type": "sms", "body_plaintext": "Hello",
            "mailing_model_id": self.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.set(lists.ids)]})
        estimate = mailing._get_sms_cost_estimate()
        self.assertEqual(estimate["excluded"].get("optout"), 1, "the mailing excludes the same contact")

    def test_guardians_audience_alerts_the_reachable_guardians(self):
        parent, unreachable = self.env["res.partner"].create([
            {"name": "Parent of Partner 0", "mobile": "+254744000001"},
            {"name": "Parent without a phone"},
        ])
        self.partners[0].guardian_ids = parent | unreachable
        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam()
            rule = self.create_rule(audience="guardians")
        self.assertEqual(self.alerts(rule).partner_id, parent, "only guardians with a valid mobile")
        self.run_alert_cron(DUE)
        self.assertSentOnce(parent.mobile, "Reminder: MAT 101 in Hall A")
        self.assertEqual(self.simulator.count(self.partners[0].mobile), 0, "the student is not the audience")

    def test_cron_is_triggered_for_the_next_due_alert(self):
        cron = self.env.ref("sms_africastalking.ir_cron_sms_alert")
        cron.nextcall = datetime(2030, 3, 9, 0, 0)
        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam()
            self.create_rule()
        trigger = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)], order="id desc", limit=1)
        self.assertEqual(trigger.call_at, DUE)


@tagged("post_install", "-at_install")
class TestSmsAlertAccess(SmsAlertCommon):
    """Marketing users read rules and alerts and pause, resume or cancel them; only administrators edit rules."""

    @mute_logger("odoo.models", "odoo.addons.base.models.ir_model")
    def test_marketing_user_cannot_create_or_write_rules(self):
        rule = self.create_rule()
        Rule = self.env["sms.alert.rule"].with_user(self.user_marketing)
        with self.assertRaises(AccessError):
            Rule.create({"name": "Partners' data", "model_id": self.env["ir.model"]._get_id("sms.event"),
                         "date_field_id": self.env["ir.model.fields"]._get("sms.event", "date_begin").id,
                         "template_id": self.template.id})
        with self.assertRaises(AccessError):
            rule.with_user(self.user_marketing).write({"filter_domain": "[]", "name": "Changed"})
        with self.assertRaises(AccessError):
            rule.with_user(self.user_marketing).unlink()
        self.assertEqual(rule.with_user(self.user_marketing).name, "Exam reminder", "marketing users read rules")

    @mute_logger("odoo.models", "odoo.addons.base.models.ir_model")
    def test_marketing_user_cannot_write_alerts(self):
        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam()
            rule = self.create_rule()
        alert = self.alerts(rule)[0].with_user(self.user_marketing)
        number = alert.number
        for values in ({"state": "pending", "scheduled_at": DUE}, {"body": "Other text"},
                       {"number": "+254700000999"}):
            with self.assertRaises(AccessError):
                alert.write(values)
        self.assertEqual((alert.number, alert.state), (number, "pending"))

    def test_marketing_user_pauses_resumes_and_cancels_through_actions(self):
        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam()
            rule = self.create_rule()
            rule.with_user(self.user_marketing).action_pause()
            self.assertEqual(rule.state, "paused")
            rule.with_user(self.user_marketing).action_resume()
            self.assertEqual(rule.state, "running")
        alert = self.alerts(rule, "pending")[0]
        alert.with_user(self.user_marketing).action_cancel()
        self.assertEqual((alert.state, alert.cancelled_by_user), ("cancelled", True))
        self.assertIn(self.user_marketing.name, alert.failure_reason)

    @mute_logger("odoo.models", "odoo.addons.base.models.ir_model")
    def test_internal_user_without_sms_marketing_cannot_pause_or_cancel(self):
        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam()
            rule = self.create_rule()
        employee = self.env["res.users"].create({
            "name": "Employee", "login": "employee_alerts",
            "groups_id": [Command.set([self.env.ref("base.group_user").id])]})
        with self.assertRaises(AccessError):
            rule.with_user(employee).action_pause()
        with self.assertRaises(AccessError):
            self.alerts(rule)[0].with_user(employee).action_cancel()
        self.assertEqual(rule.state, "running")


@tagged("post_install", "-at_install")
class TestSmsAlertConcurrency(SmsAlertCommon):
    """Two workers at once: real concurrent transactions on committed data (cleaned up afterwards)."""

    def test_overlapping_crons_send_once(self):
        registry = self.env.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            partners = env["res.partner"].create([{"name": "Overlap %s" % i, "mobile": "+25479900000%s" % i}
                                                  for i in range(2)])
            template = env["sms.template"].create({
                "name": "Overlap", "model_id": env["ir.model"]._get_id("sms.event"),
                "body": "Overlap {{ object.name }}",
            })
            with freeze_time("2030-03-01 09:00:00"):
                exam = env["sms.event"].create({"name": "Overlap exam", "date_begin": EXAM_START,
                                                "partner_ids": [Command.set(partners.ids)]})
                rule = env["sms.alert.rule"].create({
                    "name": "Overlap", "model_id": env["ir.model"]._get_id("sms.event"),
                    "date_field_id": env["ir.model.fields"]._get("sms.event", "date_begin").id,
                    "offset_value": 2, "offset_unit": "days", "time_of_day": 8.0, "tz": "Africa/Nairobi",
                    "template_id": template.id,
                })
            ids = {"partners": partners.ids, "template": template.id, "exam": exam.id, "rule": rule.id}
        self.addCleanup(self._cleanup_committed, ids)

        with registry.cursor() as cr1, registry.cursor() as cr2, freeze_time(DUE):
            cr1.execute("SET lock_timeout = '5s'")
            cr2.execute("SET lock_timeout = '5s'")
            env1 = api.Environment(cr1, api.SUPERUSER_ID, {})
            env2 = api.Environment(cr2, api.SUPERUSER_ID, {})
            rule1, rule2 = env1["sms.alert.rule"].browse(ids["rule"]), env2["sms.alert.rule"].browse(ids["rule"])
            self.assertTrue(rule1._lock())
            self.assertEqual(len(env1["sms.alert"]._claim_due(DUE, rule_ids=[ids["rule"]])), 2)
            # The second worker neither gets the rule nor the claimed rows while the first one works.
            self.assertFalse(rule2._lock())
            self.assertFalse(env2["sms.alert"]._claim_due(DUE, rule_ids=[ids["rule"]]))
            rule2._process(commit=False)
            self.assertFalse(env2["sms.sms"].search([("partner_id", "in", ids["partners"])]))
            cr2.rollback()

            sent = env1["sms.alert"]._send_due(DUE, rule_ids=[ids["rule"]])
            self.assertEqual(len(sent), 2)
            cr1.commit()

            # After the first worker committed, the second one finds nothing left to send.
            rule2._process(commit=False)
            env2.invalidate_all()
            self.assertEqual(env2["sms.sms"].search_count([("partner_id", "in", ids["partners"])]), 2)
            self.assertEqual(set(env2["sms.alert"].search([("rule_id", "=", ids["rule"])]).mapped("state")),
                             {"sent"})
            cr2.rollback()

    def _cleanup_committed(self, ids):
        with self.env.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["sms.sms"].search([("partner_id", "in", ids["partners"])]).unlink()
            env["sms.alert.rule"].browse(ids["rule"]).unlink()
            env["sms.event"].browse(ids["exam"]).unlink()
            env["sms.template"].browse(ids["template"]).unlink()
            env["mail.message"].search([("author_id", "in", ids["partners"])]).unlink()
            env["res.partner"].browse(ids["partners"]).unlink()
