"""The simulator's phone page, seen from Odoo: the link on the account, and a person using the page in Chromium.

The browser tests open the real page of the class's simulator: what Odoo sent appears on the phone, and what the
person does there (reply STOP, AT opt-out, choose a delivery fate) reaches Odoo's real callback routes.
"""
import json

import requests

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import AfricasTalkingCase, AfricasTalkingHttpCase

# Shared by the browser tests: wait for a condition, polling the page as a person would look at it.
JS_HELPERS = """
const waitFor = async (what, condition, seconds = 15) => {
    for (let tick = 0; tick < seconds * 10; tick++) {
        const result = condition();
        if (result) return result;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("timed out waiting for " + what);
};
const openPhone = async (number) => {
    const button = await waitFor("the phone " + number + " in the list",
        () => document.querySelector('#phones button[data-number="' + number + '"]'));
    button.click();
    await waitFor("the thread of " + number, () => !document.querySelector("#composer").hidden
        && document.querySelector("#phone-head").textContent.includes(number));
};
const receivedBubble = (text) => [...document.querySelectorAll("#thread .bubble.received")]
    .find((bubble) => bubble.querySelector(".text").textContent === text);
const odooAnswer = async (selector, what) => {
    const bubble = await waitFor(what + " on the phone", () => {
        const found = document.querySelector(selector);
        return found && found.textContent.includes("Odoo answered") && found;
    });
    if (!bubble.textContent.includes("Odoo answered 200")) {
        throw new Error(what + ": " + bubble.querySelector(".meta").textContent);
    }
};
"""


def _run_js(steps):
    """Page code: the helpers, then ``steps`` (an async body); success or the error is logged for browser_js."""
    return ("(async () => {%s\n%s\nconsole.log('test successful');})()"
            ".catch((error) => console.error(error.message));" % (JS_HELPERS, steps))


