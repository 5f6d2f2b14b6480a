"""The Delivery dashboard in a browser: menu, default period, networks, median, graph and list."""

from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestDeliveryDashboardTour(AfricasTalkingHttpCase):

    def test_delivery_dashboard_tour(self):
        mailing_list = self.env["mailing.list"].create({
            "name": "Parents",
            "contact_ids": [Command.create({"name": "Parent %s" % index, "mobile": number})
                            for index, number in enumerate(["+254711000901", "+254733000902"])],
        })
        mailing = self.create_sms_mailing(contact_list_ids=[Command.set(mailing_list.ids)])
        self.send_mailing(mailing)
        self.deliver_reports()
        self.assertEqual(set(self.env["africastalking.message"].search(
            [("mailing_id", "=", mailing.id)]).mapped("network_code")), {"63902", "63903"})
        self.start_tour("/web", "sms_africastalking_delivery_dashboard_tour", login="admin")
