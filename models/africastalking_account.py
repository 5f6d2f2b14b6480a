import hmac
import secrets
from urllib.parse import urlsplit

from werkzeug.urls import url_join

from odoo import _, _lt, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools import at_gateway
from ..tools.at_gateway import PRODUCTION_URL, SANDBOX_URL, SANDBOX_USERNAME, AfricasTalkingGateway, GatewayError

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


def _new_callback_secret():
    return secrets.token_urlsafe(32)


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
    api_key = fields.Char("API Key", groups="base.group_system", copy=False)
    sender_id = fields.Char(
        "Sender ID", help="Registered alphanumeric sender ID or short code. Empty: Africa's Talking's default."
    )
    callback_secret = fields.Char(
        groups="base.group_system", copy=False, readonly=True, default=lambda self: _new_callback_secret(),
        help="Part of the callback URLs; whoever knows it can post reports for this account.",
    )
    delivery_report_url = fields.Char(compute="_compute_callback_urls", groups="base.group_system")
    inbound_url = fields.Char("Incoming Messages URL", compute="_compute_callback_urls", groups="base.group_system")
    optout_url = fields.Char("Bulk SMS Opt-out URL", compute="_compute_callback_urls", groups="base.group_system")
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
        accounts = super().create(vals_list)
        if self.env["ir.config_parameter"].sudo().get_param("database.is_neutralized"):
            # A neutralized copy never sends: an account added there (a pasted production key) starts archived;
            # an administrator who really wants it unarchives it.
            accounts.active = False
        return accounts

    @api.depends("callback_secret")
    def _compute_callback_urls(self):
        for account in self:
            if not account.id or not account.callback_secret:
                account.delivery_report_url = account.inbound_url = account.optout_url = False
                continue
            base_url = account.get_base_url()
            account.delivery_report_url = url_join(base_url, account._callback_path("delivery"))
            account.inbound_url = url_join(base_url, account._callback_path("inbound"))
            account.optout_url = url_join(base_url, account._callback_path("optout"))

    @api.depends("environment", "api_url")
    def _compute_simulator_url(self):
        for account in self:
            is_local = account.environment == "custom" and _is_local_url(account.api_url)
            account.is_simulator = is_local
            account.simulator_url = url_join(account.api_url, SIMULATOR_PHONES_PATH) if is_local else False

    def _callback_path(self, kind):
        return CALLBACK_ROUTE % (self.id, self.sudo().callback_secret, kind)

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

        Called before any access right applies (public callbacks): the secret is read with plain SQL and
        compared in constant time, so no ``sudo()`` happens before the caller is known.
        """
        self.env.cr.execute(
            "SELECT callback_secret FROM africastalking_account WHERE id = %s AND active", (account_id,)
        )
        row = self.env.cr.fetchone()
        if not row or not row[0] or not secret or not hmac.compare_digest(row[0].encode(), secret.encode()):
            return self.browse()
        return self.browse(account_id)

    def action_regenerate_callback_secret(self):
        self.ensure_one()
        # Under the caller's rights: only administrators may write the secret (a public method is callable by RPC).
        self.callback_secret = _new_callback_secret()

    def _base_url(self):
        self.ensure_one()
        if self.environment == "custom":
            return self.api_url
        return SANDBOX_URL if self.environment == "sandbox" else PRODUCTION_URL

    def _get_gateway(self):
        """A gateway for this account; the caller closes it (it holds a connection pool)."""
        self.ensure_one()
        account = self.sudo()
        return AfricasTalkingGateway(
            account.username,
            account.api_key or "",
            base_url=account._base_url(),
            sender_id=account.sender_id,
            timeout=account.timeout,
            max_recipients=account.max_recipients,
            concurrency=account.concurrency,
        )

    def _fetch_balance(self):
        """Ask AT for the balance, store it and return ``(currency, amount)``; raise UserError on failure."""
        self.ensure_one()
        with self._get_gateway() as gateway:
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

    def action_open_simulator(self):
        """The simulator's phone page, in a new tab: watch the phones receive, reply STOP, choose delivery fates."""
        self.ensure_one()
        if not self.is_simulator:
            raise UserError(_("This account does not point at the local Africa's Talking simulator."))
        return {"type": "ir.actions.act_url", "url": self.simulator_url, "target": "new"}

    def action_check_balance(self):
        self.ensure_one()
        currency, amount = self._fetch_balance()
        return self._notify(_("Balance of %(account)s: %(currency)s %(amount)s",
                              account=self.name, currency=currency or "", amount=amount), "success")

    def action_test_connection(self):
        self.ensure_one()
        self._fetch_balance()
        return self._notify(_("Connected to Africa's Talking as %s.", self.username), "success")

    @staticmethod
    def _notify(message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": kind, "sticky": False,
                       "next": {"type": "ir.actions.client", "tag": "soft_reload"}},
        }

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
