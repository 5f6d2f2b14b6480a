from odoo import http
from odoo.http import request

from ..tools.at_callbacks import parse_subscription
from .main import MAX_CALLBACK_BYTES, AfricasTalkingController


class AfricasTalkingSubscriptionController(http.Controller):
    """AT's premium subscription notifications, authenticated as the other callbacks (the account's URL secret,
    checked in constant time before any ``sudo()``; 413 / 403 / 400 change nothing)."""

    @http.route(
        "/sms_africastalking/<int:account_id>/<string:secret>/subscription",
        type="http", auth="public", methods=["POST"], csrf=False, save_session=False,
        africastalking_max_body=MAX_CALLBACK_BYTES,
    )
    def africastalking_subscription(self, account_id, secret, **_form):
        account, update = AfricasTalkingController._authenticated_callback(
            account_id, secret, parse_subscription, "subscription notification")
        request.env["africastalking.inbound"].sudo()._process_subscription(account.sudo(), update)
        return AfricasTalkingController._ok()
