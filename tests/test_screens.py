"""The screens a person waits on (issue #21) keep their numbers when they are computed set-based: the mass
composer's recipient and guardian counts, a contact's Sent SMS tab, a mailing's click ratio, an alert rule's
first sync."""

from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged

from ..models import mailing_mailing_estimate
from ..wizard.sms_composer import parse_res_ids
from .common import AfricasTalkingCase
from .test_sms_alerts import SmsAlertCommon


@tagged("post_install", "-at_install")
class TestScreens(AfricasTalkingCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ke = cls.env.ref("base.ke").id
        Partner = cls.env["res.partner"]
        cls.people = Partner.create([
            {"name": "Valid mobile", "mobile": "+254712345001", "country_id": ke},
            {"name": "Phone only", "phone": "0712 345 002", "country_id": ke},
            {"name": "Bad mobile, good phone", "mobile": "12", "phone": "+254712345003", "country_id": ke},
            {"name": "Invalid", "mobile": "12", "country_id": ke},
            {"name": "No number", "country_id": ke},
            {"name": "Archived", "mobile": "+254712345006", "country_id": ke, "active": False},
        ])

    def _mass_composer(self, records, user=None):
        return self.env["sms.composer"].with_user(user or self.env.user).with_context(
            active_model=records._name, active_ids=records.ids, default_composition_mode="mass",
        ).create({"body": "Dear {{ object.name }}, exams start on Monday."})

    def test_parse_res_ids(self):
        self.assertEqual(parse_res_ids("[3, 1, 2]"), (3, 1, 2))
        self.assertEqual(parse_res_ids("(4, 5)"), (4, 5), "anything else is left to literal_eval, as stock")
        self.assertEqual(parse_res_ids("[]"), ())

    def test_mass_composer_counts_are_stocks(self):
        """Valid / invalid recipients counted from the stored sanitized numbers, as stock counts them record by
        record (its phone fields in order, its partner fallback for the others)."""
        info = self.people._sms_get_recipients_info(partner_fallback=True)
        stock_valid = sum(1 for value in info.values() if value["sanitized"])
        self.assertEqual(stock_valid, 4)
        for user in (self.env.user, self.user_marketing):
            composer = self._mass_composer(self.people, user)
            self.assertEqual((composer.recipient_valid_count, composer.recipient_invalid_count),
                             (stock_valid, len(self.people) - stock_valid), user.name)
            self.assertEqual(composer.res_ids_count, len(self.people))

    def test_mass_composer_counts_do_not_grow_with_the_records(self):
        """The counts and the estimate read the selection set-based: the same queries for 5 records as for 60."""
        ke = self.env.ref("base.ke").id
        many = self.env["res.partner"].create([{"name": "Student %s" % index, "mobile": "+2547130%05d" % index,
                                                "country_id": ke} for index in range(60)])
        queries = []
        for records in (many[:2], many[:5], many):  # the first one fills the caches (rules, rates)
            composer = self._mass_composer(records)
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            composer.read(["recipient_valid_count", "recipient_invalid_count", "sms_guardian_count",
                           "sms_guardian_valid_count", "sms_estimate_note"])
            queries.append(self.env.cr.sql_log_count - before)
            self.assertEqual(composer.recipient_valid_count, len(records))
        self.assertEqual(queries[1], queries[2])

    def test_mass_composer_estimate_sampled_with_label_then_exact_on_send(self):
        """Above the exact limit the composer's estimate renders and prices a spread sample and says so (as the
        mailing form); its Send checks the exact estimate of everyone."""
        ke = self.env.ref("base.ke").id
        many = self.env["res.partner"].create([{"name": "Student %s" % index, "mobile": "+2547140%05d" % index,
                                                "country_id": ke} for index in range(12)])
        rendered = []
        original = mailing_mailing_estimate.MailingMailing._sms_estimate_texts

        def counting(mailing, res_model, res_ids, body, allow_unsubscribe):
            rendered.append(len(res_ids))
            return original(mailing, res_model, res_ids, body, allow_unsubscribe)

        with patch.object(mailing_mailing_estimate, "ESTIMATE_EXACT_LIMIT", 5), \
                patch.object(mailing_mailing_estimate.MailingMailing, "_sms_estimate_texts", counting):
            composer = self._mass_composer(many)
            self.assertIn("12 recipients, 12 segments", composer.sms_estimate_note)
            self.assertIn("Estimated from a sample of 5 of 12 recipients; Send counts them all.",
                          composer.sms_estimate_note)
            self.assertEqual(composer.sms_estimate_cost_display, "about KES 9.60")
            self.assertEqual(sum(rendered), 5, "5 of 12 recipients rendered")
            rendered.clear()
            self.assertFalse(composer._get_sms_cost_estimate()["approximate"], "Send estimates on everyone")
            self.assertEqual(sum(rendered), 12)
            few = self._mass_composer(many[:5])
            self.assertNotIn("sample", few.sms_estimate_note)
            self.assertEqual(few.sms_estimate_cost_display, "KES 4.00", "exact up to the limit")

    def test_estimate_numbers_follow_record_rules(self):
        """The estimate's raw reads of numbers return only what the ORM lets the user read (multi-company rule)."""
        other = self.env["res.company"].create({"name": "Other campus"})
        hidden = self.env["res.partner"].create({"name": "Hidden", "mobile": "+254712345099", "company_id": other.id})
        ids = (self.people[0] | hidden).ids
        mailings = self.env["mailing.mailing"]
        for user, expected in ((self.user_marketing, {self.people[0].id}), (self.env.user, set(ids))):
            numbers, _blacklisted = mailings.with_user(user)._sms_estimate_numbers_blacklisted("res.partner", ids)
            self.assertEqual(set(numbers), expected, user.name)
        self.assertEqual(set(mailings.with_user(self.user_marketing)._sms_estimate_numbers("res.partner", ids)),
                         {self.people[0].id})

    def test_sent_sms_tab_lists_the_readable_messages_newest_first(self):
        parent = self.people[0]
        other_company = self.env["res.company"].create({"name": "Other school"})
        Message = self.env["africastalking.message"]
        own = Message.create([{"number": parent.mobile, "state": "delivered", "partner_id": parent.id,
                               "company_id": self.env.company.id} for _index in range(3)])
        hidden = Message.create({"number": parent.mobile, "state": "delivered", "partner_id": parent.id,
                                 "company_id": other_company.id})
        Message.create({"number": "+254712345999", "state": "delivered", "partner_id": self.people[1].id})
        self.env.invalidate_all()
        tab = parent.with_user(self.user_marketing).africastalking_message_ids
        self.assertEqual(tab.ids, sorted(own.ids, reverse=True), "another company's message is not listed")
        self.assertNotIn(hidden.id, tab.ids)
        self.env.invalidate_all()
        self.assertEqual(set(parent.africastalking_message_ids.ids), set((own | hidden).ids))
        self.env.invalidate_all()
        form = parent.with_user(self.user_marketing).web_read(
            {"africastalking_message_ids": {"fields": {"number": {}}, "limit": 2}, "africastalking_message_count": {}})
        self.assertEqual(form[0]["africastalking_message_ids"][:2], [{"id": own[2].id, "number": parent.mobile},
                                                                    {"id": own[1].id, "number": parent.mobile}])
        self.assertEqual(form[0]["africastalking_message_count"], 3)

    def test_click_ratio_and_actuals(self):
        """Stock's click ratio (traces with a click among those not cancelled: a trace clicked twice counts once, a
        cancelled one not at all) and the SMS actuals, from one scan of the traces."""
        mailing = self.create_sms_mailing()
        traces = self.env["mailing.trace"].create([
            {"trace_type": "sms", "mass_mailing_id": mailing.id, "model": "res.partner", "res_id": partner.id,
             "trace_status": status, "failure_type": failure, "at_cost": cost, "at_parts": parts,
             "at_currency": "KES" if cost else False}
            for partner, status, failure, cost, parts in zip(self.people[:5], [
                "sent", "sent", "sent", "cancel", "cancel"], [False, False, False, "sms_optout", "sms_blacklist"],
                [0.8, 1.6, 0.8, 0.0, 0.0], [1, 2, 1, 0, 0], strict=True)])
        link = self.env["link.tracker"].create({"url": "https://school.example.com/timetable"})
        self.env["link.tracker.click"].create([
            {"link_id": link.id, "mailing_trace_id": trace.id, "mass_mailing_id": mailing.id}
            for trace in (traces[0], traces[0], traces[1], traces[3])])
        other = self.create_sms_mailing()
        self.env.invalidate_all()
        self.assertEqual((mailing | other).mapped("clicks_ratio"), [66.67, 0.0])
        self.assertEqual([mailing.sms_actual_segments, mailing.sms_actual_currency, mailing.sms_opted_out],
                         [4, "KES", 2])
        self.assertAlmostEqual(mailing.sms_actual_cost, 3.2)
        self.assertEqual([other.sms_actual_segments, other.sms_actual_currency, other.sms_opted_out],
                         [0, False, 0])


@tagged("post_install", "-at_install")
class TestAlertSyncScreen(SmsAlertCommon):
    """The first sync of a rule over many records writes its alerts with one COPY: the same rows as create()."""

    ALERT_FIELDS = ["rule_id", "company_id", "res_model", "res_id", "scheduled_at", "recipient_key", "partner_id",
                    "mailing_contact_id", "number", "state", "sms_traffic", "body", "failure_reason",
                    "cancelled_by_user", "sent_at", "sms_uuid", "create_uid", "write_uid"]

    def _synced_alerts(self, rule, use_sql):
        with patch.object(type(self.env["mailing.mailing"]), "_africastalking_sql_insert_possible",
                          lambda _self, model_name, columns: use_sql), freeze_time("2030-03-01 09:00:00"):
            rule._sync_alerts()
        alerts = self.alerts(rule).sorted(lambda alert: (alert.res_id, alert.recipient_key))
        return [{name: alert[name] for name in self.ALERT_FIELDS} for alert in alerts]

    def test_copy_writes_what_create_writes(self):
        ke = self.env.ref("base.ke")
        others = self.env["res.partner"].create([
            {"name": "Local format", "mobile": "0712 345 101", "country_id": ke.id},
            {"name": "Invalid", "mobile": "12345"},
            {"name": "Phone only", "phone": "+254712345102"},
        ])
        with freeze_time("2030-03-01 09:00:00"):
            self.create_exam(partner_ids=[Command.set((self.partners[:2] | others).ids)])
            self.create_exam(name="PHY 101", partner_ids=[Command.set(others[:1].ids)])
            rule = self.create_rule(state="paused", sms_traffic="promotional")
        rows = {}
        for use_sql in (False, True):
            self.alerts(rule).unlink()
            rows[use_sql] = self._synced_alerts(rule, use_sql)
        self.assertEqual(len(rows[True]), 6)
        self.assertEqual(rows[True], rows[False])
        self.assertEqual({row["number"] for row in rows[True]},
                         {*self.partners[:2].mapped("mobile"), "+254712345101", "12345", "+254712345102"})
        self.assertEqual({row["sms_traffic"] for row in rows[True]}, {"promotional"})
        self.assertEqual(rule.alert_pending_count, 6)