@tagged("post_install", "-at_install")
class TestSimulatorAccountLink(AfricasTalkingCase):
    """The "Open Phone Simulator" button shows only for an account on the local simulator."""

    def test_account_on_the_simulator_links_to_its_phone_page(self):
        self.assertTrue(self.account.is_simulator)
        self.assertEqual(self.account.simulator_url, self.simulator.url + "/phones")
        action = self.account.action_open_simulator()
        self.assertEqual(action, {"type": "ir.actions.act_url", "url": self.simulator.url + "/phones",
                                  "target": "new"})
        page = requests.get(action["url"], timeout=5)
        self.assertEqual(page.status_code, 200)
        self.assertIn("<title>Phones", page.text)

    def test_the_form_shows_the_button_for_the_simulator_only(self):
        arch = self.env["africastalking.account"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="action_open_simulator"', arch)
        self.assertIn('invisible="not is_simulator"', arch)

    def test_local_hosts_are_the_simulator(self):
        for url in ("http://localhost:8071", "http://LOCALHOST:8071/", "http://[::1]:8071", "https://127.0.0.1"):
            self.account.api_url = url
            self.assertTrue(self.account.is_simulator, url)
            self.assertTrue(self.account.simulator_url.endswith("/phones"), url)

    def test_other_accounts_have_no_simulator(self):
        cases = [("custom", "https://at-proxy.example.ac.ke"), ("custom", "http://127.0.0.1.example.com:8071"),
                 ("custom", "ftp://127.0.0.1/"), ("production", False)]
        for environment, url in cases:
            self.account.write({"environment": environment, "api_url": url})
            self.assertFalse(self.account.is_simulator, url)
            self.assertFalse(self.account.simulator_url, url)
            with self.assertRaises(UserError):
                self.account.action_open_simulator()
        sandbox = self.account.copy({"environment": "sandbox", "username": "sandbox", "api_url": "http://localhost"})
        self.assertFalse(sandbox.is_simulator, "only a custom URL is the simulator")


@tagged("post_install", "-at_install")
class TestSimulatorInboxBrowser(AfricasTalkingHttpCase):
    """A person on the phone page, in headless Chromium, against Odoo's real callback routes."""

    def _send_from_odoo(self, partner, body):
        self.env["sms.composer"].with_user(self.user_marketing).create({
            "res_model": "res.partner", "res_id": partner.id, "composition_mode": "comment",
            "number_field_name": "mobile", "body": body,
        }).action_send_sms()
        self.run_sms_queue()
        self.assertSentOnce(partner.mobile, body)

    def _open_page(self, steps):
        self.env.flush_all()
        self.browser_js(self.simulator.url + "/phones", _run_js(steps), ready="document.body.dataset.ready === '1'",
                        timeout=60)
        self.env.invalidate_all()

    def _blacklisted(self, number):
        return self.env["phone.blacklist"].sudo().search([("number", "=", number), ("active", "=", True)])

    def test_reply_stop_from_the_phone_blacklists_the_number(self):
        partner = self.partners[0]
        body = "Dear %s, exams start on Monday at 08:00." % partner.name
        self._send_from_odoo(partner, body)
        self.assertFalse(self._blacklisted(partner.mobile))

        self._open_page("""
            await openPhone(%(number)s);
            await waitFor("the message sent from Odoo", () => receivedBubble(%(body)s));
            document.querySelector('[data-keyword="STOP"]').click();
            await odooAnswer("#thread .bubble.sent.reply", "the STOP reply");
        """ % {"number": json.dumps(partner.mobile), "body": json.dumps(body)})

        [reply] = [entry for entry in self.simulator.thread(partner.mobile) if entry["direction"] == "sent"]
        self.assertEqual((reply["text"], reply["http_status"]), ("STOP", 200))
        self.assertTrue(self._blacklisted(partner.mobile), "STOP from the phone must blacklist its number")

    def test_at_optout_from_the_phone_blacklists_the_number(self):
        partner = self.partners[1]
        body = "Fees reminder for %s" % partner.name
        self._send_from_odoo(partner, body)

        self._open_page("""
            await openPhone(%(number)s);
            await waitFor("the message sent from Odoo", () => receivedBubble(%(body)s));
            document.querySelector("#optout").click();
            await odooAnswer("#thread .bubble.sent.optout", "the AT opt-out");
        """ % {"number": json.dumps(partner.mobile), "body": json.dumps(body)})

        self.assertTrue(self._blacklisted(partner.mobile), "AT's bulk opt-out must blacklist the number")

    def test_failed_fate_chosen_on_the_phone_reaches_odoo(self):
        partner = self.partners[2]
        body = "Your library card is ready"
        self._send_from_odoo(partner, body)
        message = self.env["africastalking.message"].search([("number", "=", partner.mobile)])
        self.assertEqual(message.state, "pending")

        self._open_page("""
            await openPhone(%(number)s);
            const bubble = await waitFor("the pending message", () => receivedBubble(%(body)s));
            bubble.querySelector("select").value = "UserInBlacklist";
            bubble.querySelector('[data-fate="Failed"]').click();
            await waitFor("the failed report on the phone", () => {
                const status = receivedBubble(%(body)s).querySelector("[data-status]");
                return status.dataset.status === "Failed";
            });
            if (receivedBubble(%(body)s).querySelector(".fate")) {
                throw new Error("a final message keeps its fate buttons");
            }
        """ % {"number": json.dumps(partner.mobile), "body": json.dumps(body)})

        self.apply_queued_reports()
        self.assertEqual((message.state, message.failure_reason, message.at_status),
                         ("failed", "UserInBlacklist", "Failed"))
        notification = self.env["mail.notification"].sudo().search([("res_partner_id", "=", partner.id),
                                                                       ("notification_type", "=", "sms")])
        self.assertEqual((notification.notification_status, notification.failure_type), ("bounce", "sms_not_allowed"))
        self.assertEqual(self.simulator.stats()["reports_posted"], 2, "one Sent and one Failed report")
