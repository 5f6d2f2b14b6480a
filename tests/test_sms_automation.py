"""Server actions of type "Send SMS" (what base_automation rules run on create / write) go through AT."""

from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingCase, ExamBookedTemplateMixin


@tagged("post_install", "-at_install")
class TestSmsServerActions(ExamBookedTemplateMixin, AfricasTalkingCase):

    def _action(self, method):
        return self.create_sms_server_action(method, name="Exam booked (%s)" % method)

    def _run_as_automation(self, action, records):
        """What base_automation does for an on-create / on-write rule: run its server action on the records."""
        action.sudo().with_context(active_model=records._name, active_ids=records.ids,
                                   active_id=records[:1].id).run()

    def _exam(self, partner, name="MAT 101"):
        return self.env["sms.event"].create({"name": name, "date_begin": "2030-03-10 07:00:00",
                                             "partner_ids": [Command.set(partner.ids)]})

    def _sms_notes(self, record):
        return record.message_ids.filtered(lambda m: m.message_type == "sms")

    def test_on_create_each_method(self):
        for method, logged in (("sms", False), ("comment", True), ("note", True)):
            with self.subTest(method=method):
                self.simulator.reset()
                partner = self.partners[0]
                exam = self._exam(partner, name="Exam %s" % method)
                self._run_as_automation(self._action(method), exam)
                self.run_sms_queue()
                text = "You are booked for Exam %s" % method
                self.assertSentOnce(partner.mobile, text)
                self.assertEqual(bool(self._sms_notes(exam)), logged)
                message = self.env["africastalking.message"].search([("body", "=", text)])
                self.assertEqual(message.partner_id, partner, "the contact's Sent SMS history needs the partner")
                self.assertEqual(message.state, "pending")

    def test_on_write_batch(self):
        exams = self._exam(self.partners[0]) | self._exam(self.partners[1], name="CS 102")
        exams.write({"location": "Hall B"})
        self._run_as_automation(self._action("note"), exams)
        self.run_sms_queue()
        self.assertSentOnce(self.partners[0].mobile, "You are booked for MAT 101")
        self.assertSentOnce(self.partners[1].mobile, "You are booked for CS 102")

    def test_blacklisted_partner_skipped_in_mass_methods(self):
        partner = self.partners[2]
        self.env["phone.blacklist"].sudo()._add([partner.mobile])
        for method in ("sms", "note"):
            exam = self._exam(partner, name="Exam %s" % method)
            self._run_as_automation(self._action(method), exam)
        self.run_sms_queue()
        self.assertNothingSent()
        canceled = self.env["sms.sms"].sudo().search([("partner_id", "=", partner.id)])
        self.assertEqual(set(canceled.mapped("failure_type")), {"sms_blacklist"})
