"""Transactional and promotional SMS through a full send with the simulator: each leaves with its sender ID, a
network opt-out (UserInBlacklist, AT's bulk opt-out) blocks promotional SMS only, STOP and the unsubscribe page
block everything."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase

NUMBER = "+254722000003"  # a student of the test mailing list


@tagged("post_install", "-at_install")
class TestSmsTraffic(AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account.write({"sender_id": "UNIPROMO", "transactional_sender_id": "UNIALERT"})
        cls.parent = cls.env["res.partner"].create({"name": "Parent Pauline", "mobile": NUMBER,
                                                   "country_id": cls.env.ref("base.ke").id})

    def _senders(self, number=NUMBER):
        return [message["sender_id"] for message in self.simulator.messages if message["number"] == number]

    def _api_send(self, body, **kwargs):
        result = self.env["sms.africastalking.api"].with_user(self.user_marketing).send_sms([NUMBER], body, **kwargs)
        self.run_sms_queue()
        return result

    def _single_sms(self, body):
        composer = self.env["sms.composer"].with_context(
            active_model="res.partner", active_id=self.parent.id, default_composition_mode="comment",
            default_res_model="res.partner", default_res_id=self.parent.id).create({"body": body})
        self.assertEqual(composer.sms_traffic, "transactional")
        composer.action_send_sms()
        self.run_sms_queue()

    def _blacklist_entry(self):
        return self.env["phone.blacklist"].with_context(active_test=False).search([("number", "=", NUMBER)])

    def test_network_opt_out_blocks_promotional_only(self):
        # A mailing is promotional: it leaves with the promotional sender and the network refuses it.
        self.simulator.add_delivery_rule(NUMBER, status="Failed", failure_reason="UserInBlacklist")
        mailing = self.create_sms_mailing()
        self.assertEqual(mailing.sms_traffic, "promotional")
        self.send_mailing(mailing)
        self.deliver_reports()
        self.assertEqual(set(self._senders()), {"UNIPROMO"})
        entry = self._blacklist_entry()
        self.assertEqual((entry.africastalking_block, entry.africastalking_scope), ("network", "promotional"))

        # Alerts / API calls, the contact's SMS button: transactional, still sent, with the transactional sender.
        self.simulator.reset()
        self.simulator.add_delivery_rule(NUMBER, status="Success", failure_reason=None)
        result = self._api_send("Exam moved to Room 4")
        self.assertFalse(result.get("rejected"), result)
        self._single_sms("Fees statement ready")
        self.assertEqual(self._senders(), ["UNIALERT", "UNIALERT"])

        # The API may say promotional: then the opt-out applies.
        result = self._api_send("Open day on Saturday!", traffic="promotional")
        self.assertEqual([item["recipient"] for item in result["rejected"]], [NUMBER])
        with self.assertRaises(UserError):
            self._api_send("x", traffic="marketing")

        # The next mailing skips the number (blacklisted for promotional SMS).
        self.simulator.reset()
        second = self.create_sms_mailing(subject="Open day")
        self.send_mailing(second)
        trace = second.mailing_trace_ids.filtered(lambda t: t.sms_number == NUMBER)
        self.assertEqual((trace.trace_status, trace.failure_type), ("cancel", "sms_blacklist"))
        self.assertEqual(self._senders(), [])

    def test_stop_blocks_everything(self):
        self.env["phone.blacklist"]._africastalking_block([NUMBER], "network")
        self.env.flush_all()
        self.assertEqual(self.simulator.send_inbound(NUMBER, "STOP"), 200)
        self.env.invalidate_all()
        entry = self._blacklist_entry()
        self.assertEqual((entry.africastalking_block, entry.africastalking_scope), ("keyword", "all"))
        self.run_sms_queue()  # the STOP reply
        result = self._api_send("Exam moved")
        self.assertEqual([item["recipient"] for item in result["rejected"]], [NUMBER])

    def test_at_bulk_optout_is_promotional_and_page_is_all(self):
        self.env.flush_all()
        self.assertEqual(self.simulator.send_optout(NUMBER, sender_id="UNIPROMO"), 200)
        self.env.invalidate_all()
        self.assertEqual(self._blacklist_entry().africastalking_scope, "promotional")
        self.env["phone.blacklist"]._africastalking_block([NUMBER], "page")
        self.assertEqual(self._blacklist_entry().africastalking_scope, "all")

    def test_alert_rule_and_broadcast_traffic(self):
        rule_model = self.env["sms.alert.rule"]
        self.assertEqual(rule_model._fields["sms_traffic"].default(rule_model), "transactional")
        values = {"name": "Campus closed", "mailing_list_ids": [Command.set(self.mailing_list.ids)],
                  "body": "Campus closed tomorrow", "sms_traffic": "transactional"}
        # Only an SMS manager makes a mailing transactional (it skips the network opt-outs of promotional SMS).
        with self.assertRaises(AccessError):
            self.env["sms.broadcast"].with_user(self.user_marketing).create(values)._action_send()
        manager = self.env["res.users"].create({
            "name": "Manager Maggie", "login": "traffic_maggie", "email": "maggie@example.com",
            "groups_id": [Command.set([self.env.ref("base.group_user").id,
                                       self.env.ref("sms_africastalking.group_sms_manager").id])]})
        broadcast = self.env["sms.broadcast"].with_user(manager).create(values)
        action = broadcast._action_send()
        mailing = self.env["mailing.mailing"].browse(action["res_id"])
        self.assertEqual(mailing.sms_traffic, "transactional")
        mailing.sudo().action_send_sms()
        self.run_sms_queue()
        self.assertEqual(set(self._senders()), {"UNIALERT"})

    def test_one_sender_when_no_transactional_one(self):
        self.account.transactional_sender_id = False
        self._api_send("Exam moved")
        self.assertEqual(self._senders(), ["UNIPROMO"])
