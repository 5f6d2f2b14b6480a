"""Per-network delivery: the network guessed by prefix at send time, named by AT's report, and the Delivery
analysis (sent, delivered, failed, median time to delivery, cost per network, mailing, campaign and period)."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase

NUMBERS = {  # number: (the network AT reports, its name)
    "+254711000101": ("63902", "Safaricom"),
    "+254733000102": ("63903", "Airtel"),
    "+254770000103": ("63907", "Telkom"),
    "+256772000104": ("64110", "MTN"),
    "+255754000105": ("64004", "Vodacom"),
}


@tagged("post_install", "-at_install")
class TestDeliveryNetwork(AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Every send is priced before it is queued (the spending gate): rates for the other countries of NUMBERS.
        for country, price in (("base.ug", 2.5), ("base.tz", 2.2)):
            cls.env["africastalking.rate"].create({"country_id": cls.env.ref(country).id, "price": price,
                                                   "currency": "KES"})

    def _mailing_to(self, numbers, **values):
        mailing_list = self.env["mailing.list"].create({
            "name": "Networks",
            "contact_ids": [Command.create({"name": "Contact %s" % number, "mobile": number}) for number in numbers],
        })
        return self.create_sms_mailing(contact_list_ids=[Command.set(mailing_list.ids)], **values)

    def _messages(self, mailing):
        return self.env["africastalking.message"].search([("mailing_id", "=", mailing.id)])

    def test_network_guessed_at_send_then_reported(self):
        self.simulator.add_delivery_rule("+254733000102", status="Failed", failure_reason="DeliveryFailure")
        campaign = self.env["utm.campaign"].create({"name": "Exam season"})
        mailing = self._mailing_to(list(NUMBERS), campaign_id=campaign.id)
        self.send_mailing(mailing)
        messages = self._messages(mailing)
        self.assertEqual(len(messages), 5)
        for message in messages:
            code, name = NUMBERS[message.number]
            self.assertFalse(message.network_code)
            self.assertIn(name, message.network_name)
            self.assertIn("guess", message.network_name)
        traces = mailing.mailing_trace_ids
        self.assertTrue(all("guess" in name for name in traces.mapped("at_network_name")))
        guessed = self.env["africastalking.delivery.analysis"].search([("mailing_id", "=", mailing.id)])
        self.assertEqual({(row.network_code, row.network_guessed) for row in guessed},
                         {(code, True) for code, _name in NUMBERS.values()}, "the view guesses by prefix in SQL")

        self.deliver_reports()
        messages.invalidate_recordset()
        traces.invalidate_recordset()
        for message in messages:
            code, name = NUMBERS[message.number]
            self.assertEqual(message.network_code, code, "the simulator reports the prefix's network")
            self.assertNotIn("guess", message.network_name)
        safaricom = traces.filtered(lambda t: t.sms_number == "+254711000101")
        self.assertEqual((safaricom.at_network_code, safaricom.at_network_name), ("63902", "Safaricom (KE)"))

        analysis = self.env["africastalking.delivery.analysis"]
        groups = analysis.read_group(
            [("mailing_id", "=", mailing.id)],
            ["sent_count:sum", "delivered_count:sum", "failed_count:sum", "cost:sum", "delivery_rate:avg"],
            ["network_name"], lazy=False)
        by_network = {group["network_name"]: group for group in groups}
        self.assertEqual(set(by_network), {"Safaricom", "Airtel", "Telkom", "MTN", "Vodacom"})
        self.assertEqual((by_network["Airtel"]["sent_count"], by_network["Airtel"]["failed_count"],
                          by_network["Airtel"]["delivery_rate"]), (1, 1, 0.0))
        self.assertEqual((by_network["Safaricom"]["delivered_count"], by_network["Safaricom"]["delivery_rate"]),
                         (1, 100.0))
        self.assertGreater(by_network["MTN"]["cost"], 0)
        rows = analysis.search([("mailing_id", "=", mailing.id)])
        self.assertFalse(any(rows.mapped("network_guessed")))
        self.assertEqual(rows.campaign_id, campaign)
        self.assertEqual(rows.user_id, self.user_marketing, "the mailing's responsible, to group a team's mailings")

    def test_median_time_to_delivery_per_network(self):
        mailing = self._mailing_to(["+254711000201", "+254711000202", "+254711000203", "+254733000204"])
        self.send_mailing(mailing)
        self.deliver_reports()
        messages = self._messages(mailing)
        self.assertEqual(set(messages.mapped("state")), {"delivered"})
        # Delivered after 1, 2 and 10 minutes on Safaricom (median 2, mean 4.3), 30 minutes on Airtel.
        sent = fields.Datetime.now() - timedelta(hours=1)
        minutes = {"+254711000201": 1, "+254711000202": 2, "+254711000203": 10, "+254733000204": 30}
        for message in messages:
            self.env.cr.execute("UPDATE africastalking_message SET send_date = %s, report_date = %s WHERE id = %s",
                                (sent, sent + timedelta(minutes=minutes[message.number]), message.id))
        groups = self.env["africastalking.delivery.analysis"].read_group(
            [("mailing_id", "=", mailing.id)], ["delivery_minutes"], ["network_name"], lazy=False)
        medians = {group["network_name"]: group["delivery_minutes"] for group in groups}
        self.assertAlmostEqual(medians["Safaricom"], 2.0, places=3)
        self.assertAlmostEqual(medians["Airtel"], 30.0, places=3)
        # The pivot asks with the field's aggregate ("delivery_minutes:median") and sorts on it.
        groups = self.env["africastalking.delivery.analysis"].read_group(
            [("mailing_id", "=", mailing.id)], ["delivery_minutes:median"], ["network_name"],
            orderby="delivery_minutes desc", lazy=False)
        self.assertEqual([group["network_name"] for group in groups], ["Airtel", "Safaricom"])

    def test_last_30_days_by_default_and_per_period(self):
        mailing = self._mailing_to(["+254711000301", "+254711000302"])
        self.send_mailing(mailing)
        messages = self._messages(mailing)
        self.env.cr.execute("UPDATE africastalking_message SET send_date = send_date - interval '40 days' "
                            "WHERE id = %s", (messages[0].id,))
        action = self.env.ref("sms_africastalking.africastalking_delivery_analysis_action")
        self.assertEqual(action.context, "{'search_default_filter_last_30_days': 1}")
        since = fields.Datetime.now() - timedelta(days=30)
        recent = self.env["africastalking.delivery.analysis"].search(
            [("mailing_id", "=", mailing.id), ("date", ">=", since)])
        self.assertEqual(len(recent), 1)
        by_month = self.env["africastalking.delivery.analysis"].read_group(
            [("mailing_id", "=", mailing.id)], ["message_count:sum"], ["date:month"], lazy=False)
        self.assertEqual(sum(group["message_count"] for group in by_month), 2)

    def test_access_marketing_user_reads_own_company_only(self):
        mailing = self._mailing_to(["+254711000401"])
        self.send_mailing(mailing)
        analysis = self.env["africastalking.delivery.analysis"]
        self.assertEqual(len(analysis.with_user(self.user_marketing).search([("mailing_id", "=", mailing.id)])), 1)
        other_company = self.env["res.company"].create({"name": "Other school"})
        self.env.cr.execute("UPDATE africastalking_message SET company_id = %s WHERE mailing_id = %s",
                            (other_company.id, mailing.id))
        self.assertFalse(analysis.with_user(self.user_marketing).search([("mailing_id", "=", mailing.id)]))
        internal = self.env["res.users"].create({
            "name": "Internal Ian", "login": "internal_ian_network",
            "groups_id": [Command.set([self.env.ref("base.group_user").id])]})
        with self.assertRaises(AccessError):
            analysis.with_user(internal).search([])
        portal = self.env["res.users"].create({
            "name": "Portal Pat", "login": "portal_pat_network",
            "groups_id": [Command.set([self.env.ref("base.group_portal").id])]})
        with self.assertRaises(AccessError):
            analysis.with_user(portal).read_group([], ["cost:sum"], ["network_name"])
