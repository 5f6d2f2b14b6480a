import logging
import re
import threading
import time

from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge

from odoo import _, http
from odoo.addons.mass_mailing_sms.controllers.main import MailingSMSController
from odoo.http import request

from ..tools.at_callbacks import CallbackError, parse_delivery_report, parse_inbound_message, parse_opt_out
from ..tools.phone import normalize_number

_logger = logging.getLogger(__name__)

# AT posts a handful of short form fields; anything larger is not AT. Enforced on the raw stream before the form is
# parsed (models/ir_http.py), so a chunked or many-field body costs at most this much.
MAX_CALLBACK_BYTES = 16 * 1024
# The secret segment of a callback URL (/sms_africastalking/<account id>/<secret>/<kind>).
CALLBACK_SECRET_RE = re.compile(r"(/sms_africastalking/[^/\s]*/)[^/\s?#\"]+")


class CallbackSecretFilter(logging.Filter):
    """Masks the secret of callback URLs in werkzeug's request log ("POST /sms_africastalking/3/<secret>/delivery"):
    AT posts thousands of callbacks, and each line would otherwise put a working secret in Odoo's log."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        if "/sms_africastalking/" in message:
            record.msg, record.args = CALLBACK_SECRET_RE.sub(r"\1***", message), ()
        return True


def _install_log_filter():
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(existing, CallbackSecretFilter) for existing in logger.filters):
        logger.addFilter(CallbackSecretFilter())


_install_log_filter()
# Refusals (wrong secret, malformed body) are logged at most once per interval and kind, with the count of those
# not logged: a client hammering the routes must not flood the log.
REFUSAL_LOG_INTERVAL_SECONDS = 60


class _RefusalLog:
    """Rate-limited logging of refused callbacks, shared by the threads of one process."""

    def __init__(self, interval):
        self.interval = interval
        self.lock = threading.Lock()
        self.state = {}  # kind: (last logged at, refusals not logged since)

    def log(self, level, kind, message, *args):
        now = time.monotonic()
        with self.lock:
            last, suppressed = self.state.get(kind, (None, 0))
            if last is not None and now - last < self.interval:
                self.state[kind] = (last, suppressed + 1)
                return
            self.state[kind] = (now, 0)
        if suppressed:
            message += " (%s similar refusals not logged in the last %s s)"
            args = (*args, suppressed, self.interval)
        _logger.log(level, message, *args)


_refusals = _RefusalLog(REFUSAL_LOG_INTERVAL_SECONDS)

# Old 3-character unsubscribe codes (still honoured for LEGACY_LINK_DAYS) can be enumerated: each client address
# gets at most this many lookups of such codes per window (per server process). A person following their link
# needs two (the page, then the form).
LEGACY_CODE_LOOKUPS = 10
LEGACY_CODE_WINDOW_SECONDS = 600


class _AttemptLimiter:
    """At most ``limit`` attempts per key and sliding window, in memory (bounded number of keys)."""

    MAX_KEYS = 10000

    def __init__(self, limit, window):
        self.limit, self.window = limit, window
        self.lock = threading.Lock()
        self.attempts = {}  # key: [monotonic times]

    def allow(self, key):
        now = time.monotonic()
        with self.lock:
            if len(self.attempts) > self.MAX_KEYS:
                self.attempts = {k: v for k, v in self.attempts.items() if v and now - v[-1] < self.window}
            recent = [at for at in self.attempts.get(key, ()) if now - at < self.window]
            allowed = len(recent) < self.limit
            if allowed:
                recent.append(now)
            self.attempts[key] = recent
            return allowed


_legacy_code_lookups = _AttemptLimiter(LEGACY_CODE_LOOKUPS, LEGACY_CODE_WINDOW_SECONDS)


def _callback_route(kind):
    """The route of one kind of AT callback (delivery, inbound, optout): public, unsigned, form-encoded POST whose
    body size is limited before it is parsed (ir.http, ``africastalking_max_body``)."""
    return http.route(
        "/sms_africastalking/<int:account_id>/<string:secret>/%s" % kind,
        type="http", auth="public", methods=["POST"], csrf=False, save_session=False,
        africastalking_max_body=MAX_CALLBACK_BYTES,
    )


class AfricasTalkingController(http.Controller):
    """Callbacks Africa's Talking posts (form-encoded, unsigned): authenticated by the account's URL secret.

    Order of checks: size, secret (constant time, before any ``sudo()``), then parsing; only then records change.
    Answers carry no detail: AT retries on anything but 200, so a wrong secret (403) or malformed body (400) is
    retried by AT a few times and changes nothing.
    """

    @_callback_route("delivery")
    def africastalking_delivery_report(self, account_id, secret, **_form):
        account, report = self._authenticated_callback(account_id, secret, parse_delivery_report, "delivery report")
        # Queued with one INSERT and applied in bulk by a cron the queue wakes: AT gets its 200 at once.
        request.env["africastalking.delivery.report"]._enqueue(account.id, report)
        return self._ok()

    @_callback_route("inbound")
    def africastalking_inbound(self, account_id, secret, **_form):
        account, message = self._authenticated_callback(account_id, secret, parse_inbound_message, "inbound SMS")
        request.env["africastalking.inbound"].sudo()._process_inbound_message(account.sudo(), message)
        return self._ok()

    @_callback_route("optout")
    def africastalking_opt_out(self, account_id, secret, **_form):
        account, opt_out = self._authenticated_callback(account_id, secret, parse_opt_out, "opt-out")
        request.env["africastalking.inbound"].sudo()._process_opt_out(account.sudo(), opt_out)
        return self._ok()

    @classmethod
    def _authenticated_callback(cls, account_id, secret, parse, kind):
        """``(account, parsed form)``: 413, 403 or 400 before anything else happens."""
        account = cls._authenticate(account_id, secret)
        try:
            return account, parse(request.httprequest.form.to_dict())
        except CallbackError as exc:
            _refusals.log(logging.INFO, "malformed", "Malformed %s for account %s: %s", kind, account_id, exc)
            raise BadRequest() from None

    @staticmethod
    def _authenticate(account_id, secret):
        # The body was already capped before parsing (ir.http); this only keeps the check next to the others.
        length = request.httprequest.content_length
        if length is not None and length > MAX_CALLBACK_BYTES:
            raise RequestEntityTooLarge()
        account = request.env["africastalking.account"]._authenticate_callback(account_id, secret)
        if not account:
            _refusals.log(logging.WARNING, "secret",
                          "Africa's Talking callback refused: wrong secret for account %s", account_id)
            raise Forbidden()
        return account

    @staticmethod
    def _ok():
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])


class AfricasTalkingMailingSMSController(MailingSMSController):
    """The SMS unsubscribe page: the number is typed in a POST form and never shown back or put in a URL.

    Stock accepts the number as a GET parameter (it then sits in logs and browser history) and prints it on the
    result page; here the form must be POSTed and the pages only name the lists.

    Links carry a signed token per trace (mailing.trace._sms_unsubscribe_tokens); a forged one is refused before
    any query. Stock's 3-character codes of older mailings are honoured for LEGACY_LINK_DAYS, rate-limited.
    """

    def _check_trace(self, mailing_id, trace_code):
        traces = request.env["mailing.trace"].sudo()
        kind = traces._sms_unsubscribe_code_kind(trace_code)
        if not kind:
            return {"error": "trace_error"}
        if kind == "legacy" and not _legacy_code_lookups.allow(request.httprequest.remote_addr):
            _refusals.log(logging.WARNING, "legacy_code", "Unsubscribe page: too many old-style codes tried from %s",
                          request.httprequest.remote_addr)
            return {"error": "trace_error"}
        result = super()._check_trace(mailing_id, trace_code)
        if kind == "legacy" and result.get("trace"):
            since = traces._sms_legacy_code_valid_since()
            result["trace"] = result["trace"].filtered(lambda trace: trace.create_date >= since)
            if not result["trace"]:
                return {"error": "trace_error"}
        return result

    @http.route(
        ["/sms/<int:mailing_id>/unsubscribe/<string:trace_code>"],
        type="http", website=True, auth="public", methods=["POST"],
    )
    def blacklist_number(self, mailing_id, trace_code, **post):
        traces = self._check_trace(mailing_id, trace_code).get("trace")
        if not traces:
            return request.redirect("/web")
        mailing = traces.mass_mailing_id[:1]
        country_code = request.geoip.country_code or mailing.sudo().user_id.company_id.country_id.code or \
            request.env.company.country_id.code
        number = normalize_number((post.get("sms_number") or "").strip(), country_code).e164
        trace = traces.filtered(lambda t: t.sms_number == number)[:1] if number else traces.browse()
        values = {"mailing_id": mailing_id, "trace_code": trace_code, "unsubscribe_error": False,
                  "lists_optout": request.env["mailing.list"], "lists_optin": request.env["mailing.list"]}
        if not number:
            values["unsubscribe_error"] = _("This is not a valid phone number.")
        elif not trace:
            values["unsubscribe_error"] = _("This message was not sent to that number. Type the number that "
                                            "received the SMS, with its country code if it is not local.")
        else:
            values.update(request.env["mailing.mailing"].sudo()._sms_africastalking_opt_out(trace, number))
        return request.render("sms_africastalking.sms_optout_result", values)
