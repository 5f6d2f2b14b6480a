"""SMS Cost Analysis counts every SMS with a cost, grouped by what sent it; the Sent SMS log shows it right."""
from odoo import fields
from odoo.tests import tagged

from ..tools.at_callbacks import InboundMessage
from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestCostAnalysisOrigins(AfricasTalkingCase):

    def _composer(self, **values):
        return self.env["sms.composer"].with_user(self.user_marketing).with_context(
            default_res_model="res.partner", **values).create({"body": "Composer text"})

    def _send_every_way(self):
        env = self.env
        # Mailing, and its Test
        mailing = self.create_sms_mailing(body="Mailing text")
        self.send_mailing(mailing)
        env["mailing.sms.test"].create({"mailing_id": mailing.id, "numbers": "+254733000001"}).action_send_sms()
        # Composer: one contact (comment) and several (mass, without a mailing)
        self._composer(default_res_id=self.partners[0].id, default_composition_mode="comment").action_send_sms()
        self._composer(default_res_ids=self.partners[1:].ids, default_composition_mode="mass",
                       default_mass_keep_log=True).action_send_sms()
        # Server action (an automated action runs the same)
        template = env["sms.template"].create({"name": "Hello", "model_id": env["ir.model"]._get_id("res.partner"),
                                               "body": "Server action text"})
        env["ir.actions.server"].create({
            "name": "SMS", "model_id": env["ir.model"]._get_id("res.partner"), "state": "sms",
            "sms_template_id": template.id, "sms_method": "sms",
        }).with_context(active_model="res.partner", active_ids=self.partners[:1].ids).run()
        # API (a text to a number) and an alert rule's alert
        env["sms.africastalking.api"].send_sms(["+254733000002"], "API text")
        rule = env["sms.alert.rule"].create({
            "name": "Exam", "model_id": env["ir.model"]._get_id("sms.event"),
            "date_field_id": env["ir.model.fields"]._get("sms.event", "date_begin").id,
            "offset_value": 2, "offset_unit": "days", "time_of_day": 8.0, "tz": "Africa/Nairobi",
            "state": "paused", "template_id": env["sms.template"].create({
                "name": "Exam", "model_id": env["ir.model"]._get_id("sms.event"), "body": "Alert text"}).id,
        })
        alert = env["sms.alert"].create({
            "rule_id": rule.id, "scheduled_at": fields.Datetime.now(), "recipient_key": "number:+254733000003",
            "number": "+254733000003", "body": "Alert text"})
        alert._queue_sms({alert.id: "Alert text"})  # what sending a due alert of a rule does
        # Keyword reply to an inbound HELP
        env["africastalking.inbound"].sudo()._process_inbound_message(self.account, InboundMessage(
            message_id="in-1", from_number="+254733000004", text="HELP"))
        self.run_sms_queue()

    def test_every_origin_with_its_cost(self):
        Message = self.env["africastalking.message"].with_user(self.user_marketing)
        before = Message.search([])  # e.g. the demo's sent mailing
        self._send_every_way()
        groups = {origin: (count, cost) for origin, count, cost in Message._read_group(
            [("id", "not in", before.ids)], ["origin"], ["__count", "cost:sum"])}
        expected = {"mailing": 4, "test": 1, "composer": 3, "server_action": 1, "api": 1, "alert": 1, "keyword": 1}
        self.assertEqual({origin: count for origin, (count, _cost) in groups.items()}, expected)
        for origin, (count, cost) in groups.items():
            self.assertAlmostEqual(cost, 0.8 * count, msg=origin)
        total = sum((Message.search([]) - before).mapped("cost"))
        self.assertAlmostEqual(sum(cost for _count, cost in groups.values()), total, msg="nothing left out")
        # The menu opens the analysis of these messages, grouped by origin.
        action = self.env.ref("sms_africastalking.mailing_trace_sms_cost_menu").action
        self.assertEqual(action.res_model, "africastalking.message")
        self.assertEqual(Message.search([], limit=1).currency_id.name, "KES")

    def test_log_colours_follow_the_state(self):
        arch = self.env["africastalking.message"].get_view(
            self.env.ref("sms_africastalking.africastalking_message_view_tree").id, "tree")["arch"]
        self.assertIn('decoration-success="state == \'delivered\'"', arch)
        self.assertIn('decoration-muted="state == \'pending\'"', arch)
        self.assertIn('decoration-warning="state == \'unknown\'"', arch)
