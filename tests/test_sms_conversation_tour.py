"""The conversation flow in headless Chromium, as a marketing user: menu, read, reply, done."""
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestSmsConversationTour(AfricasTalkingHttpCase):

    def test_conversation_tour(self):
        self.env["sms.conversation"].search([]).write({"unread_count": 0})  # the demo's threads are read
        self.env.flush_all()
        self.assertEqual(self.simulator.send_inbound("+254711000001", "Is the school bus running?"), 200)
        self.user_marketing.password = "marketing_mary"  # start_tour logs in with the login as password
        self.start_tour("/web#action=mass_mailing_sms.mailing_mailing_action_sms",
                        "sms_africastalking_conversation_tour", login="marketing_mary")
        conversation = self.env["sms.conversation"].search([("number", "=", "+254711000001")])
        self.assertEqual((conversation.unread_count, conversation.state), (0, "done"))
        self.run_sms_queue()
        self.assertSentOnce("+254711000001", "Yes, from 7 am.")
