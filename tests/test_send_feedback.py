"""What a person sees before and after a send: live estimate, confirmation, warnings, server action feedback,
the import preview's real outcomes, and the English of the summaries."""
import base64
import csv
import io
import re
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from ..models import mailing_mailing_estimate
from .common import AfricasTalkingCase, ExamBookedTemplateMixin
from .test_contact_import import csv_bytes

LONG_BODY = "a" * 153 * 4  # 612 septets: 4 parts


@tagged("post_install", "-at_install")
class TestLiveEstimate(AfricasTalkingCase):

    def test_estimate_follows_text_in_form_without_save(self):
        """The form's onchange re-estimates the text being typed; nothing is written until the user saves."""
        mailing = self.create_sms_mailing(body="Short")
        self.assertEqual((mailing.sms_estimate_recipients, mailing.sms_estimate_segments), (4, 4),
                         "estimated on creation, no button to press")
        self.assertEqual(mailing.sms_estimate_cost_display, "KES 3.20")
        view = "mass_mailing_sms.mailing_mailing_view_form_sms"
        with Form(mailing.with_user(self.user_marketing), view=view) as form:
            form.body_plaintext = "x" * 161
            self.assertEqual(form.sms_estimate_segments, 8, "2 parts x 4 recipients, before any save")
            self.assertEqual(form.sms_estimate_cost_display, "KES 6.40")
            self.assertIn("4 recipients, 8 segments (GSM-7, 2 parts per SMS).", form.sms_estimate_note)
            self.assertEqual(mailing.sms_estimate_segments, 4, "the saved mailing is unchanged while editing")
        self.assertEqual(mailing.sms_estimate_segments, 8)

    def test_form_estimate_excludes_list_opt_outs(self):
        """In the form (a new record) the list's opted-out contacts are excluded as on Send."""
        gone = self.mailing_list.contact_ids[0]
        self.mailing_list.subscription_ids.filtered(lambda s: s.contact_id == gone).opt_out = True
        mailing = self.create_sms_mailing(body="Hello")
        with Form(mailing, view="mass_mailing_sms.mailing_mailing_view_form_sms") as form:
            form.body_plaintext = "Hello again"
            self.assertEqual(form.sms_estimate_recipients, 3)
            self.assertEqual(form.sms_estimate_excluded, 1)
        self.assertEqual(mailing._get_sms_cost_estimate()["recipients"], 3)

    def test_large_audience_sampled_with_label_then_exact_on_send(self):
        """Above the exact limit only a spread sample is rendered and priced; Send counts everyone."""
        big = self.env["mailing.list"].create({
            "name": "Big",
            "contact_ids": [Command.create({"name": "C%s" % index, "mobile": "+2547230000%02d" % index})
                            for index in range(12)],
        })
        rendered = []
        original = mailing_mailing_estimate.MailingMailing._sms_estimate_texts

        def counting(mailing, res_model, res_ids, body, allow_unsubscribe):
            rendered.append(len(res_ids))
            return original(mailing, res_model, res_ids, body, allow_unsubscribe)

        body = "Dear {{ object.name }}, the library closes at 5."
        with patch.object(mailing_mailing_estimate, "ESTIMATE_EXACT_LIMIT", 5), \
                patch.object(mailing_mailing_estimate.MailingMailing, "_sms_estimate_texts", counting):
            mailing = self.create_sms_mailing(body=body, contact_list_ids=[Command.set(big.ids)])
            self.assertTrue(mailing.sms_estimate_approximate)
            self.assertEqual(rendered, [5], "5 of 12 recipients rendered")
            self.assertEqual((mailing.sms_estimate_recipients, mailing.sms_estimate_segments), (12, 12))
            self.assertEqual(mailing.sms_estimate_cost_display, "about KES 9.60")
            self.assertIn("Estimated from a sample of 5 of 12 recipients", mailing.sms_estimate_note)
            rendered.clear()
            mailing.action_put_in_queue()
            self.assertEqual(rendered, [12], "Send estimates on everyone")
        self.assertFalse(mailing.sms_estimate_approximate)
        self.assertEqual(mailing.sms_estimate_cost_display, "KES 9.60")

    def test_summary_english(self):
        mailings = self.env["mailing.mailing"]
        one = {"recipients": 1, "segments": 1, "segments_min": 1, "segments_max": 1, "encoding": "GSM-7",
               "excluded": {"blacklist": 1}, "cost_available": True}
        self.assertEqual(mailings._sms_estimate_summary(one),
                         "1 recipient, 1 segment (GSM-7, 1 part per SMS).\nExcluded: 1 blacklisted.")
        many = dict(one, recipients=3, segments=5, segments_min=1, segments_max=2, excluded={})
        self.assertEqual(mailings._sms_estimate_summary(many),
                         "3 recipients, 5 segments (GSM-7, 1 to 2 parts per SMS).")
        self.assertEqual(self.env["africastalking.rate"]._format_cost(2.4, "KES"), "KES 2.40")
        self.assertEqual(self.env["africastalking.rate"]._format_cost(1234.5, "KES"), "KES 1,234.50")


