import logging

from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge

from odoo import http
from odoo.http import request

from ..tools.at_callbacks import CallbackError, parse_delivery_report, parse_inbound_message, parse_opt_out

_logger = logging.getLogger(__name__)

# AT posts a handful of short form fields; anything larger is not AT.
MAX_CALLBACK_BYTES = 16 * 1024


class AfricasTalkingController(http.Controller):
    """Callbacks Africa's Talking posts (form-encoded, unsigned): authenticated by the account's URL secret.

    Order of checks: size, secret (constant time, before any ``sudo()``), then parsing; only then records change.
    Answers carry no detail: AT retries on anything but 200, so a wrong secret (403) or malformed body (400) is
    retried by AT a few times and changes nothing.
    """

    @http.route(
        "/sms_africastalking/<int:account_id>/<string:secret>/delivery",
        type="http", auth="public", methods=["POST"], csrf=False, save_session=False,
    )
    def africastalking_delivery_report(self, account_id, secret, **_form):
        account = self._authenticate(account_id, secret)
        try:
            report = parse_delivery_report(request.httprequest.form.to_dict())
        except CallbackError as exc:
            _logger.info("Malformed delivery report for account %s: %s", account_id, exc)
            raise BadRequest() from None
        request.env["africastalking.message"].sudo()._apply_delivery_reports(account.sudo(), [report])
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])

    @staticmethod
    def _authenticate(account_id, secret):
        length = request.httprequest.content_length
        if length is not None and length > MAX_CALLBACK_BYTES:
            raise RequestEntityTooLarge()
        account = request.env["africastalking.account"]._authenticate_callback(account_id, secret)
        if not account:
            _logger.warning("Africa's Talking callback refused: wrong secret for account %s", account_id)
            raise Forbidden()
        return account

    @http.route(
        "/sms_africastalking/<int:account_id>/<string:secret>/inbound",
        type="http", auth="public", methods=["POST"], csrf=False, save_session=False,
    )
    def africastalking_inbound(self, account_id, secret, **_form):
        account = self._authenticate(account_id, secret)
        try:
            message = parse_inbound_message(request.httprequest.form.to_dict())
        except CallbackError as exc:
            _logger.info("Malformed inbound SMS for account %s: %s", account_id, exc)
            raise BadRequest() from None
        request.env["africastalking.inbound"].sudo()._process_inbound_message(account.sudo(), message)
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])

    @http.route(
        "/sms_africastalking/<int:account_id>/<string:secret>/optout",
        type="http", auth="public", methods=["POST"], csrf=False, save_session=False,
    )
    def africastalking_opt_out(self, account_id, secret, **_form):
        account = self._authenticate(account_id, secret)
        try:
            opt_out = parse_opt_out(request.httprequest.form.to_dict())
        except CallbackError as exc:
            _logger.info("Malformed opt-out for account %s: %s", account_id, exc)
            raise BadRequest() from None
        request.env["africastalking.inbound"].sudo()._process_opt_out(account.sudo(), opt_out)
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])
