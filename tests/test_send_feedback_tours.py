"""The live feedback flows in headless Chromium: keystroke counter and cost, mailing estimate and Send
confirmation, broadcast confirmation."""
from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestLiveFeedbackTours(AfricasTalkingHttpCase):

    def test_live_composer_tour(self):
        self.start_tour("/web#model=res.partner&view_type=form&id=%s" % self.partners[0].id,
                        "sms_africastalking_live_composer_tour", login="admin")
        self.assertNothingSent()

    def test_live_mailing_tour(self):
        mailing = self.create_sms_mailing(body="Live tour", subject="Live tour mailing")
        self.start_tour("/web#model=mailing.mailing&view_type=form&id=%s" % mailing.id,
                        "sms_africastalking_live_mailing_tour", login="admin")
        self.assertEqual(mailing.state, "in_queue")
        self.assertEqual(mailing.body_plaintext, "Live tour " + "z" * 160)
        self.assertAlmostEqual(mailing.sms_estimate_cost, 6.4)

    def test_broadcast_tour(self):
        self.env["mailing.list"].create({
            "name": "Rain Club",
            "contact_ids": [Command.create({"name": "R%s" % index, "mobile": "+25472500000%s" % index})
                            for index in range(4)],
        })
        self.start_tour("/web#action=sms_africastalking.sms_broadcast_action", "sms_africastalking_broadcast_tour",
                        login="admin")
        mailing = self.env["mailing.mailing"].search([("subject", "=", "Campus closed")])
        self.assertEqual(mailing.state, "in_queue")
        self.assertEqual(mailing.sms_estimate_recipients, 4)
