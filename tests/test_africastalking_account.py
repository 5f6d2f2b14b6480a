"""Account settings: endpoint checks, the request timeout, gateway errors in the user's language."""

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.africastalking_account import GATEWAY_ERROR_MESSAGES
from ..tools import at_gateway
from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestAfricasTalkingAccount(AfricasTalkingCase):

    def test_endpoint_checks_are_validation_errors(self):
        with self.assertRaisesRegex(ValidationError, "API URL"):
            self.env["africastalking.account"].create({"name": "No URL", "environment": "custom", "username": "x"})
        with self.assertRaisesRegex(ValidationError, "username 'sandbox'"):
            self.env["africastalking.account"].create({"name": "Sandbox", "environment": "sandbox",
                                                       "username": "myapp"})

    def test_default_timeout_fits_a_dispatch_batch(self):
        account = self.env["africastalking.account"].create({"name": "New", "username": "myapp"})
        self.assertEqual(account.timeout, 15)

    def test_gateway_error_messages_are_translatable_copies(self):
        kinds = {value for name, value in vars(at_gateway).items() if name.startswith("GATEWAY_")}
        self.assertEqual(set(GATEWAY_ERROR_MESSAGES), kinds, "every kind of gateway error has a translatable text")

    @mute_logger("odoo.addons.sms_africastalking.simulator.at_simulator")
    def test_balance_errors_in_the_users_language(self):
        self.env["res.lang"]._activate_lang("sw")
        self.env["ir.module.module"]._load_module_terms(["sms_africastalking"], ["sw"], overwrite=True)
        account = self.account.with_context(lang="sw")
        self.assertEqual(account.env.lang, "sw")
        self.assertIn("imekataa", account._gateway_error_message(
            at_gateway.GatewayError("x", at_gateway.GATEWAY_AUTHENTICATION)))
        self.simulator.inject_fault("http_401", endpoint="user")
        with self.assertRaisesRegex(UserError, "imekataa jina la mtumiaji au ufunguo wa API"):
            self.account.with_context(lang="sw").action_check_balance()
        self.simulator.inject_fault("http_401", endpoint="user")
        with self.assertRaisesRegex(UserError, "refused the username or API key"):
            self.account.with_context(lang="en_US").action_check_balance()


@tagged("post_install", "-at_install")
class TestCronData(AfricasTalkingCase):

    def test_crons_installed_with_their_intervals(self):
        queue = self.env.ref("sms.ir_cron_sms_scheduler_action")
        self.assertEqual((queue.interval_number, queue.interval_type), (5, "minutes"), "our override of stock")
        reports = self.env.ref("sms_africastalking.ir_cron_africastalking_apply_delivery_reports")
        self.assertEqual((reports.interval_number, reports.interval_type), (1, "minutes"))
        for xmlid in ("sms_africastalking.ir_cron_africastalking_apply_delivery_reports",
                      "sms_africastalking.ir_cron_sms_alert"):
            module, name = xmlid.split(".")
            data = self.env["ir.model.data"].search([("module", "=", module), ("name", "=", name)])
            self.assertTrue(data.noupdate, "an administrator's changes to %s survive updates" % xmlid)


@tagged("post_install", "-at_install")
class TestSettingsAccountCount(AfricasTalkingCase):

    def test_settings_form_counts_active_accounts(self):
        """Settings › SMS opens with the count of the company's active accounts (it said 0 with one active)."""
        Settings = self.env["res.config.settings"]
        fields = Settings.get_views([(False, "form")])["models"][Settings._name]
        spec = {name: {} for name in fields if Settings._fields[name].type not in ("one2many", "many2many")}
        self.assertIn("africastalking_account_count", spec)
        # What the web client asks when the form opens: onchange on a new record with the form's fields.
        values = Settings.onchange({}, [], spec)["value"]
        self.assertEqual(values["africastalking_account_count"], 1)
        self.account.copy({"name": "Second"})
        self.env["africastalking.account"].create({
            "name": "Archived", "environment": "sandbox", "username": "sandbox", "api_key": "k", "active": False})
        self.assertEqual(Settings.onchange({}, [], spec)["value"]["africastalking_account_count"], 2)