@tagged("post_install", "-at_install")
class TestSendConfirmation(AfricasTalkingCase):

    def _confirm(self, mailing):
        action = mailing.with_context(sms_confirm_send=True).action_put_in_queue()
        self.assertEqual(action["res_model"], "africastalking.send.confirm")
        return self.env["africastalking.send.confirm"].browse(action["res_id"])

    def test_send_shows_recipients_segments_cost_then_sends(self):
        mailing = self.create_sms_mailing(body="Exams start Monday")
        confirm = self._confirm(mailing.with_user(self.user_marketing))
        self.assertEqual(mailing.state, "draft", "nothing queued before the confirmation")
        self.assertEqual((confirm.recipients, confirm.segments, confirm.cost_display), (4, 4, "KES 3.20"))
        self.assertEqual(confirm.confirm_label, "Send to 4 recipients")
        self.assertFalse(confirm.block_reason or confirm.warning)
        confirm.with_user(self.user_marketing).action_confirm()
        self.assertEqual(mailing.state, "in_queue")

    def test_send_now_confirms_too(self):
        mailing = self.create_sms_mailing(body="Exams start Monday", sms_force_send=True)
        action = mailing.with_context(sms_confirm_send=True).action_send_mail()
        confirm = self.env["africastalking.send.confirm"].browse(action["res_id"])
        self.assertEqual((confirm.send_method, confirm.recipients), ("send_mail", 4))
        self.assertFalse(self.env["sms.sms"].search([("mailing_id", "=", mailing.id)]), "nothing before confirming")
        confirm.action_confirm()
        self.run_sms_queue()
        for contact in self.mailing_list.contact_ids:
            self.assertSentOnce(contact.mobile, "Exams start Monday")

    def test_empty_audience_blocked_interactively(self):
        empty = self.env["mailing.list"].create({"name": "Nobody"})
        mailing = self.create_sms_mailing(body="Hello", contact_list_ids=[Command.set(empty.ids)])
        confirm = self._confirm(mailing)
        self.assertIn("the audience is empty", confirm.block_reason)
        with self.assertRaisesRegex(UserError, "the audience is empty"):
            confirm.action_confirm()
        with self.assertRaisesRegex(UserError, "the audience is empty"):
            mailing.action_put_in_queue()
        self.assertEqual(mailing.state, "draft")

    def test_everyone_excluded_blocked_with_reasons(self):
        blocked = self.env["mailing.list"].create({"name": "Blocked", "contact_ids": [
            Command.create({"name": "B", "mobile": "+254733000001"}),
            Command.create({"name": "N", "mobile": "12"})]})
        self.env["phone.blacklist"].sudo().add("+254733000001")
        mailing = self.create_sms_mailing(body="Hello", contact_list_ids=[Command.set(blocked.ids)])
        self.assertEqual(self._confirm(mailing).block_reason,
                         "Nothing to send: every recipient is excluded (1 blacklisted, 1 invalid or missing numbers).")

    def test_scheduled_mailing_emptied_goes_back_to_draft_with_note(self):
        """Stock marks a due mailing without recipients as Sent with 0 messages, silently."""
        emptied = self.env["mailing.list"].create({"name": "Club", "contact_ids": [
            Command.create({"name": "M", "mobile": "+254744000001"})]})
        mailing = self.create_sms_mailing(body="Club meeting", contact_list_ids=[Command.set(emptied.ids)],
                                          schedule_type="scheduled", schedule_date="2030-01-01 08:00:00")
        mailing.action_put_in_queue()
        self.assertEqual(mailing.state, "in_queue")
        emptied.contact_ids.unlink()
        mailing.sudo().schedule_date = "2020-01-01 08:00:00"
        self.env["mailing.mailing"]._process_mass_mailing_queue()
        self.assertEqual(mailing.state, "draft")
        self.assertIn("the audience was empty", mailing.message_ids[0].body)
        self.assertNothingSent()

    def test_everyone_excluded_in_queue_says_so(self):
        self.env["phone.blacklist"].sudo()._add(self.mailing_list.contact_ids.mapped("mobile"))
        mailing = self.create_sms_mailing(body="Hello")
        mailing.sudo().state = "in_queue"  # queued before the numbers were blacklisted
        self.env["mailing.mailing"]._process_mass_mailing_queue()
        self.assertEqual(mailing.state, "done")
        self.assertIn("No SMS was sent: every recipient is excluded (4 blacklisted)", mailing.message_ids[0].body)

    def test_long_text_warns_and_cap_blocks(self):
        mailing = self.create_sms_mailing(body=LONG_BODY)
        confirm = self._confirm(mailing)
        self.assertFalse(confirm.block_reason)
        self.assertEqual(confirm.warning, "Long text: 4 parts per SMS (more than 3). Each part is billed as one SMS: "
                                          "16 SMS in all.")
        self.env.company.sms_segments_cap = 3
        confirm = self._confirm(mailing)
        self.assertIn("The text needs 4 parts per SMS; the limit set in Settings › SMS is 3", confirm.block_reason)
        with self.assertRaisesRegex(UserError, "limit set in Settings"):
            mailing.action_put_in_queue()
        composer = self.env["sms.composer"].create({"res_model": "res.partner", "res_id": self.partners[0].id,
                                                    "composition_mode": "comment", "body": LONG_BODY})
        self.assertIn("limit set in Settings", composer.sms_estimate_warning)
        with self.assertRaisesRegex(UserError, "limit set in Settings"):
            composer.action_send_sms()
        self.env.company.sms_segments_cap = 0
        self.env.company.sms_segments_warn = 0
        self.assertFalse(self._confirm(mailing).warning, "0: no warning")

    def test_settings_parts_limits(self):
        with Form(self.env["res.config.settings"]) as settings:
            self.assertEqual((settings.sms_segments_warn, settings.sms_segments_cap), (3, 0), "defaults")
            settings.sms_segments_warn = 2
            settings.sms_segments_cap = 5
        settings.save().execute()
        self.assertEqual((self.env.company.sms_segments_warn, self.env.company.sms_segments_cap), (2, 5))
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self.env.company.sms_segments_cap = -1

    def test_composer_mass_empty_audience_refused(self):
        self.env["phone.blacklist"].sudo()._add(self.partners[:2].mapped("mobile"))
        composer = self.env["sms.composer"].with_context(active_model="res.partner").create({
            "res_model": "res.partner", "res_ids": repr(self.partners[:2].ids), "composition_mode": "mass",
            "body": "Hello"})
        with self.assertRaisesRegex(UserError, "every recipient is excluded"):
            composer.action_send_sms()
        self.assertFalse(self.env["sms.sms"].search([("number", "in", self.partners[:2].mapped("mobile"))]))


