"""Hostile roles over JSON-RPC on what the delivery work added: the Delivery analysis, dead numbers (lift), recurring
mailings (pause, resume, make recurring), report monitoring fields. Portal and internal users reach none of them; a
marketing user reads and runs series but cannot lift a dead number nor write one; an administrator can."""

import json

from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestDeliveryRoles(AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.sms_dead_number_threshold = 1
        cls.env["sms.number.suppression"]._record_number_outcomes(
            [(cls.env.company.id, "+254711000777", "hard", "UserDoesNotExist", None)])
        cls.suppression = cls.env["sms.number.suppression"].search([("number", "=", "+254711000777")])
        cls.template = cls.env["mailing.mailing"].create({
            "subject": "Fees", "mailing_type": "sms", "body_plaintext": "Fees due",
            "mailing_model_id": cls.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.link(cls.mailing_list.id)]})
        cls.series = cls.env["sms.mailing.series"].create({"name": "Fees", "mailing_id": cls.template.id,
                                                           "frequency": "daily"})
        for login, groups in (("delivery_portal", ["base.group_portal"]), ("delivery_internal", ["base.group_user"]),
                              ("delivery_marketing", ["base.group_user", "mass_mailing.group_mass_mailing_user"])):
            cls.env["res.users"].create({"name": login, "login": login, "password": login + "_pw",
                                         "groups_id": [Command.set([cls.env.ref(g).id for g in groups])]})

    def _call_kw(self, login, model, method, args, kwargs=None):
        self.authenticate(login, "admin" if login == "admin" else login + "_pw")
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1,
                   "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}}}
        self.env.flush_all()
        response = self.url_open("/web/dataset/call_kw/%s/%s" % (model, method), data=json.dumps(payload),
                                 headers={"Content-Type": "application/json"}, timeout=20)
        self.env.invalidate_all()
        return response.json()

    def test_portal_and_internal_users_reach_nothing(self):
        calls = [
            ("africastalking.delivery.analysis", "read_group", [[], ["cost:sum"], ["network_name"]]),
            ("sms.number.suppression", "search_read", [[]]),
            ("sms.number.suppression", "action_lift", [self.suppression.ids]),
            ("sms.mailing.series", "search_read", [[]]),
            ("sms.mailing.series", "action_pause", [self.series.ids]),
            ("africastalking.account", "read", [self.account.ids, ["last_report_date"]]),
        ]
        for login in ("delivery_portal", "delivery_internal"):
            for model, method, args in calls:
                with self.subTest(login=login, model=model, method=method):
                    answer = self._call_kw(login, model, method, args)
                    self.assertIn("error", answer)
        self.assertTrue(self.suppression.suppressed)
        self.assertEqual(self.series.state, "running")

    def test_marketing_user_runs_series_but_cannot_lift(self):
        answer = self._call_kw("delivery_marketing", "sms.number.suppression", "action_lift", [self.suppression.ids])
        self.assertIn("error", answer)
        answer = self._call_kw("delivery_marketing", "sms.number.suppression", "write",
                               [self.suppression.ids, {"suppressed": False}])
        self.assertIn("error", answer)
        self.assertTrue(self.suppression.suppressed)
        answer = self._call_kw("delivery_marketing", "sms.mailing.series", "action_pause", [self.series.ids])
        self.assertEqual(answer.get("result"), True, answer)
        self.assertEqual(self.series.state, "paused")
        answer = self._call_kw("delivery_marketing", "africastalking.delivery.analysis", "read_group",
                               [[], ["delivery_minutes:median"], ["network_name"]])
        self.assertIn("result", answer)

    def test_administrator_lifts(self):
        answer = self._call_kw("admin", "sms.number.suppression", "action_lift", [self.suppression.ids])
        self.assertEqual(answer.get("result"), True, answer)
        self.assertEqual((self.suppression.suppressed, self.suppression.lift_source), (False, "manual"))
