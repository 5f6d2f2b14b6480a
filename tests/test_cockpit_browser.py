"""Browser side of the cockpit: the JS segmenter against the shared cases, statistics after delivery reports."""
import json
import os
from contextlib import suppress
from pathlib import Path

from odoo.tests import tagged

from ..tools.segments import smart_encode
from .common import AfricasTalkingHttpCase, screenshot_when_done

CASES_FILE = Path(__file__).resolve().parents[1] / "tools" / "segments_cases.json"
SMART_SAMPLES = ["Don’t “quote” – me…", "tab\there\u00a0nbsp", "emoji 😀 stays", "\u200bzero\u2028line", ""]


@tagged("post_install", "-at_install")
class TestSegmentsParity(AfricasTalkingHttpCase):

    def test_js_counter_equals_server_counter(self):
        """The browser's segmenter (static/src/js/segments.js) gives the server's result on every shared case."""
        cases = json.loads(CASES_FILE.read_text(encoding="utf-8"))
        smart = [[text, smart_encode(text)] for text in SMART_SAMPLES]
        code = """
            const { analyze, smartEncode } = odoo.loader.modules.get("@sms_africastalking/js/segments");
            const cases = %s;
            const smart = %s;
            const failures = [];
            for (const c of cases) {
                const r = analyze(c.text);
                if (r.encoding !== c.encoding || r.length !== c.length || r.segments !== c.segments) {
                    failures.push([c.note, r.encoding, r.length, r.segments]);
                }
            }
            for (const [text, expected] of smart) {
                if (smartEncode(text) !== expected) { failures.push(["smart", text, smartEncode(text)]); }
            }
            if (failures.length || cases.length < 25) {
                console.error("segment parity failed: " + JSON.stringify(failures));
            } else {
                console.log("test successful");
            }
        """ % (json.dumps(cases), json.dumps(smart))
        self.browser_js("/web#action=mass_mailing_sms.mailing_mailing_action_sms", code,
                        ready='!!odoo.loader.modules.get("@sms_africastalking/js/segments")', login="admin")


@tagged("post_install", "-at_install")
class TestCockpitStatistics(AfricasTalkingHttpCase):

    def test_statistics_after_delivery_reports(self):
        campaign = self.env["utm.campaign"].create({"name": "Open day"})
        self.simulator.add_delivery_rule("+254722000003", status="Failed", failure_reason="AbsentSubscriber")
        self.env["phone.blacklist"].sudo().add("+254722000002")
        mailing = self.create_sms_mailing(body="Open day on Saturday", campaign_id=campaign.id)
        self.send_mailing(mailing)
        self.deliver_reports()
        mailing.invalidate_recordset()
        self.assertEqual((mailing.sent, mailing.delivered, mailing.failed), (3, 2, 1))
        self.assertEqual(mailing.sms_opted_out, 1)
        self.assertAlmostEqual(mailing.sms_estimate_cost, 2.4)
        self.assertAlmostEqual(mailing.sms_actual_cost, 2.4)
        self.assertEqual(mailing.sms_actual_segments, 3)
        campaign.invalidate_recordset()
        self.assertEqual(
            (campaign.sms_stat_count, campaign.sms_stat_sent, campaign.sms_stat_delivered, campaign.sms_stat_failed,
             campaign.sms_stat_opted_out, campaign.sms_stat_segments),
            (4, 3, 2, 1, 1, 3))
        self.assertAlmostEqual(campaign.sms_stat_actual_cost, 2.4)
        self.assertAlmostEqual(campaign.sms_stat_estimated_cost, 2.4)
        self.assertEqual(self.mailing_list.contact_count_sms, 3, "the list shows its SMS contacts")
        delivered = self.env["africastalking.message"].search([("mailing_id", "=", mailing.id),
                                                               ("state", "=", "delivered")])
        self.assertEqual(len(delivered), 2)


@tagged("post_install", "-at_install")
class TestCockpitTours(AfricasTalkingHttpCase):

    def test_composer_tour(self):
        partner = self.partners[0]
        self.start_tour("/web#model=res.partner&view_type=form&id=%s" % partner.id,
                        "sms_africastalking_composer_tour", login="admin")
        self.run_sms_queue()
        self.assertSentOnce(partner.mobile, "Habari 😀")

    def test_mailing_tour(self):
        mailing = self.create_sms_mailing(body="Cockpit tour", subject="Cockpit tour mailing",
                                          user_id=self.env.ref("base.user_admin").id)
        self.start_tour("/web", "sms_africastalking_mailing_tour", login="admin")
        self.assertEqual(mailing.state, "in_queue")
        self.assertAlmostEqual(mailing.sms_estimate_cost, 3.2)
        self.env["mailing.mailing"]._process_mass_mailing_queue()
        self.run_sms_queue()
        self.assertEqual(self.simulator.count("+254722000001", "Cockpit tour"), 1)


@tagged("post_install", "-at_install")
class TestCockpitScreenshots(AfricasTalkingHttpCase):
    """Screenshots for the README: run with SMS_AT_SCREENSHOTS=1 (saved under Odoo's screenshots folder)."""

    @staticmethod
    def _tab(label):
        return "[...document.querySelectorAll('a.nav-link')].find(a => a.textContent.trim() === '%s')" % label

    def _open_tab_code(self, label):
        return "%s.click(); setTimeout(() => console.log('test successful'), 1500);" % self._tab(label)

    def test_readme_screenshots(self):
        if not os.environ.get("SMS_AT_SCREENSHOTS"):
            self.skipTest("set SMS_AT_SCREENSHOTS=1 to take the README screenshots")
        admin = self.env.ref("base.user_admin")
        partner = self.partners[0]
        partner.write({"sms_no_mailing": True})
        self.env["sms.composer"].create({"res_model": "res.partner", "res_id": partner.id,
                                         "composition_mode": "comment", "body": "Your student card is ready"}
                                        ).action_send_sms()
        mailing = self.create_sms_mailing(body="Good day {{ object.name }}, exams start on Monday. "
                                               "Check the timetable on the portal.",
                                          subject="Exam timetable", user_id=admin.id, sms_allow_unsubscribe=True)
        self.send_mailing(mailing)
        self.deliver_reports()
        self.env.flush_all()
        with screenshot_when_done("readme_mailing_"):
            self.browser_js("/web#model=mailing.mailing&view_type=form&id=%s" % mailing.id,
                            self._open_tab_code("SMS Cost"), ready="!!" + self._tab("SMS Cost"), login="admin")
        with screenshot_when_done("readme_contact_"):
            self.browser_js("/web#model=res.partner&view_type=form&id=%s" % partner.id,
                            self._open_tab_code("Sent SMS"), ready="!!" + self._tab("Sent SMS"), login="admin")
        # This tour ends on the open composer on purpose: Odoo then takes its "unsaved_form_" screenshot (the
        # composer picture of the README) and fails the tour for ending on a form in edition.
        with suppress(AssertionError):
            self.start_tour("/web#model=res.partner&view_type=form&id=%s" % self.partners[1].id,
                            "sms_africastalking_composer_screenshot", login="admin")
