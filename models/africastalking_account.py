import logging
import os
import secrets
from urllib.parse import urlsplit

from werkzeug.urls import url_join

from odoo import SUPERUSER_ID, _, _lt, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import config

from ..tools import at_gateway
from ..tools.at_gateway import PRODUCTION_URL, SANDBOX_URL, SANDBOX_USERNAME, AfricasTalkingGateway, GatewayError
from ..tools.client_actions import notification
from ..tools.secret_box import SecretBox, SecretKeyMissing, SecretUnusable

_logger = logging.getLogger(__name__)

# Where an AT account is topped up and its keys and callback URLs are managed (AT has no top-up API).
AT_DASHBOARD_URL = "https://account.africastalking.com"

CALLBACK_ROUTE = "/sms_africastalking/%s/%s/%s"  # account id, secret, kind
# Hosts of the bundled simulator: its phone page is offered only for an account pointing at this machine.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SIMULATOR_PHONES_PATH = "/phones"

# The gateway's messages (plain English in tools/) as translatable texts, by GatewayError.kind.
GATEWAY_ERROR_MESSAGES = {
    at_gateway.GATEWAY_TIMEOUT: _lt("Africa's Talking did not answer in time. Try again in a moment."),
    at_gateway.GATEWAY_UNREACHABLE: _lt(
        "Africa's Talking could not be reached. Check the server's internet access and the account's environment."),
    at_gateway.GATEWAY_AUTHENTICATION: _lt(
        "Africa's Talking refused the username or API key. Check them in the account (a new key can take a few "
        "minutes to work)."),
    at_gateway.GATEWAY_ERROR: _lt("Africa's Talking answered with an error. Try again later."),
    at_gateway.GATEWAY_NO_BALANCE: _lt("Africa's Talking answered without a balance."),
}


# The server key: an environment variable or an option of the Odoo configuration file, never the database.
SERVER_KEY_ENV = "SMS_AFRICASTALKING_KEY"
SERVER_KEY_OPTION = "sms_africastalking_key"
# Only an administrator (or code running as the system user: install, crons, shell) may change these.
CREDENTIAL_FIELDS = frozenset({"api_key", "api_key_encrypted", "callback_secret_hash", "username", "api_url",
                               "environment", "company_id"})
# What an API key is encrypted together with: change one, and the key must be entered again by an administrator.
BINDING_FIELDS = ("environment", "api_url", "username")


def _new_callback_secret():
    return secrets.token_urlsafe(32)


# The functions below are module functions on purpose, not methods: a template expression
# ({{ object.env['africastalking.account'].sudo()... }}) can call any method of a record, private ones included
# (Odoo's safe_eval only forbids names with a double underscore), but cannot reach a module's functions.

def _secret_box():
    """The SecretBox of the server key; SecretKeyMissing when none is configured."""
    return SecretBox(os.environ.get(SERVER_KEY_ENV) or config.get(SERVER_KEY_OPTION))


def _binding(account):
    """What the API key of ``account`` is bound to (see tools/secret_box.py)."""
    return _binding_values(account.id, account.environment, account.api_url, account.username)


def _binding_values(account_id, environment, api_url, username):
    return [str(account_id), environment or "", (api_url or "").strip() if environment == "custom" else "",
            username or ""]


def _decrypt_api_key(account):
    """The plain API key of ``account``: raises SecretKeyMissing / SecretUnusable, or ValueError when none is set."""
    account = account.sudo()
    token = account.api_key_encrypted
    if not token:
        raise ValueError("no API key")
    return _secret_box().decrypt(token, _binding(account))


def open_gateway(account):
    """A gateway for ``account`` (the caller closes it: it holds a connection pool); UserError when its API key
    cannot be used. The only place, with _fetch_balance's call to it, where a plain API key exists."""
    account.ensure_one()
    try:
        api_key = _decrypt_api_key(account)
    except (SecretKeyMissing, SecretUnusable, ValueError) as error:
        raise UserError(account._credential_error_message(error)) from None
    account = account.sudo()
    return AfricasTalkingGateway(
        account.username,
        api_key,
        base_url=account._base_url(),
        sender_id=account._africastalking_sender_id(),
        timeout=account.timeout,
        max_recipients=account.max_recipients,
        concurrency=account.concurrency,
    )


def _is_local_url(url):
    """Whether ``url`` is an http(s) URL on this machine, where ``make run`` starts the simulator."""
    if not url:
        return False
    try:
        parsed = urlsplit(url.strip())
        host = parsed.hostname  # lower case, without the brackets of an IPv6 address
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and host in LOCAL_HOSTS


