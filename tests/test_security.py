"""Security: forged callbacks on every public route, and access rights per role (one test per role)."""

import json
import re

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, tagged

from .common import SIM_API_KEY, SIM_USERNAME, AfricasTalkingCase, AfricasTalkingHttpCase

CALLBACK_KINDS = ("delivery", "inbound", "optout", "subscription")


def _valid_form(kind, message_id):
    if kind == "delivery":
        return {"id": message_id, "status": "Success", "phoneNumber": "+254711000001", "networkCode": "63902"}
    if kind == "inbound":
        return {"from": "+254711000001", "text": "STOP", "to": "12345", "id": "inbound-forged-1",
                "date": "2025-01-01 10:00:00"}
    if kind == "subscription":
        return {"phoneNumber": "+254711000001", "shortCode": "22384", "keyword": "RESULTS", "updateType": "addition"}
    return {"phoneNumber": "+254711000001", "senderId": "ODOOTEST"}


@tagged("post_install", "-at_install")
class TestForgedCallbacks(AfricasTalkingHttpCase):
    """Missing, wrong or another company's secret, wrong method, malformed or oversized bodies: refused, nothing
    changes, and the answer carries nothing of the request or of the database."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        other_company = cls.env["res.company"].create({"name": "Other school"})
        cls.other_account = cls.env["africastalking.account"].create({
            "name": "Other school account", "company_id": other_company.id, "environment": "custom",
            "api_url": cls.simulator.url, "username": SIM_USERNAME, "api_key": SIM_API_KEY})
        cls.other_secret = cls.other_account._generate_callback_secret()

    def setUp(self):
        super().setUp()
        sms = self.env["sms.sms"].sudo().create({"number": "+254711000001", "body": "Exam at 08:00"})
        self.run_sms_queue()
        self.message = self.env["africastalking.message"].search([("sms_uuid", "=", sms.uuid)])

    def _snapshot(self):
        self.env.flush_all()
        self.env.invalidate_all()
        return {
            "queued reports": self.env["africastalking.delivery.report"].sudo().search_count([]),
            "messages": self.env["africastalking.message"].sudo().search_read([], ["state", "at_status"]),
            "inbound": self.env["africastalking.inbound"].sudo().search_count([]),
            "blacklist": self.env["phone.blacklist"].sudo().with_context(active_test=False).search_read(
                [], ["number", "active"]),
            "outgoing sms": self.env["sms.sms"].sudo().search_count([("state", "=", "outgoing")]),
        }

    def _request(self, path, method="POST", data=None):
        self.env.flush_all()
        send = self.opener.get if method == "GET" else self.opener.post
        response = send(self.base_url() + path, data=None if method == "GET" else (data or {}), timeout=20)
        self.env.invalidate_all()
        return response

    def assertNothingLeaked(self, response, form):
        text = response.text
        secrets = [self.callback_secret, self.other_secret, SIM_API_KEY]
        for value in [*secrets, *form.values(), self.account.name, self.other_account.name, "Traceback",
                      "psycopg2", "sms_africastalking"]:
            if value and len(value) > 3:
                self.assertNotIn(value, text, "the answer to a forged callback echoes %r" % value)

    def test_forged_callbacks_change_nothing(self):
        secret, other_secret = self.callback_secret, self.other_secret
        before = self._snapshot()
        for kind in CALLBACK_KINDS:
            form = _valid_form(kind, self.message.at_message_id)
            base = "/sms_africastalking/%s" % self.account.id
            cases = [
                ("missing secret", base + "/" + kind, "POST", form, 404),
                ("empty secret", base + "//" + kind, "POST", form, 404),
                ("wrong secret", base + "/" + "A" * 43 + "/" + kind, "POST", form, 403),
                ("truncated secret", base + "/" + secret[:-1] + "/" + kind, "POST", form, 403),
                ("secret of another company's account", base + "/" + other_secret + "/" + kind, "POST", form, 403),
                ("this secret on another company's account",
                 "/sms_africastalking/%s/%s/%s" % (self.other_account.id, secret, kind), "POST", form, 403),
                ("no such account", "/sms_africastalking/999999/%s/%s" % (secret, kind), "POST", form, 403),
                ("wrong method", base + "/" + secret + "/" + kind, "GET", form, 405),
                ("empty body", base + "/" + secret + "/" + kind, "POST", {}, 400),
                ("malformed number", base + "/" + secret + "/" + kind, "POST",
                 {**form, ("from" if kind == "inbound" else "phoneNumber"): "<script>alert(1)</script>"}, 400),
                ("oversized body", base + "/" + secret + "/" + kind, "POST",
                 {**form, "padding": "x" * 20000}, 413),
            ]
            for name, path, method, data, status in cases:
                with self.subTest(kind=kind, case=name):
                    response = self._request(path, method, data)
                    self.assertEqual(response.status_code, status)
                    self.assertNothingLeaked(response, {**data, "secret": secret})
        self.assertEqual(self._snapshot(), before, "no forged callback changed anything")

    def test_archived_account_secret_is_refused(self):
        secret = self.callback_secret
        self.account.active = False
        before = self._snapshot()
        for kind in CALLBACK_KINDS:
            response = self._request("/sms_africastalking/%s/%s/%s" % (self.account.id, secret, kind),
                                     data=_valid_form(kind, self.message.at_message_id))
            self.assertEqual(response.status_code, 403, kind)
        self.assertEqual(self._snapshot(), before)

    def test_genuine_callbacks_still_work(self):
        """The same requests with the right secret are accepted: the refusals above are not an accident."""
        secret = self.callback_secret
        for kind in CALLBACK_KINDS:
            response = self._request("/sms_africastalking/%s/%s/%s" % (self.account.id, secret, kind),
                                     data=_valid_form(kind, self.message.at_message_id))
            self.assertEqual(response.status_code, 200, kind)
            self.assertEqual(response.text, "OK")

    def test_forged_unsubscribe_requests(self):
        mailing = self.create_sms_mailing(body="Exams start Monday", sms_allow_unsubscribe=True)
        self.send_mailing(mailing)
        other = self.create_sms_mailing(body="Fees are due", sms_allow_unsubscribe=True)
        self.send_mailing(other)
        trace = mailing.mailing_trace_ids[:1]
        other_trace = other.mailing_trace_ids.filtered(lambda t: t.sms_number != trace.sms_number)[:1]
        page = self.url_open("/sms/%s/%s" % (mailing.id, trace.sms_code))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        before = self._snapshot()
        subscriptions = self.env["mailing.subscription"].search_read([], ["opt_out"])
        number = trace.sms_number
        cases = [
            ("wrong code", "/sms/%s/unsubscribe/%s" % (mailing.id, "0" * len(trace.sms_code)),
             {"sms_number": number, "csrf_token": token}),
            ("another mailing's code", "/sms/%s/unsubscribe/%s" % (mailing.id, other_trace.sms_code),
             {"sms_number": number, "csrf_token": token}),
            ("no such mailing", "/sms/999999/unsubscribe/%s" % trace.sms_code,
             {"sms_number": number, "csrf_token": token}),
            ("another recipient's number", "/sms/%s/unsubscribe/%s" % (mailing.id, trace.sms_code),
             {"sms_number": other_trace.sms_number, "csrf_token": token}),
        ]
        for name, path, data in cases:
            with self.subTest(case=name):
                response = self._request(path, data=data)
                self.assertIn(response.status_code, (200, 303))
                self.assertNotIn(number, response.text)
                self.assertNotIn(other_trace.sms_number, response.text)
        response = self._request("/sms/%s/unsubscribe/%s" % (mailing.id, trace.sms_code),
                                 data={"sms_number": number})
        self.assertEqual(response.status_code, 400, "no CSRF token: refused")
        self.assertNotIn(number, response.text)
        response = self._request("/sms/%s/unsubscribe/%s?sms_number=%s" % (mailing.id, trace.sms_code, number),
                                 method="GET")
        self.assertEqual(response.status_code, 405, "the number never travels in a URL")
        self.assertEqual(self._snapshot(), before)
        self.assertEqual(self.env["mailing.subscription"].search_read([], ["opt_out"]), subscriptions)


@tagged("post_install", "-at_install")
class TestAccessRights(AfricasTalkingCase):
    """One test per role: marketing user, user of another company, portal user, public user, administrator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Other school", "country_id": cls.env.ref("base.ke").id})
        cls.simulator.accounts["companyb"] = "companyb-key"
        cls.account_b = cls.env["africastalking.account"].create({
            "name": "Other school account", "company_id": cls.company_b.id, "environment": "custom",
            "api_url": cls.simulator.url, "username": "companyb", "api_key": "companyb-key"})
        cls.budget_a, cls.budget_b = cls.env["sms.budget"].create([
            {"name": "ICT office", "company_id": company.id, "user_ids": [Command.set(cls.user_marketing.ids)],
             "date_start": "2020-01-01", "date_end": "2099-12-31", "limit_amount": 1000}
            for company in (cls.company_a, cls.company_b)])
        group_ids = cls.user_marketing.groups_id.ids
        cls.user_b = cls.env["res.users"].create({
            "name": "Marketing Ben", "login": "marketing_ben", "email": "ben@example.com",
            "company_id": cls.company_b.id,
            "company_ids": [Command.set(cls.company_b.ids)], "groups_id": [Command.set(group_ids)]})
        cls.portal_user = cls.env["res.users"].create({
            "name": "Parent Portal", "login": "parent_portal",
            "groups_id": [Command.set(cls.env.ref("base.group_portal").ids)]})
        cls.public_user = cls.env.ref("base.public_user")

    def test_internal_user_without_sms_marketing(self):
        """A salesperson opens any contact (the Sent SMS tab is for SMS Marketing users) and reads no SMS log."""
        user = self.env["res.users"].create({
            "name": "Sales Sam", "login": "sales_sam", "email": "sam@example.com",
            "groups_id": [Command.set([self.env.ref("base.group_user").id,
                                      self.env.ref("base.group_partner_manager").id])]})
        partner = self.partners[0].with_user(user)
        with Form(partner) as form:  # loads the contact form view and reads its fields as this user
            form.name = "Partner renamed by sales"
        self.assertEqual(self.partners[0].name, "Partner renamed by sales")
        with self.assertRaises(AccessError):
            self.env["africastalking.message"].with_user(user).search([])

    def _send_as(self, user, number, body):
        """An SMS sent from the chatter by ``user``, dispatched by the queue."""
        partner = self.env["res.partner"].create({"name": "Parent %s" % number, "mobile": number,
                                                  "company_id": user.company_id.id})
        partner.with_user(user).with_company(user.company_id)._message_sms(body, partner_ids=partner.ids)
        self.run_sms_queue()
        return self.env["africastalking.message"].search([("number", "=", number)])

    def test_marketing_user(self):
        account = self.account.with_user(self.user_marketing)
        self.assertEqual(account.name, "Test simulator", "marketing users see which account sends")
        for field in ("api_key", "api_key_encrypted", "api_key_set", "callback_secret_hash"):
            with self.subTest(field=field), self.assertRaises(AccessError):
                account.read([field])
            self.assertNotIn(field, account.fields_get())
        with self.assertRaises(AccessError):
            account.search_read([], ["api_key"])
        with self.assertRaises(AccessError):
            account.write({"api_key": "stolen"})
        with self.assertRaises(AccessError):
            account.action_regenerate_callback_secret()
        with self.assertRaises(AccessError):
            self.env["africastalking.delivery.report"].with_user(self.user_marketing).search([])
        with self.assertRaises(AccessError):
            self.env["africastalking.message"].with_user(self.user_marketing).create({"number": "+254711000001"})
        try:
            found = self.env["africastalking.account"].with_user(self.user_marketing).search(
                [("api_key_encrypted", "!=", False)])
        except AccessError:
            found = False
        self.assertFalse(found, "nor can the key be guessed through a search")

    def test_user_of_another_company(self):
        message_a = self._send_as(self.user_marketing, "+254711500001", "From school A")
        message_b = self._send_as(self.user_b, "+254711500002", "From school B")
        sent_by = {m["number"]: m["username"] for m in self.simulator.messages}
        self.assertEqual(sent_by, {"+254711500001": SIM_USERNAME, "+254711500002": "companyb"},
                         "each company's SMS leave through its own account")
        self.assertEqual((message_a.company_id, message_b.company_id), (self.company_a, self.company_b))
        env_b = self.env(user=self.user_b, context={"allowed_company_ids": self.company_b.ids})
        self.assertEqual(env_b["africastalking.account"].search([]), self.account_b.with_env(env_b))
        self.assertEqual(env_b["sms.budget"].search([]).ids, self.budget_b.ids)
        visible = env_b["africastalking.message"].search([]).ids
        self.assertIn(message_b.id, visible)
        self.assertNotIn(message_a.id, visible)
        for record in (self.account, self.budget_a, message_a):
            with self.subTest(model=record._name), self.assertRaises(AccessError):
                record.with_env(env_b).read(["name" if record._name != "africastalking.message" else "number"])
        # Switching to a company one does not belong to is refused.
        with self.assertRaises(AccessError):
            self.env(user=self.user_b, context={"allowed_company_ids": self.company_a.ids})[
                "africastalking.account"].search([])

    def _assertNoAccess(self, user):
        for model in ("africastalking.account", "africastalking.message", "africastalking.delivery.report",
                      "africastalking.inbound", "sms.budget", "sms.sms", "mailing.trace", "phone.blacklist"):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(user).search_read([], limit=1)

    def test_portal_user(self):
        self._assertNoAccess(self.portal_user)

    def test_public_user(self):
        self._assertNoAccess(self.public_user)

    def test_administrator(self):
        admin = self.env.ref("base.user_admin")
        values = self.account.with_user(admin).read(["api_key", "api_key_set", "api_key_encrypted",
                                                     "callback_secret_hash"])[0]
        self.assertFalse(values["api_key"], "write-only: the key never reads back, not even for administrators")
        self.assertTrue(values["api_key_set"])
        self.assertNotIn(SIM_API_KEY, values["api_key_encrypted"])
        self.assertNotIn(self.callback_secret, values["callback_secret_hash"])
        self.account.with_user(admin).action_test_connection()
        self.assertEqual(self.simulator.stats()["requests"], 1)


