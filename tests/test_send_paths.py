"""Every way Odoo sends an SMS reaches Africa's Talking exactly once, with the right text and number."""

from odoo import Command
from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.tests import tagged

from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestSendPaths(AfricasTalkingCase, CronMixinCase):

    def _composer(self, **values):
        return self.env["sms.composer"].with_user(self.user_marketing).create(values)

    def test_contact_sms_button(self):
        """The phone widget's SMS button: comment mode on the partner, number from the mobile field."""
        partner = self.partners[0]
        with self.capture_triggers("sms.ir_cron_sms_scheduler_action") as capture:
            self._composer(res_model="res.partner", res_id=partner.id, composition_mode="comment",
                           number_field_name="mobile", body="Your card is ready").action_send_sms()
        self.assertTrue(capture.records, "an interactive send must wake the SMS queue at once")
        self.assertEqual(self.simulator.stats()["send_requests"], 0, "interactive sends only queue")
        self.run_sms_queue()
        self.assertSentOnce(partner.mobile, "Your card is ready")
        notification = self.env["mail.notification"].sudo().search([("res_partner_id", "=", partner.id),
                                                                       ("notification_type", "=", "sms")])
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual(self.simulator.messages[0]["sender_id"], "ODOOTEST")

    def test_composer_mass_mode_send_now(self):
        composer = self._composer(res_model="res.partner", res_ids=repr(self.partners.ids), composition_mode="mass",
                                  mass_keep_log=True, body="Hello {{ object.name }}")
        composer.action_send_sms_mass_now()
        self.run_sms_queue()
        for partner in self.partners:
            self.assertSentOnce(partner.mobile, "Hello %s" % partner.name)
        self.assertEqual(self.simulator.stats()["send_requests"], 3, "one request per distinct text")

    def test_composer_same_text_goes_in_one_request(self):
        composer = self._composer(res_model="res.partner", res_ids=repr(self.partners.ids), composition_mode="mass",
                                  mass_keep_log=False, body="Campus closed tomorrow")
        composer.action_send_sms_mass_now()
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["send_requests"], 1)
        for partner in self.partners:
            self.assertSentOnce(partner.mobile, "Campus closed tomorrow")

    def test_composer_numbers_mode(self):
        self._composer(composition_mode="numbers", numbers="0733 000 111,+254733000222",
                       body="Visitors' day").action_send_sms()
        self.run_sms_queue()
        self.assertSentOnce("+254733000111", "Visitors' day")
        self.assertSentOnce("+254733000222", "Visitors' day")

    def test_message_post_sms_on_record(self):
        partner = self.partners[1]
        partner._message_sms("Fees reminder", partner_ids=partner.ids)
        self.run_sms_queue()
        self.assertSentOnce(partner.mobile, "Fees reminder")

    def test_server_action(self):
        template = self.env["sms.template"].create({
            "name": "Welcome", "model_id": self.env["ir.model"]._get_id("res.partner"),
            "body": "Welcome {{ object.name }}",
        })
        for method in ("sms", "comment"):
            self.simulator.reset()
            action = self.env["ir.actions.server"].create({
                "name": "Send welcome", "model_id": self.env["ir.model"]._get_id("res.partner"),
                "state": "sms", "sms_template_id": template.id, "sms_method": method,
            })
            partner = self.partners[2]
            action.with_context(active_model="res.partner", active_id=partner.id, active_ids=partner.ids).run()
            self.run_sms_queue()
            self.assertSentOnce(partner.mobile, "Welcome %s" % partner.name)

    def test_mailing_to_list(self):
        mailing = self.create_sms_mailing()
        self.send_mailing(mailing)
        contacts = self.mailing_list.contact_ids
        for contact in contacts:
            self.assertSentOnce(contact.mobile, "Good day %s, exams start on Monday." % contact.name)
        traces = mailing.mailing_trace_ids
        self.assertEqual(len(traces), 4)
        self.assertEqual(set(traces.mapped("trace_status")), {"pending"})
        self.assertTrue(all(trace.at_message_id.startswith("ATXid_") for trace in traces))
        self.assertEqual(traces.mapped("at_parts"), [1] * 4)
        self.assertAlmostEqual(sum(traces.mapped("at_cost")), 3.2)
        self.assertEqual(mailing.state, "done", "accepted by AT is 'sent' (pending), so the mailing completes")
        # The queue running again (cron, second worker) sends nothing more.
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["accepted"], 4)

    def test_mailing_link_tracking_and_unsubscribe(self):
        mailing = self.create_sms_mailing(body="Timetable: https://www.example.com/exams", sms_allow_unsubscribe=True)
        self.send_mailing(mailing)
        texts = [message["text"] for message in self.simulator.messages]
        self.assertEqual(len(texts), 4)
        base_url = mailing.get_base_url()
        for text in texts:
            self.assertNotIn("https://www.example.com/exams", text, "links are shortened for click tracking")
            self.assertIn(base_url + "/r/", text)
            self.assertIn("/s/", text)
            self.assertIn("STOP SMS: %s/sms/%s/" % (base_url, mailing.id), text)

    def test_mailing_ab_test(self):
        mailing = self.create_sms_mailing(ab_testing_enabled=True, ab_testing_pc=50)
        self.send_mailing(mailing)
        self.assertEqual(self.simulator.stats()["accepted"], 2, "the A/B sample is half of the list")
        self.assertEqual(len(mailing.mailing_trace_ids), 2)

    def test_mailing_test_button(self):
        mailing = self.create_sms_mailing()
        wizard = self.env["mailing.sms.test"].with_user(self.user_marketing).create({
            "mailing_id": mailing.id, "numbers": "+254799000001\n0799 000 002\nnot a number",
        })
        with self.capture_triggers("sms.ir_cron_sms_scheduler_action") as capture:
            wizard.action_send_sms()
        self.assertTrue(capture.records, "the queue is woken at once")
        self.assertIn("Test SMS queued for +254799000001, +254799000002", mailing.message_ids[0].body)
        self.assertIn("not correctly encoded: not a number", mailing.message_ids[0].body)
        self.run_sms_queue()
        self.assertSentOnce("+254799000001")
        self.assertSentOnce("+254799000002")
        # Stock leaves test SMS 'outgoing' and the cron sends them again: ours are settled once sent.
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["accepted"], 2)

    def test_mailing_test_button_skips_blacklisted_numbers(self):
        """The Test button is a send like the others: a number that opted out gets nothing and costs nothing."""
        self.env["phone.blacklist"].sudo().add("+254799000003")
        mailing = self.create_sms_mailing()
        wizard = self.env["mailing.sms.test"].with_user(self.user_marketing).create({
            "mailing_id": mailing.id, "numbers": "+254799000001\n0799 000 003",
        })
        wizard.action_send_sms()
        self.assertIn("Test SMS queued for +254799000001", mailing.message_ids[0].body)
        self.assertIn("blacklisted, not sent: +254799000003", mailing.message_ids[0].body)
        self.run_sms_queue()
        self.assertSentOnce("+254799000001")
        self.assertEqual(self.simulator.count("+254799000003", mailing.body_plaintext), 0)
        self.assertEqual(self.simulator.stats()["accepted"], 1)

    def test_resend_failed(self):
        self.simulator.inject_fault("http_401", after_processing=False)
        partner = self.partners[0]
        partner._message_sms("Library books due", partner_ids=partner.ids)
        self.run_sms_queue()
        sms = self.env["sms.sms"].sudo().search([("number", "=", partner.mobile)])
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_acc"))
        self.assertNothingSent()
        sms.resend_failed()
        self.run_sms_queue()
        self.assertSentOnce(partner.mobile, "Library books due")

    def test_resend_wizard_from_chatter(self):
        self.simulator.add_number_rule("+254711000000", 405)
        partner = self.partners[0]
        message = partner._message_sms("Exam card", partner_ids=partner.ids)
        self.run_sms_queue()
        notification = message.notification_ids
        self.assertEqual((notification.notification_status, notification.failure_type), ("exception", "sms_credit"))
        self.simulator.reset()
        wizard = self.env["sms.resend"].with_context(default_mail_message_id=message.id).create({})
        wizard.action_resend()
        self.run_sms_queue()
        self.assertSentOnce(partner.mobile, "Exam card")
        self.assertEqual(notification.notification_status, "pending")

    def test_sms_company_without_account(self):
        other_company = self.env["res.company"].create({"name": "No Account Ltd"})
        sms = self.env["sms.sms"].sudo().create({"number": "+254711000009", "body": "Hi",
                                                 "company_id": other_company.id})
        self.run_sms_queue()
        self.assertEqual((sms.state, sms.failure_type), ("error", "sms_acc"))
        self.assertIn("No Account Ltd", sms.at_failure_reason)
        self.assertNothingSent()

    def test_mailing_partner_targets(self):
        mailing = self.create_sms_mailing(
            mailing_model_id=self.env["ir.model"]._get_id("res.partner"),
            mailing_domain=repr([("id", "in", self.partners.ids)]), contact_list_ids=[Command.clear()],
            body="Dear {{ object.name }}")
        self.send_mailing(mailing)
        for partner in self.partners:
            self.assertSentOnce(partner.mobile, "Dear %s" % partner.name)
