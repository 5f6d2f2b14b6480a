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

    @mute_logger("odoo.addons.sms_africastalking.tools.at_simulator")
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
