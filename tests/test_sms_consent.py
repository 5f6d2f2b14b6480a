"""Consent records (issue #19): every opt-in and opt-out, from every source, append-only, shown and exported."""

import base64
import csv
import io
import json
import re
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase
from .test_sms_keywords import KeywordCaseMixin


class JsonRpcMixin:
    def call_kw(self, model, method, args, kwargs=None):
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1,
                   "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}}}
        self.env.flush_all()
        response = self.url_open("/web/dataset/call_kw/%s/%s" % (model, method), data=json.dumps(payload),
                                 headers={"Content-Type": "application/json"}, timeout=30)
        self.env.invalidate_all()
        return response.json()


@tagged("post_install", "-at_install")
class TestSmsConsent(JsonRpcMixin, KeywordCaseMixin, AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.club = cls.env["mailing.list"].create({"name": "Drama Club"})
        cls.user_marketing.password = "marketing_mary"
        cls.portal = cls.env["res.users"].create({
            "name": "Pat Portal", "login": "pat_consent", "password": "pat_consent",
            "groups_id": [Command.set([cls.env.ref("base.group_portal").id])]})
        cls.internal = cls.env["res.users"].create({
            "name": "Ivy Internal", "login": "ivy_consent", "password": "ivy_consent",
            "groups_id": [Command.set([cls.env.ref("base.group_user").id])]})

    def setUp(self):
        super().setUp()
        # The class set-up subscribed the students (recorded too): the tests look at what they do themselves.
        self.consent_mark = self.env["sms.consent"].search([], order="id desc", limit=1).id

    def history(self, number):
        return self.env["sms.consent"].search([("number", "=", number), ("id", ">", self.consent_mark)], order="id")

    def test_class_setup_subscriptions_were_recorded(self):
        record = self.env["sms.consent"].search([("number", "=", "+254722000001"), ("id", "<=", self.consent_mark)])
        self.assertEqual(record.mapped(lambda r: (r.consent, r.scope, r.list_name, r.source)),
                         [("opt_in", "list", "Students", "system")])

    # ------------------------------------------------------------------
    # Sources
    # ------------------------------------------------------------------

    def test_stop_and_start_keywords(self):
        number = "+254722000001"
        stop = self.sms_in(number, "STOP")
        record = self.history(number)
        self.assertEqual(len(record), 1)
        self.assertEqual((record.consent, record.scope, record.source), ("opt_out", "all", "keyword"))
        self.assertEqual(record.inbound_id, stop)
        self.assertIn("STOP", record.evidence)
        self.assertIn(stop.at_message_id, record.evidence)
        self.assertFalse(record.user_id, "a callback has no user")

        # START lifts the blacklist and the list opt-outs of that number: one record each.
        self.student_subscription(number).opt_out = True
        start = self.sms_in(number, "anza")
        records = self.history(number).filtered(lambda r: r.inbound_id == start)
        self.assertEqual(sorted(records.mapped(lambda r: (r.consent, r.scope))),
                         [("opt_in", "all"), ("opt_in", "list")])
        self.assertEqual(records.filtered(lambda r: r.scope == "list").list_name, "Students")
        self.assertEqual(set(records.mapped("source")), {"keyword"})

    def student_subscription(self, number):
        return self.env["mailing.subscription"].search([
            ("contact_id.phone_sanitized", "=", number), ("list_id", "=", self.mailing_list.id)])

    def test_keyword_join_and_leave(self):
        self.make_keyword("THEATRE", {"action_type": "list_join", "mailing_list_id": self.club.id})
        self.make_keyword("NOTHEATRE", {"action_type": "list_leave", "mailing_list_id": self.club.id})
        join = self.sms_in("+254733000001", "theatre")
        leave = self.sms_in("+254733000001", "notheatre")
        records = self.history("+254733000001")
        self.assertEqual(records.mapped(lambda r: (r.consent, r.source, r.mailing_list_id, r.inbound_id)), [
            ("opt_in", "keyword_join", self.club, join), ("opt_out", "keyword_leave", self.club, leave)])

    def test_unsubscribe_page(self):
        mailing = self.create_sms_mailing(body="Exams start Monday", sms_allow_unsubscribe=True)
        self.send_mailing(mailing)
        trace = mailing.mailing_trace_ids.filtered(lambda t: t.sms_number == "+254722000002")
        url = "/sms/%s/%s" % (mailing.id, trace.sms_code)
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.url_open(url).text).group(1)
        self.env.flush_all()
        response = self.url_open("/sms/%s/unsubscribe/%s" % (mailing.id, trace.sms_code),
                                 data={"sms_number": "0722000002", "csrf_token": token})
        self.env.invalidate_all()
        self.assertEqual(response.status_code, 200)
        record = self.history("+254722000002")
        self.assertEqual((record.consent, record.scope, record.source, record.mailing_list_id),
                         ("opt_out", "list", "page", self.mailing_list))
        self.assertIn(str(trace.id), record.evidence)

    def test_at_opt_out_callback(self):
        self.env.flush_all()
        self.assertEqual(self.simulator.send_optout("+254711000001", sender_id="SCHOOL"), 200)
        self.env.invalidate_all()
        record = self.history("+254711000001")
        self.assertEqual((record.consent, record.source), ("opt_out", "at_optout"))
        self.assertIn("SCHOOL", record.evidence)

    def test_user_in_blacklist_report(self):
        self.simulator.add_delivery_rule("+254722000003", status="Failed", failure_reason="UserInBlacklist")
        mailing = self.create_sms_mailing(body="Fees due")
        self.send_mailing(mailing)
        self.deliver_reports()
        record = self.history("+254722000003")
        self.assertEqual((record.consent, record.source), ("opt_out", "network"))
        at_id = self.env["africastalking.message"].search([("number", "=", "+254722000003")]).at_message_id
        self.assertIn(at_id, record.evidence)

    def test_manual_changes_by_a_user(self):
        # The blacklist is an administrator's (stock rights); list subscriptions a marketing user's.
        admin = self.env.ref("base.user_admin")
        entry = self.env["phone.blacklist"].with_user(admin).add("0711 000 002")
        self.env["phone.blacklist.remove"].with_user(admin).create(
            {"phone": "+254711000002", "reason": "Asked by phone"}).action_unblacklist_apply()
        self.assertFalse(entry.active)
        records = self.env["sms.consent"].search([("user_id", "=", admin.id)], order="id")
        self.assertEqual(records.mapped(lambda r: (r.number, r.consent, r.scope, r.source)), [
            ("+254711000002", "opt_out", "all", "manual"), ("+254711000002", "opt_in", "all", "manual")])
        subscription = self.student_subscription("+254722000001").with_user(self.user_marketing)
        subscription.opt_out = True
        subscription.opt_out = False
        self.mailing_list.with_user(self.user_marketing).contact_ids = [
            Command.create({"name": "New parent", "mobile": "0744 000 001"})]
        records = self.env["sms.consent"].search([("user_id", "=", self.user_marketing.id),
                                                  ("id", ">", self.consent_mark)], order="id")
        self.assertEqual(records.mapped(lambda r: (r.number, r.consent, r.scope, r.source)), [
            ("+254722000001", "opt_out", "list", "manual"),
            ("+254722000001", "opt_in", "list", "manual"),
            ("+254744000001", "opt_in", "list", "manual"),
        ])

    def _import(self, rows, mailing_list):
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        wizard = self.env["sms.contact.import"].with_user(self.user_marketing).create({
            "file": base64.b64encode(buffer.getvalue().encode()), "filename": "parents.csv",
            "list_ids": [Command.set(mailing_list.ids)]})
        wizard._onchange_file()
        self.assertEqual(wizard.column_ids.filtered(lambda c: c.name == "Idhini").field, "consent")
        wizard.action_import()
        return wizard

    def _check_import(self, sql):
        path = "odoo.addons.sms_africastalking.wizard.sms_contact_import._sql_insert_possible"
        with patch(path, return_value=sql):
            self._import([["Jina", "Simu", "Idhini"], ["Amina", "0755 000 001", "Ndio"], ["Baraka", "0755000002", "no"],
                          ["Chebet", "0755000003", ""], ["Dalia", "0722000003", "hapana"]], self.club)
        for number, consent, stated in (("+254755000001", "opt_in", "consent: yes"),
                                        ("+254755000002", "opt_out", "consent: no"),
                                        ("+254755000003", "opt_in", "no consent stated"),
                                        ("+254722000003", "opt_out", "consent: no")):
            with self.subTest(number=number, sql=sql):
                record = self.history(number)
                self.assertEqual((record.consent, record.scope, record.mailing_list_id, record.source, record.user_id),
                                 (consent, "list", self.club, "import", self.user_marketing))
                self.assertIn("parents.csv", record.evidence)
                self.assertIn(stated, record.evidence)
                self.assertEqual(self.subscription(number, self.club).opt_out, consent == "opt_out",
                                 "a stated 'no' imports the contact opted out of the list")


    def test_import_with_consent_column_sql(self):
        self._check_import(sql=True)

    def test_import_with_consent_column_orm(self):
        self._check_import(sql=False)

    # ------------------------------------------------------------------
    # Append-only
    # ------------------------------------------------------------------

    def test_append_only_even_for_admin_and_sudo(self):
        self.sms_in("+254722000001", "STOP")
        record = self.history("+254722000001")
        with self.assertRaises(AccessError):
            record.sudo().write({"consent": "opt_in"})
        with self.assertRaises(AccessError):
            record.sudo().unlink()
        self.authenticate("admin", "admin")
        for method, args in (("write", [[record.id], {"consent": "opt_in"}]), ("unlink", [[record.id]]),
                             ("create", [{"number": "+254700000000", "consent": "opt_in"}])):
            with self.subTest(method=method):
                answer = self.call_kw("sms.consent", method, args)
                self.assertIn("error", answer, "admin %s over RPC must be refused" % method)
        self.assertEqual(self.history("+254722000001").consent, "opt_out")
        self.assertEqual(len(self.env["sms.consent"].search([("number", "=", "+254700000000")])), 0)

    def test_roles_over_rpc(self):
        self.sms_in("+254722000001", "STOP")
        record = self.history("+254722000001")
        self.authenticate("marketing_mary", "marketing_mary")
        answer = self.call_kw("sms.consent", "search_read", [[("id", "=", record.id)], ["number", "source"]])
        self.assertEqual(answer["result"][0]["source"], "keyword")
        self.assertIn("error", self.call_kw("sms.consent", "write", [[record.id], {"source": "manual"}]))
        for login in ("ivy_consent", "pat_consent"):
            with self.subTest(login=login):
                self.authenticate(login, login)
                self.assertIn("error", self.call_kw("sms.consent", "search_read", [[], ["number"]]))

    # ------------------------------------------------------------------
    # Shown and exported
    # ------------------------------------------------------------------

    def test_shown_on_contact_and_blacklist(self):
        partner = self.partners[1]
        self.sms_in("+254711000001", "STOP")
        self.sms_in("+254711000001", "START")
        self.assertEqual(partner.with_user(self.user_marketing).sms_consent_count, 2)
        action = partner.with_user(self.user_marketing).action_view_sms_consent()
        self.assertEqual(self.env["sms.consent"].search_count(action["domain"]), 2)
        student = self.mailing_list.contact_ids.filtered(lambda c: c.mobile == "+254722000002")
        self.assertEqual(student.sms_consent_count, 1, "the subscription of the class set-up")
        entry = self.env["phone.blacklist"].with_context(active_test=False).search([("number", "=", "+254711000001")])
        action = entry.action_view_sms_consent()
        self.assertEqual(self.env["sms.consent"].search(action["domain"]).mapped("consent"), ["opt_in", "opt_out"])

    def test_export_csv(self):
        self.sms_in("+254711000001", "=STOP")  # a text starting with '=' must not become a formula
        self.sms_in("+254711000001", "START")
        other = self.env["res.company"].create({"name": "Other School"})
        self.env["sms.consent"].with_company(other)._record(["+254711000001"], "opt_out", source="import")
        url = self.partners[1].action_export_sms_consent()["url"]
        self.authenticate("marketing_mary", "marketing_mary")
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        self.assertIn("consent-254711000001.csv", response.headers["Content-Disposition"])
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        self.assertEqual(rows[0][:3], ["Date (UTC)", "Number", "Consent"])
        self.assertEqual([row[2] for row in rows[1:]], ["Opt-out", "Opt-in"], "the other company's record is not shown")
        self.assertTrue(rows[1][6].startswith("SMS “=STOP”"))
        for login in ("ivy_consent", "pat_consent"):
            with self.subTest(login=login):
                self.authenticate(login, login)
                self.assertEqual(self.url_open(url).status_code, 403)
        self.authenticate(None, None)
        self.assertNotEqual(self.url_open(url, allow_redirects=False).status_code, 200)
