"""The base of every Odoo test: a real local Africa's Talking simulator and an account pointing at it.

Nothing of the addon is mocked: SMS leave through the real gateway adapter over real HTTP to the simulator, which
counts what it received ("exactly once" is asserted on its counters).
"""

from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command
from odoo.tests import HttpCase, TransactionCase
from odoo.tests.common import ChromeBrowser

from ..simulator.at_simulator import ATSimulator

SIM_USERNAME = "simulator"
SIM_API_KEY = "simulator-key"


class AfricasTalkingMixin:
    """Class-level simulator and account; per-test reset of the simulator's memory."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = ATSimulator(accounts={SIM_USERNAME: SIM_API_KEY}).start()
        cls.addClassCleanup(cls.simulator.stop)
        cls.env.company.country_id = cls.env.ref("base.ke")
        cls.env["africastalking.account"].search([]).active = False
        cls.account = cls.env["africastalking.account"].create({
            "name": "Test simulator",
            "environment": "custom",
            "api_url": cls.simulator.url,
            "username": SIM_USERNAME,
            "api_key": SIM_API_KEY,
            "sender_id": "ODOOTEST",
            "timeout": 5,
        })
        # Stored as a hash only: the tests keep the plain secret, as the administrator pastes it at AT.
        cls.callback_secret = cls.account._generate_callback_secret()
        cls.user_marketing = cls.env["res.users"].create({
            "name": "Marketing Mary",
            "login": "marketing_mary",
            "email": "mary@example.com",
            "groups_id": [Command.set([cls.env.ref("base.group_user").id,
                                       cls.env.ref("base.group_partner_manager").id,
                                       cls.env.ref("mass_mailing.group_mass_mailing_user").id])],
        })
        cls.partners = cls.env["res.partner"].create([
            {"name": "Partner %s" % index, "mobile": "+25471100000%s" % index, "country_id": cls.env.ref("base.ke").id}
            for index in range(3)
        ])
        cls.mailing_list = cls.env["mailing.list"].create({
            "name": "Students",
            "contact_ids": [Command.create({"name": "Student %s" % index, "mobile": "+25472200000%s" % index})
                            for index in range(4)],
        })

    def setUp(self):
        super().setUp()
        self.simulator.reset()

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def run_sms_queue(self):
        """What the SMS cron does when triggered: dispatch every queued SMS."""
        self.env["sms.sms"].sudo()._process_queue()

    def create_sms_mailing(self, body="Good day {{ object.name }}, exams start on Monday.", **values):
        return self.env["mailing.mailing"].with_user(self.user_marketing).create({
            "subject": "Exams",
            "mailing_type": "sms",
            "body_plaintext": body,
            "mailing_model_id": self.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.link(self.mailing_list.id)],
            **values,
        })

    def send_mailing(self, mailing):
        """Send as the mass-mailing cron does after "Send": prepare the SMS, then dispatch the queue."""
        mailing.action_put_in_queue()
        mailing.sudo().action_send_sms()
        self.run_sms_queue()

    def assertSentOnce(self, number, text=None):
        self.assertEqual(self.simulator.count(number, text), 1,
                         "%s should have received %r exactly once" % (number, text))

    def assertNothingSent(self):
        self.assertEqual(self.simulator.stats()["accepted"], 0, "nothing should have reached the phones")


class AfricasTalkingCase(AfricasTalkingMixin, TransactionCase):
    pass


class AfricasTalkingHttpCase(AfricasTalkingMixin, HttpCase):
    def setUp(self):
        super().setUp()
        self.simulator.set_callback_urls(
            delivery=self.base_url() + self.account._callback_path("delivery", self.callback_secret),
            inbound=self.base_url() + self.account._callback_path("inbound", self.callback_secret),
            optout=self.base_url() + self.account._callback_path("optout", self.callback_secret),
        )

    def deliver_reports(self, **kwargs):
        """Let the simulator post its pending delivery reports to Odoo's real webhook."""
        self.env.flush_all()
        statuses = self.simulator.deliver_pending(**kwargs)
        self.apply_queued_reports()
        return statuses

    def apply_queued_reports(self):
        """What the report cron, woken by the webhook, does: apply the queued reports."""
        self.env.invalidate_all()
        self.env["africastalking.delivery.report"].sudo()._cron_apply()
        self.env.invalidate_all()


class ExamBookedTemplateMixin:
    """An "Exam booked" SMS template of exams (``sms.event``) and the "Send SMS" server actions that use it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.template = cls.env["sms.template"].create({
            "name": "Exam booked", "model_id": cls.env["ir.model"]._get_id("sms.event"),
            "body": "You are booked for {{ object.name }}",
        })

    def create_sms_server_action(self, method, name="Exam booked"):
        return self.env["ir.actions.server"].create({
            "name": name, "model_id": self.env["ir.model"]._get_id("sms.event"),
            "state": "sms", "sms_template_id": self.template.id, "sms_method": method,
        })


@contextmanager
def screenshot_when_done(prefix):
    """Inside it, a browser_js or tour takes a screenshot once its code succeeded, before the browser closes
    (files under Odoo's screenshots folder, named ``prefix``...)."""
    original = ChromeBrowser._wait_code_ok

    def wait_then_shoot(browser, *args, **kwargs):
        result = original(browser, *args, **kwargs)
        browser.take_screenshot(prefix=prefix).result(timeout=20)
        return result

    with patch.object(ChromeBrowser, "_wait_code_ok", wait_then_shoot):
        yield