@tagged("post_install", "-at_install")
class TestBroadcastConfirmation(AfricasTalkingCase):

    def test_broadcast_shows_estimate_and_asks(self):
        wizard = self.env["sms.broadcast"].with_user(self.user_marketing).create({
            "name": "Campus closed", "mailing_list_ids": [Command.set(self.mailing_list.ids)],
            "body": "Campus closed tomorrow: heavy rain."})
        self.assertEqual((wizard.sms_estimate_recipients, wizard.sms_estimate_segments), (4, 4))
        self.assertEqual(wizard.sms_estimate_cost_display, "KES 3.20")
        mailings_before = self.env["mailing.mailing"].search_count([])
        action = wizard.action_send()
        self.assertEqual(action["res_model"], "africastalking.send.confirm")
        self.assertEqual(self.env["mailing.mailing"].search_count([]), mailings_before, "nothing before confirming")
        confirm = self.env["africastalking.send.confirm"].with_user(self.user_marketing).browse(action["res_id"])
        self.assertEqual((confirm.recipients, confirm.segments, confirm.cost_display), (4, 4, "KES 3.20"))
        back = confirm.action_back()
        self.assertEqual((back["res_model"], back["res_id"]), ("sms.broadcast", wizard.id))
        result = confirm.action_confirm()
        mailing = self.env["mailing.mailing"].browse(result["res_id"])
        self.assertEqual((mailing.state, mailing.subject), ("in_queue", "Campus closed"))

    def test_broadcast_live_in_form(self):
        with Form(self.env["sms.broadcast"].with_user(self.user_marketing)) as form:
            form.name = "Rain"
            form.mailing_list_ids.add(self.mailing_list)
            form.body = "x" * 161
            self.assertIn("4 recipients, 8 segments (GSM-7, 2 parts per SMS).", form.sms_estimate_note)
            self.assertEqual(form.sms_estimate_cost_display, "KES 6.40")

    def test_broadcast_to_empty_list_blocked(self):
        empty = self.env["mailing.list"].create({"name": "Nobody"})
        wizard = self.env["sms.broadcast"].create({"name": "X", "mailing_list_ids": [Command.set(empty.ids)],
                                                    "body": "Hello"})
        confirm = self.env["africastalking.send.confirm"].browse(wizard.action_send()["res_id"])
        self.assertIn("the audience is empty", confirm.block_reason)
        with self.assertRaisesRegex(UserError, "the audience is empty"):
            confirm.action_confirm()