@tagged("post_install", "-at_install")
class TestPublicRoutes(AfricasTalkingHttpCase):
    """Portal and public users reach only the callback and opt-out routes, never the models behind them."""

    def _call_kw(self, model, method, args, kwargs=None):
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1,
                   "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}}}
        self.env.flush_all()
        response = self.url_open("/web/dataset/call_kw/%s/%s" % (model, method), data=json.dumps(payload),
                                 headers={"Content-Type": "application/json"}, timeout=20)
        return response.json()

    def test_public_and_portal_reach_no_model(self):
        portal = self.env["res.users"].create({
            "name": "Parent Portal", "login": "parent_portal_http", "password": "parent_portal_http",
            "groups_id": [Command.set(self.env.ref("base.group_portal").ids)]})
        for login in (None, portal.login):
            if login:
                self.authenticate(login, login)
            for model, fields in (("africastalking.account", ["api_key_encrypted", "callback_secret_hash"]),
                                  ("africastalking.account", ["name"]), ("africastalking.message", ["number"]),
                                  ("sms.sms", ["number"]), ("africastalking.inbound", ["text"])):
                with self.subTest(user=login or "public", model=model, fields=fields):
                    answer = self._call_kw(model, "search_read", [[]], {"fields": fields})
                    self.assertIn("error", answer)
                    self.assertNotIn("result", answer)
                    self.assertNotIn(self.account.sudo().callback_secret_hash, json.dumps(answer))
        # ... and the routes meant for them still answer.
        secret = self.callback_secret
        response = self.url_open("/sms_africastalking/%s/%s/optout" % (self.account.id, secret),
                                 data={"phoneNumber": "+254711000001"}, timeout=20)
        self.assertEqual(response.status_code, 200)
