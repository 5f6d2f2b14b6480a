"""A single SMS that fails says why: in the composer, on the contact's Sent SMS tab, in the chatter, in the log."""
import json
import socket

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import AfricasTalkingCase


def closed_port():
    """A local port nothing listens on: connections are refused, as with a dead gateway."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestSingleSmsFailure(AfricasTalkingCase):

    def _send_from_contact(self, partner, body):
        composer = self.env["sms.composer"].with_user(self.user_marketing).with_context(
            default_res_model="res.partner", default_res_id=partner.id, default_composition_mode="comment",
        ).create({"body": body})
        return composer.action_send_sms()

    def test_composer_says_which_number(self):
        """Stock picks the mobile before the phone; the composer says which one it used."""
        partner = self.partners[1]
        partner.phone = "+254 20 765 4321"
        action = self._send_from_contact(partner, "Your card is ready")
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn(partner.mobile, action["params"]["message"])
        self.assertIn("Mobile", action["params"]["message"])
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.run_sms_queue()
        self.assertSentOnce(partner.mobile, "Your card is ready")

    def test_dead_gateway(self):
        partner = self.partners[0]
        self.account.api_url = "http://127.0.0.1:%d" % closed_port()
        self._send_from_contact(partner, "Your card is ready")
        with mute_logger("odoo.addons.sms_africastalking.tools.at_gateway",
                         "odoo.addons.sms_africastalking.models.sms_sms"):
            self.run_sms_queue()
        reason = "Africa's Talking could not be reached"
        # The contact's Sent SMS tab (and the Sent SMS log: the same rows).
        log = partner.with_user(self.user_marketing).africastalking_message_ids
        self.assertEqual(len(log), 1)
        self.assertNotEqual(log.state, "delivered")
        self.assertEqual(log.failure_reason, reason)
        # The chatter: the notification of the SMS, and the failure dialog that its red icon opens.
        notification = self.env["mail.notification"].search([("res_partner_id", "=", partner.id),
                                                            ("notification_type", "=", "sms")])
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(notification.failure_reason, reason)
        resend = self.env["sms.resend"].with_user(self.user_marketing).with_context(
            default_mail_message_id=notification.mail_message_id.id).create({})
        self.assertEqual(resend.recipient_ids.failure_reason, reason)
        # The author, whose composer closed before the queue sent it, is told at once (bus rows are written
        # when the transaction commits).
        self.env.cr.precommit.run()
        bus = self.env["bus.bus"].sudo().search([("channel", "like", '"res.partner",%d]' % (
            self.user_marketing.partner_id.id))])
        messages = [json.loads(row.message) for row in bus]
        failures = [m for m in messages if m["type"] == "simple_notification"]
        self.assertEqual(len(failures), 1)
        self.assertEqual(failures[0]["payload"]["type"], "danger")
        self.assertIn(reason, failures[0]["payload"]["message"])
        self.assertIn(partner.mobile, failures[0]["payload"]["message"])