@tagged("post_install", "-at_install")
class TestServerActionFeedback(ExamBookedTemplateMixin, AfricasTalkingCase):

    def _run(self, method, partners):
        action = self.create_sms_server_action(method)
        exams = self.env["sms.event"].create([{"name": "Exam %s" % partner.name, "date_begin": "2030-03-10 07:00:00",
                                               "partner_ids": [Command.set(partner.ids)]} for partner in partners])
        result = action.with_context(active_model="sms.event", active_ids=exams.ids, active_id=exams[0].id).run()
        return exams, result

    def test_notification_counts_queued_and_failed(self):
        self.env["phone.blacklist"].sudo().add(self.partners[2].mobile)
        exams, result = self._run("sms", self.partners)
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(result["params"]["message"], "2 SMS queued, 1 not sent (1 Blacklisted).")
        self.assertEqual(result["params"]["type"], "warning")
        note = exams[2].message_ids.filtered(lambda m: "not sent" in (m.body or ""))
        self.assertIn("SMS \"Exam booked\" not sent to %s: Blacklisted" % self.partners[2].mobile, note.body)
        self.assertFalse(exams[0].message_ids.filtered(lambda m: "not sent" in (m.body or "")))

    def test_notification_all_queued(self):
        _exams, result = self._run("note", self.partners[:1])
        self.assertEqual((result["params"]["message"], result["params"]["type"]), ("1 SMS queued.", "success"))
        self.run_sms_queue()
        self.assertSentOnce(self.partners[0].mobile, "You are booked for Exam Partner 0")

    def test_automation_with_everyone_blacklisted_does_not_raise(self):
        self.env["phone.blacklist"].sudo().add(self.partners[0].mobile)
        _exams, result = self._run("sms", self.partners[:1])
        self.assertEqual(result["params"]["message"], "0 SMS queued, 1 not sent (1 Blacklisted).")


@tagged("post_install", "-at_install")
class TestImportPreviewOutcome(AfricasTalkingCase):

    def test_preview_shows_what_the_import_does(self):
        """Duplicates, blacklisted numbers and contacts already in the list: the preview row says what the import
        does with it, in the import's words, and the import agrees row by row."""
        self.env["phone.blacklist"].sudo().add("+254733000009")
        parents = self.env["mailing.list"].create({"name": "Parents"})
        data = csv_bytes([
            ["Name", "Mobile"],
            ["Amina", "0712 345 678"],          # 2 new
            ["Amina again", "0712-345-678"],    # 3 duplicate of row 2
            ["Opted out", "0733 000 009"],      # 4 blacklisted
            ["Student", "0722000001"],          # 5 in "Students": already in the list
            ["Typo", "07123"],                  # 6 invalid
        ])
        # In the form (an onchange: a new wizard), as the person sees it
        draft = self.env["sms.contact.import"].with_user(self.user_marketing).new({
            "file": base64.b64encode(data), "filename": "parents.csv",
            "list_ids": [Command.set(self.mailing_list.ids)]})
        draft._onchange_file()
        preview = draft.preview_html
        outcomes = dict(re.findall(r'data-outcome="(\w+)">([^<]*)<', preview))
        self.assertEqual(set(outcomes), {"create", "duplicate", "blacklisted", "existing", "invalid"})
        self.assertEqual(outcomes["duplicate"], "Duplicate of row 2")
        self.assertEqual(outcomes["blacklisted"], "Blacklisted: this number opted out of SMS")
        self.assertEqual(outcomes["existing"], "Already in the mailing list")
        self.assertNotIn(">OK<", preview)
        wizard = self.env["sms.contact.import"].with_user(self.user_marketing).create({
            "file": base64.b64encode(data), "filename": "parents.csv",
            "list_ids": [Command.set((self.mailing_list | parents).ids)]})
        wizard._onchange_file()
        self.assertIn('data-outcome="subscribe"', wizard.preview_html, "in Students, not yet in Parents")
        wizard.action_import()
        rejects = {row[-1] for row in self._report(wizard)[1:]}
        self.assertEqual(rejects, {"Duplicate of row 2", "Blacklisted: this number opted out of SMS",
                                   "Invalid number"})
        self.assertEqual((wizard.created_count, wizard.subscribed_count), (1, 1))

    def _report(self, wizard):
        text = base64.b64decode(wizard.report_attachment_id.datas).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text)))