class AfricasTalkingAccount(models.Model):
    """The credentials and settings of one Africa's Talking application, per company."""

    _name = "africastalking.account"
    _description = "Africa's Talking Account"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10, help="The first active account of a company sends its SMS.")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    environment = fields.Selection(
        [("production", "Production"), ("sandbox", "Sandbox"), ("custom", "Custom URL (local simulator)")],
        required=True,
        default="production",
        help="Sandbox messages never reach real phones; the custom URL points at a test server such as the "
        "local Africa's Talking simulator.",
    )
    api_url = fields.Char(
        "API URL", help="Base URL of an Africa's Talking compatible API, e.g. http://127.0.0.1:8071"
    )
    username = fields.Char(required=True, help="The application's username; always 'sandbox' in the sandbox.")
    # Write-only: what is typed is encrypted into api_key_encrypted and reads back empty, for administrators too.
    api_key = fields.Char(
        "API Key", compute="_compute_api_key", inverse="_inverse_api_key", groups="base.group_system", copy=False,
        help="Stored encrypted with the server's key (see README). Leave empty to keep the current key.",
    )
    api_key_encrypted = fields.Char(groups="base.group_system", copy=False, readonly=True, prefetch=False)
    api_key_set = fields.Boolean("API Key Stored", compute="_compute_api_key", groups="base.group_system")
    sender_id = fields.Char(
        "Sender ID", help="Registered alphanumeric sender ID or short code. Empty: Africa's Talking's default."
    )
    # Only a keyed hash: the secret itself (part of the callback URLs) is shown once, when generated.
    callback_secret_hash = fields.Char(groups="base.group_system", copy=False, readonly=True, prefetch=False)
    callback_secret_set = fields.Boolean("Callback URLs Generated", compute="_compute_callback_secret_set")
    # 15 s: a claimed dispatch batch (2,000 personalised texts, 64 at once) ends in ~8 minutes even if every request
    # times out (2000 / 64 * 15 s), under the age at which a claim counts as stale (sms_sms.STALE_CLAIM_MINUTES).
    timeout = fields.Integer("Timeout (s)", default=15, help="How long to wait for an answer to one request.")
    max_recipients = fields.Integer(
        "Recipients per Request", default=500,
        help="Recipients of one text sent in one request; Africa's Talking documents no maximum.",
    )
    concurrency = fields.Integer(
        "Parallel Requests", default=64, help="Personalised texts need one request each; this many run at once."
    )
    balance = fields.Char(readonly=True, copy=False)
    balance_amount = fields.Float(readonly=True, copy=False)
    balance_currency = fields.Char(readonly=True, copy=False)
    balance_date = fields.Datetime("Balance Checked On", readonly=True, copy=False)
    is_simulator = fields.Boolean(
        "Uses the Local Simulator", compute="_compute_simulator_url",
        help="The account points at an Africa's Talking simulator on this machine (custom URL on localhost).",
    )
    simulator_url = fields.Char("Phone Simulator", compute="_compute_simulator_url")

    _sql_constraints = [
        ("timeout_positive", "CHECK(timeout > 0)", "The timeout must be positive."),
        ("max_recipients_positive", "CHECK(max_recipients > 0)", "Recipients per request must be positive."),
        ("concurrency_positive", "CHECK(concurrency > 0)", "Parallel requests must be positive."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        if any(CREDENTIAL_FIELDS.intersection(vals) for vals in vals_list):
            self._check_credential_access()
        accounts = super().create(vals_list)
        if self.env["ir.config_parameter"].sudo().get_param("database.is_neutralized"):
            # A neutralized copy never sends: an account added there (a pasted production key) starts archived;
            # an administrator who really wants it unarchives it.
            accounts.active = False
        return accounts

    def write(self, vals):
        if CREDENTIAL_FIELDS.intersection(vals):
            self._check_credential_access()
        rebind = {}
        if "api_key" not in vals and any(name in vals for name in BINDING_FIELDS):
            # An administrator changed the endpoint: the stored key follows it (encrypted for the new binding).
            for account in self:
                try:
                    rebind[account] = _decrypt_api_key(account)
                except (SecretKeyMissing, SecretUnusable, ValueError):
                    continue
        result = super().write(vals)
        for account, api_key in rebind.items():
            account._store_api_key(api_key)
        return result

    def unlink(self):
        self._check_credential_access()
        self.env["africastalking.message"].sudo()._forget_deleted("account_id", self.ids)
        return super().unlink()

    def _check_credential_access(self):
        """Credentials are an administrator's: checked on the real user, so ``sudo()`` (for example in a mailing's
        template expression run by a marketing user) does not lift it. Code running as the system user (install,
        upgrade, crons, shell) passes; the mass-mailing cron renders bodies as their author, not as the system."""
        if self.env.uid == SUPERUSER_ID or self.env.user._is_system():
            return
        raise AccessError(_("Only administrators may change the credentials of an Africa's Talking account."))

    @api.depends("api_key_encrypted")
    def _compute_api_key(self):
        for account in self:
            account.api_key = False
            account.api_key_set = bool(account.sudo().api_key_encrypted)

    def _inverse_api_key(self):
        for account in self:
            if account.api_key:  # empty: the administrator left the field alone
                account._store_api_key(account.api_key.strip())

    def _store_api_key(self, api_key):
        self.ensure_one()
        self._check_credential_access()
        try:
            token = _secret_box().encrypt(api_key, _binding(self.sudo()))
        except SecretKeyMissing as error:
            raise UserError(self._credential_error_message(error)) from None
        self.sudo().api_key_encrypted = token

    @api.depends("callback_secret_hash")
    def _compute_callback_secret_set(self):
        for account in self:
            account.callback_secret_set = bool(account.sudo().callback_secret_hash)

    def _credential_error_message(self, error):
        if isinstance(error, SecretKeyMissing):
            return _("No encryption key is configured for Africa's Talking credentials: set the environment "
                     "variable %(env)s or the option %(option)s of the Odoo configuration file to a random string of "
                     "at least 32 characters, restart Odoo, then enter the API key again.",
                     env=SERVER_KEY_ENV, option=SERVER_KEY_OPTION)
        if isinstance(error, SecretUnusable):
            return _("The API key of %s cannot be used: it was stored under another encryption key, or the "
                     "account's endpoint was changed outside its form. An administrator must enter the API key "
                     "again.", self.name)
        return _("No API key is set on the Africa's Talking account %s.", self.name)

    @api.depends("environment", "api_url")
    def _compute_simulator_url(self):
        for account in self:
            is_local = account.environment == "custom" and _is_local_url(account.api_url)
            account.is_simulator = is_local
            account.simulator_url = url_join(account.api_url, SIMULATOR_PHONES_PATH) if is_local else False

    def _callback_path(self, kind, secret):
        """The path of a callback route for the plain ``secret`` (which the caller knows: it is never stored)."""
        self.ensure_one()
        return CALLBACK_ROUTE % (self.id, secret, kind)

    def _callback_urls(self, secret):
        """``{kind: URL}`` of the callback routes, for the plain ``secret``."""
        self.ensure_one()
        base_url = self.get_base_url()
        return {kind: url_join(base_url, self._callback_path(kind, secret))
                for kind in ("delivery", "inbound", "optout", "subscription")}

    @api.constrains("environment", "api_url", "username")
    def _check_endpoint(self):
        for account in self:
            if account.environment == "custom" and not account.api_url:
                raise ValidationError(_("Enter the API URL of the custom endpoint."))
            if account.environment == "sandbox" and account.username != SANDBOX_USERNAME:
                raise ValidationError(_("The sandbox only accepts the username 'sandbox'."))

    @api.onchange("environment")
    def _onchange_environment(self):
        if self.environment == "sandbox":
            self.username = SANDBOX_USERNAME

    # ------------------------------------------------------------------
    # Secrets and gateway
    # ------------------------------------------------------------------

    @api.model
    def _authenticate_callback(self, account_id, secret):
        """The account whose callback secret is ``secret``, or an empty recordset.

        Called before any access right applies (public callbacks): the stored hash is read with plain SQL and
        compared in constant time with the hash of ``secret``, so no ``sudo()`` happens before the caller is known.
        """
        self.flush_model(["callback_secret_hash", "active"])
        self.env.cr.execute(
            "SELECT callback_secret_hash FROM africastalking_account WHERE id = %s AND active", (account_id,)
        )
        row = self.env.cr.fetchone()
        if not row or not row[0] or not secret:
            return self.browse()
        try:
            box = _secret_box()
        except SecretKeyMissing:
            _logger.error("Africa's Talking callback refused: no encryption key is configured (%s)", SERVER_KEY_ENV)
            return self.browse()
        return self.browse(account_id) if box.secret_matches(secret, row[0]) else self.browse()

    def _generate_callback_secret(self):
        """Store the hash of a new callback secret and return the secret: the only time it exists in clear.

        Administrators only (checked on the real user, see _check_credential_access): a template expression
        calling this would otherwise get a working secret and break the URLs pasted at Africa's Talking.
        """
        self.ensure_one()
        self._check_credential_access()
        secret = _new_callback_secret()
        try:
            secret_hash = _secret_box().hash_secret(secret)
        except SecretKeyMissing as error:
            raise UserError(self._credential_error_message(error)) from None
        self.sudo().callback_secret_hash = secret_hash
        return secret

    def action_regenerate_callback_secret(self):
        """New callback URLs, shown once in a notification to paste into the Africa's Talking dashboard."""
        self.ensure_one()
        self.check_access_rights("write")
        self.check_access_rule("write")
        urls = self._callback_urls(self._generate_callback_secret())
        message = _("New callback URLs of %(account)s, shown only now: paste them into the Africa's Talking "
                    "dashboard (the previous ones no longer work).\nDelivery reports: %(delivery)s\n"
                    "Incoming messages: %(inbound)s\nBulk SMS opt-out: %(optout)s\n"
                    "Subscription notifications (premium): %(subscription)s",
                    account=self.name, **urls)
        action = self._notify(message, "warning")
        action["params"].update(sticky=True, title=_("Callback URLs"))
        return action

    def _base_url(self):
        self.ensure_one()
        if self.environment == "custom":
            return self.api_url
        return SANDBOX_URL if self.environment == "sandbox" else PRODUCTION_URL

    def _fetch_balance(self):
        """Ask AT for the balance, store it and return ``(currency, amount)``; raise UserError on failure.

        Internal: the public buttons check the caller's rights before calling it."""
        self.ensure_one()
        with open_gateway(self) as gateway:
            try:
                currency, amount = gateway.fetch_balance()
            except GatewayError as exc:
                raise UserError(self._gateway_error_message(exc)) from None
        self.sudo().write({
            "balance": "%s %s" % (currency or "", amount),
            "balance_amount": float(amount),
            "balance_currency": currency,
            "balance_date": fields.Datetime.now(),
        })
        return currency, amount

    def _gateway_error_message(self, error):
        """The user's-language text of a GatewayError (its English text when its kind is not listed)."""
        translated = GATEWAY_ERROR_MESSAGES.get(getattr(error, "kind", None))
        # str() here, in a method: the lazy text takes its language from this frame's ``self.env``.
        return str(translated) if translated is not None else str(error)

    def _check_balance_access(self):
        """Balance: SMS Marketing users and administrators, on an account of one of their companies."""
        user = self.env.user
        if not (user.has_group("mass_mailing.group_mass_mailing_user") or user._is_system()):
            raise AccessError(_("Only SMS Marketing users and administrators may check the Africa's Talking balance."))
        self.check_access_rights("read")
        self.check_access_rule("read")

    def action_open_simulator(self):
        """The simulator's phone page, in a new tab: watch the phones receive, reply STOP, choose delivery fates."""
        self.ensure_one()
        self.check_access_rights("read")
        self.check_access_rule("read")
        if not self.is_simulator:
            raise UserError(_("This account does not point at the local Africa's Talking simulator."))
        return {"type": "ir.actions.act_url", "url": self.simulator_url, "target": "new"}

    def action_check_balance(self):
        self.ensure_one()
        self._check_balance_access()
        currency, amount = self._fetch_balance()
        balance = self.env["africastalking.rate"]._format_cost(float(amount), currency)
        return self._notify(_("Balance of %(account)s: %(balance)s", account=self.name, balance=balance), "success")

    def action_test_connection(self):
        """Administrators only: it is the button of the account's settings form."""
        self.ensure_one()
        self._check_credential_access()
        self.check_access_rule("read")
        self._fetch_balance()
        return self._notify(_("Connected to Africa's Talking as %s.", self.username), "success")

    @staticmethod
    def _notify(message, kind):
        return notification(message, kind, next_action={"type": "ir.actions.client", "tag": "soft_reload"})

    # ------------------------------------------------------------------
    # AT's money in AT's words
    # ------------------------------------------------------------------

    @api.model
    def _top_up_action(self, company=None):
        """Where stock's "Buy credits" / "Set up an account" lead instead: this company's AT account, never Odoo IAP.

        Administrators get the account form (balance, Check Balance, the AT dashboard where AT is topped up); other
        users a notice saying what to ask an administrator, with the last balance Odoo knows.
        """
        company = company or self.env.company
        account = company._get_africastalking_account()
        if self.env.is_system():
            action = self.env["ir.actions.act_window"]._for_xml_id("sms_africastalking.africastalking_account_action")
            if account:
                action.update({"res_id": account.id, "view_mode": "form", "views": [(False, "form")]})
            return action
        if not account:
            return self._notify(_("No Africa's Talking account sends the SMS of %s: ask an administrator to add one "
                                  "(Settings › SMS).", company.name), "warning")
        return self._notify(_("Africa's Talking balance of %(account)s: %(balance)s (checked %(date)s). Ask an "
                              "administrator to top it up in the Africa's Talking dashboard (%(url)s).",
                              account=account.name, balance=account.sudo().balance or _("unknown"),
                              date=account.sudo().balance_date or _("never"), url=AT_DASHBOARD_URL), "warning")
