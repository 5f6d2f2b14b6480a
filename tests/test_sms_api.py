"""The programmatic API, called as an external system would: JSON-RPC ``execute_kw`` on a running server."""

import json
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingCase, AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestSmsApiJsonRpc(AfricasTalkingHttpCase):

    def jsonrpc(self, method, args, kwargs=None, login="admin", password="admin"):
        uid = self.env["res.users"].search([("login", "=", login)]).id
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {
            "service": "object", "method": "execute_kw",
            "args": [self.env.cr.dbname, uid, password, "sms.africastalking.api", method, args, kwargs or {}],
        }}
        response = self.url_open("/jsonrpc", data=json.dumps(payload),
                                 headers={"Content-Type": "application/json"})
        self.assertEqual(response.status_code, 200)
        return response.json()

    def test_send_sms_numbers_and_partners(self):
        self.env["phone.blacklist"].sudo()._add(["+254733000999"])
        partner = self.partners[0]
        reply = self.jsonrpc("send_sms", [[partner.id, "0733 000 111", "+254733000111", "+254733000999", "nonsense"],
                                          "Campus closed tomorrow"])
        result = reply["result"]
        self.assertEqual(result["queued"], 2)
        self.assertEqual(result["scheduled"], 0)
        reasons = {item["recipient"]: item["reason"] for item in result["rejected"]}
        self.assertEqual(reasons, {"+254733000111": "Duplicate number.", "+254733000999": "The number is blacklisted.",
                                   "nonsense": "Invalid or missing number."})
        self.run_sms_queue()
        self.assertSentOnce(partner.mobile, "Campus closed tomorrow")
        self.assertSentOnce("+254733000111", "Campus closed tomorrow")
        self.assertEqual(self.simulator.stats()["accepted"], 2)
        message = self.env["africastalking.message"].search([("sms_uuid", "in", result["sms_uuids"]),
                                                             ("number", "=", partner.mobile)])
        self.assertEqual(message.partner_id, partner)

    def test_send_sms_refused_without_credit(self):
        """The API applies the UI's balance gate: a batch AT credit cannot cover is refused whole, nothing queued."""
        self.simulator.set_balance(0.80)  # one segment; the batch needs two
        result = self.jsonrpc("send_sms", [["+254733000201", "+254733000202"], "Library closes at 17:00"])["result"]
        self.assertEqual(result["queued"], 0)
        self.assertEqual(len(result["rejected"]), 2)
        self.assertIn("Not enough Africa's Talking credit", result["rejected"][0]["reason"])
        self.run_sms_queue()
        self.assertNothingSent()

    def test_send_sms_scheduled(self):
        at = datetime.now().replace(microsecond=0) + timedelta(hours=2)
        result = self.jsonrpc("send_sms", [["+254733000123"], "Exam moved to Hall C"],
                              {"schedule_at": at.strftime("%Y-%m-%d %H:%M:%S")})["result"]
        self.assertEqual((result["queued"], result["scheduled"]), (0, 1))
        self.env["sms.alert.rule"]._cron_process_alerts()
        self.run_sms_queue()
        self.assertNothingSent()
        with freeze_time(at + timedelta(minutes=1)):
            self.env["sms.alert.rule"]._cron_process_alerts()
        self.run_sms_queue()
        self.assertSentOnce("+254733000123", "Exam moved to Hall C")

    def test_send_alert_with_template(self):
        template = self.env["sms.template"].create({
            "name": "Exam", "model_id": self.env["ir.model"]._get_id("sms.event"),
            "body": "{{ object.name }} starts soon",
        })
        exam = self.env["sms.event"].create({"name": "MAT 101", "date_begin": "2030-03-10 07:00:00",
                                             "partner_ids": [Command.set(self.partners[:2].ids)]})
        result = self.jsonrpc("send_alert", [template.id, [exam.id]], login="marketing_mary",
                              password=self._set_password(self.user_marketing))["result"]
        self.assertEqual(result["queued"], 2)
        self.run_sms_queue()
        for partner in self.partners[:2]:
            self.assertSentOnce(partner.mobile, "MAT 101 starts soon")
        self.assertTrue(exam.message_ids.filtered(lambda m: m.message_type == "sms"))

    def test_access_refused_to_plain_users(self):
        user = self.env["res.users"].create({"name": "Plain", "login": "plain_user",
                                             "groups_id": [Command.set([self.env.ref("base.group_user").id])]})
        reply = self.jsonrpc("send_sms", [["+254733000123"], "Hi"], login="plain_user",
                             password=self._set_password(user))
        self.assertIn("error", reply)
        self.assertIn("AccessError", reply["error"]["data"]["name"])
        self.run_sms_queue()
        self.assertNothingSent()

    def _set_password(self, user):
        user.password = "api-test-password-1"
        return "api-test-password-1"


@tagged("post_install", "-at_install")
class TestSmsBroadcast(AfricasTalkingCase):

    def _process_mailings(self):
        self.env["mailing.mailing"].sudo()._process_mass_mailing_queue()
        self.run_sms_queue()

    def test_broadcast_now_has_statistics(self):
        api_model = self.env["sms.africastalking.api"].with_user(self.user_marketing)
        result = api_model.send_broadcast(self.mailing_list.ids, body="Campus closed tomorrow", name="Closure")
        mailing = self.env["mailing.mailing"].browse(result["mailing_id"])
        self.assertEqual((mailing.mailing_type, mailing.state), ("sms", "in_queue"))
        self._process_mailings()
        for contact in self.mailing_list.contact_ids:
            self.assertSentOnce(contact.mobile, "Campus closed tomorrow")
        self.assertEqual(len(mailing.mailing_trace_ids), 4)
        self.assertEqual(mailing.sent, 4)

    def test_broadcast_wizard_scheduled_with_template(self):
        template = self.env["sms.template"].create({
            "name": "Weather", "model_id": self.env["ir.model"]._get_id("mailing.contact"),
            "body": "Dear {{ object.name }}, heavy rain expected: stay indoors.",
        })
        at = datetime.now().replace(microsecond=0) + timedelta(hours=3)
        wizard = self.env["sms.broadcast"].with_user(self.user_marketing).create({
            "name": "Weather warning", "mailing_list_ids": [Command.set(self.mailing_list.ids)],
            "template_id": template.id, "schedule_type": "scheduled", "schedule_date": at,
        })
        confirm = self.env["africastalking.send.confirm"].with_user(self.user_marketing).browse(
            wizard.action_send()["res_id"])  # Send asks first: recipients, segments, cost
        action = confirm.action_confirm()
        mailing = self.env["mailing.mailing"].browse(action["res_id"])
        self.assertEqual((mailing.schedule_date, mailing.sms_template_id), (at, template))
        self._process_mailings()
        self.assertNothingSent()
        with freeze_time(at + timedelta(minutes=1)):
            self.env["mailing.mailing"].sudo()._process_mass_mailing_queue()
        self.run_sms_queue()
        contact = self.mailing_list.contact_ids[0]
        self.assertSentOnce(contact.mobile, "Dear %s, heavy rain expected: stay indoors." % contact.name)
