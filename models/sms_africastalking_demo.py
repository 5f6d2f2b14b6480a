from odoo import api, fields, models

from ..tools.at_callbacks import InboundMessage

# (contact xmlid, delivered?, AT failure reason): the demo's sent mailing, as its delivery reports left it.
DEMO_SENT = [
    ("mailing_contact_demo_amina", True, False),
    ("mailing_contact_demo_brian", True, False),
    ("mailing_contact_demo_chebet", False, "AbsentSubscriber"),
    ("mailing_contact_demo_faith", True, False),
    ("mailing_contact_demo_kevin", False, "DeliveryFailure"),
]


class SmsAfricasTalkingDemo(models.AbstractModel):
    """What the demo data cannot say in XML: history that normally comes from Africa's Talking."""

    _name = "sms.africastalking.demo"
    _description = "Africa's Talking SMS demo data"

    @api.model
    def _quiet_partner_autocomplete(self):
        """Stock's partner_autocomplete enriches the company on the first page load, over the internet (a long
        traceback without it). Its own flag says the enrichment was done, which it honours."""
        if "iap_enrich_auto_done" in self.env["res.company"]._fields:
            self.env.ref("base.main_company").iap_enrich_auto_done = True

    @api.model
    def _load_sent_mailing(self):
        """The sent mailing's traces and Sent SMS log, delivered and failed, with Africa's Talking's costs."""
        mailing = self.env.ref("sms_africastalking.mailing_mailing_demo_sent")
        account = self.env.ref("sms_africastalking.africastalking_account_demo_simulator")
        now = fields.Datetime.now()
        for index, (xmlid, delivered, reason) in enumerate(DEMO_SENT, start=1):
            contact = self.env.ref("sms_africastalking." + xmlid)
            body = mailing.body_plaintext.replace("{{ object.name }}", contact.name)
            at_id = "ATXid_demo_%s" % index
            self.env["mailing.trace"].create({
                "trace_type": "sms", "mass_mailing_id": mailing.id, "model": "mailing.contact",
                "res_id": contact.id, "sms_number": contact.phone_sanitized, "sent_datetime": now,
                "trace_status": "sent" if delivered else "error",
                "failure_type": False if delivered else "sms_server",
                "at_message_id": at_id, "at_status": "Success" if delivered else "Failed",
                "at_cost": 0.8, "at_currency": "KES", "at_parts": 1, "at_network_code": "63902",
            })
            self.env["africastalking.message"].create({
                "account_id": account.id, "company_id": account.company_id.id, "number": contact.phone_sanitized,
                "body": body, "mailing_id": mailing.id, "at_message_id": at_id, "status_code": 101,
                "state": "delivered" if delivered else "failed", "at_status": "Success" if delivered else "Failed",
                "failure_reason": reason, "cost": 0.8, "currency": "KES", "parts": 1, "network_code": "63902",
                "report_date": now, "origin": "mailing",
            })
        mailing.write({"state": "done", "sent_date": now})

    @api.model
    def _load_inbound_conversation(self):
        """A guardian asks about the exam by SMS: logged, matched to the contact and posted on its chatter."""
        account = self.env.ref("sms_africastalking.africastalking_account_demo_simulator")
        self.env["africastalking.inbound"]._process_inbound_message(account, InboundMessage(
            message_id="demo-inbound-1", from_number="+254798200201", to="20880",
            text="Habari, is the MAT 101 exam still in Hall A on Monday? - Mama Wanjiru",
            network_code="63902"))

    @api.model
    def _load_poll_votes(self):
        """Answers to the fees reminder's poll, through the real inbound processing (votes counted from the
        delivered recipients)."""
        account = self.env.ref("sms_africastalking.africastalking_account_demo_simulator")
        for index, (xmlid, answer) in enumerate([("mailing_contact_demo_amina", "1"),
                                                 ("mailing_contact_demo_brian", "1"),
                                                 ("mailing_contact_demo_faith", "2")], start=1):
            contact = self.env.ref("sms_africastalking." + xmlid)
            self.env["africastalking.inbound"]._process_inbound_message(account, InboundMessage(
                message_id="demo-poll-%s" % index, from_number=contact.phone_sanitized, to="20880", text=answer,
                network_code="63902"))
