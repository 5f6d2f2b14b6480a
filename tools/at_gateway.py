"""The only code that talks to Africa's Talking (AT).

It wraps the ``africastalking`` SDK per account (never the SDK's global ``initialize()``), gives every request an
explicit scalar timeout and a keep-alive connection pool, and answers in Odoo's SMS vocabulary so that the rest of
the addon never sees AT's shapes:

* ``success``: AT accepted the message (Odoo state ``pending``, "Sent");
* a failure state such as ``wrong_number_format`` or ``insufficient_credit``: AT refused, nothing was sent;
* ``unknown_outcome``: the request reached AT but no usable answer came back (read timeout, 5xx, connection
  dropped mid-answer). The message may have left and may be billed: it must never be re-sent blindly; the delivery
  report settles it.

A connection that never reached AT (refused, DNS, connect timeout) is retried here a few times, then reported as
``server_error``: nothing was sent, so the user may retry safely.
"""

import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService
from requests.adapters import HTTPAdapter

# The SDK's own check (SMS.py): one number failing it makes the SDK refuse the whole batch, so we check first.
from .phone import is_e164

_logger = logging.getLogger(__name__)

PRODUCTION_URL = "https://api.africastalking.com"
SANDBOX_URL = "https://api.sandbox.africastalking.com"
SANDBOX_USERNAME = "sandbox"

# Outcome states, in Odoo's IAP vocabulary where one exists (see sms.sms.IAP_TO_SMS_*).
SUCCESS = "success"
UNKNOWN_OUTCOME = "unknown_outcome"
SERVER_ERROR = "server_error"
UNREGISTERED = "unregistered"

# Send-time ``statusCode`` of each recipient (reference/africastalking.md §2.3) -> Odoo outcome state.
STATUS_CODE_TO_STATE = {
    100: SUCCESS,  # Processed
    101: SUCCESS,  # Sent
    102: SUCCESS,  # Queued
    401: UNREGISTERED,  # RiskHold: the account is held
    402: UNREGISTERED,  # InvalidSenderId
    403: "wrong_number_format",  # InvalidPhoneNumber
    404: "wrong_number_format",  # UnsupportedNumberType
    405: "insufficient_credit",  # InsufficientBalance
    406: "blacklisted",  # UserInBlacklist: the subscriber opted out at the network
    407: "country_not_supported",  # CouldNotRoute
    409: "rejected",  # DoNotDisturbRejection (Nigeria)
    500: SERVER_ERROR,  # InternalServerError: AT says it did not send
    501: SERVER_ERROR,  # GatewayError
    502: "rejected",  # RejectedByGateway
}


@dataclass
class SendResult:
    """The outcome of one recipient of one send request."""

    number: str
    state: str
    status_code: int | None = None
    status: str = ""
    message_id: str | None = None
    cost: Decimal | None = None
    currency: str | None = None
    parts: int | None = None
    failure_reason: str | None = None
    key: object = None  # the caller's identifier of this recipient (an SMS uuid), carried through unchanged
    account: object = None  # the caller's account object, carried through unchanged


@dataclass
class OutgoingMessage:
    """One text for many recipients; ``recipients`` maps each E.164 number to the caller's key for it."""

    body: str
    recipients: dict = field(default_factory=dict)


class GatewayError(Exception):
    """A request-level failure of a non-send call (balance, connection test), with a user-facing message.

    ``kind`` (one of the ``GATEWAY_*`` constants) lets Odoo show the message translated.
    """

    def __init__(self, message, kind=None):
        super().__init__(message)
        self.kind = kind


GATEWAY_TIMEOUT = "timeout"
GATEWAY_UNREACHABLE = "unreachable"
GATEWAY_AUTHENTICATION = "authentication"
GATEWAY_ERROR = "error"
GATEWAY_NO_BALANCE = "no_balance"


def parse_amount(text):
    """Split AT's money strings ("KES 0.8000", "0") into ``(currency or None, Decimal or None)``."""
    if not text or not isinstance(text, str):
        return None, None
    parts = text.strip().split()
    currency = parts[0] if len(parts) == 2 else None
    try:
        return currency, Decimal(parts[-1])
    except InvalidOperation:
        return currency, None


def _never_reached_server(exc):
    """True when a requests exception proves the request never reached AT (so resending is safe)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    # A reset while AT was answering is also a ConnectionError; only a failed connect proves nothing was sent.
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    name = type(reason).__name__
    return name in {"NewConnectionError", "ConnectTimeoutError", "NameResolutionError"}


class _KeepAliveSMSService(SMSService):
    """The SDK's SMS service with one pooled ``requests.Session`` instead of a new connection per request.

    The SDK builds URLs, form fields and validation; only its transport is replaced. Its answer handling is kept
    except for the content type, which the SDK compares exactly (``application/json; charset=utf-8`` would come back
    as a string): we accept any JSON content type.
    """

    def __init__(self, username, api_key, session):
        super().__init__(username, api_key)
        self._session = session

    def _make_request(self, url, method, headers, data, params, callback=None, timeout=None):
        if callback is not None:
            raise RuntimeError("Asynchronous SDK callbacks lose errors; the gateway runs requests itself.")
        send = self._session.get if method.upper() == "GET" else self._session.post
        res = send(url=url, headers=headers, params=params, data=data, timeout=timeout)
        if not 200 <= res.status_code < 300:
            raise AfricasTalkingException(res.text)
        if res.headers.get("content-type", "").startswith("application/json"):
            return res.json()
        return res.text


class AfricasTalkingGateway:
    """One AT account: credentials, endpoint and transport settings, and the calls the addon makes."""

    def __init__(
        self,
        username,
        api_key,
        base_url=None,
        sender_id=None,
        timeout=30,
        max_recipients=500,
        concurrency=8,
        connect_retries=2,
        enqueue=None,
    ):
        self.username = username or ""
        self.api_key = api_key or ""
        self.base_url = (base_url or (SANDBOX_URL if username == SANDBOX_USERNAME else PRODUCTION_URL)).rstrip("/")
        self.sender_id = sender_id or None
        # A scalar: Odoo's test guard and older SDKs do not accept the SDK's (connect, read) tuple.
        self.timeout = float(timeout)
        self.max_recipients = max(1, int(max_recipients))
        self.concurrency = max(1, int(concurrency))
        self.connect_retries = max(0, int(connect_retries))
        # AT's setting for campaigns ("store the messages in a queue and send them out asynchronously after
        # responding"): None sends it for bulk calls (more than one recipient), True / False always / never.
        self.enqueue = enqueue
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self.concurrency, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _service(self):
        service = _KeepAliveSMSService(self.username, self.api_key, self._session)
        service._baseUrl = self.base_url + "/version1"
        service._contentUrl = self.base_url + "/version1"
        return service

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------

    def send_messages(self, messages):
        """Send every :class:`OutgoingMessage` and return one :class:`SendResult` per recipient.

        AT takes one text per request: each text's recipients go in requests of at most ``max_recipients``
        numbers, and the requests run concurrently on a bounded pool. No ORM here: callers write results back.
        """
        requests_to_send = []
        results = []
        for message in messages:
            valid = {}
            for number, key in message.recipients.items():
                if is_e164(number):
                    valid[number] = key
                else:
                    results.append(SendResult(number=number, key=key, state="wrong_number_format",
                                              failure_reason="InvalidPhoneNumber"))
            numbers = list(valid)
            for start in range(0, len(numbers), self.max_recipients):
                chunk = {number: valid[number] for number in numbers[start:start + self.max_recipients]}
                requests_to_send.append((message.body, chunk))
        enqueue = self.enqueue
        if enqueue is None:
            enqueue = sum(len(chunk) for _body, chunk in requests_to_send) > 1
        if len(requests_to_send) == 1:
            results.extend(self._send_one_request(*requests_to_send[0], enqueue=enqueue))
        elif requests_to_send:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests_to_send))) as pool:
                for chunk_results in pool.map(lambda args: self._send_one_request(*args, enqueue=enqueue),
                                              requests_to_send):
                    results.extend(chunk_results)
        return results

    def _send_one_request(self, body, recipients, enqueue=False):
        """One AT request for one text; never raises: every recipient gets a result."""
        attempt = 0
        while True:
            try:
                answer = self._service().send(body, list(recipients), sender_id=self.sender_id,
                                              enqueue=enqueue, timeout=self.timeout)
            except requests.exceptions.RequestException as exc:
                if _never_reached_server(exc) and attempt < self.connect_retries:
                    attempt += 1
                    time.sleep(0.2 * attempt)
                    continue
                if _never_reached_server(exc):
                    _logger.warning("Africa's Talking unreachable at %s: %s", self.base_url, type(exc).__name__)
                    return self._all(recipients, SERVER_ERROR, "Africa's Talking could not be reached")
                _logger.warning("No answer from Africa's Talking (%s): outcome unknown for %d recipients",
                                type(exc).__name__, len(recipients))
                return self._all(recipients, UNKNOWN_OUTCOME, "No answer from Africa's Talking (%s)"
                                 % type(exc).__name__)
            except AfricasTalkingException as exc:
                return self._parse_error_answer(str(exc), recipients)
            return self._parse_send_answer(answer, recipients)

    @staticmethod
    def _all(recipients, state, reason):
        return [SendResult(number=number, key=key, state=state, failure_reason=reason)
                for number, key in recipients.items()]

    def _parse_error_answer(self, text, recipients):
        """A non-2xx answer: a 401 text body, a 409 JSON body with recipients (Nigeria DND), or a server error."""
        data = _loads(text)
        if isinstance(data, dict) and "SMSMessageData" in data:
            return self._parse_send_answer(data, recipients)
        if "authentication" in (text or "").lower():
            return self._all(recipients, UNREGISTERED, "The Africa's Talking username or API key is wrong")
        # A 5xx or any other answer we cannot read: AT may have sent the message before failing.
        return self._all(recipients, UNKNOWN_OUTCOME, "Africa's Talking answered with an error")

    def _parse_send_answer(self, answer, recipients):
        """Match AT's ``Recipients`` to ours by normalised number, never by position."""
        data = _loads(answer) if isinstance(answer, str) else answer
        sms_data = data.get("SMSMessageData") if isinstance(data, dict) else None
        if not isinstance(sms_data, dict):
            return self._all(recipients, UNKNOWN_OUTCOME, "Unreadable answer from Africa's Talking")
        answered = {}
        for item in sms_data.get("Recipients") or []:
            if isinstance(item, dict) and isinstance(item.get("number"), str):
                answered[_digits(item["number"])] = item
        if not answered and sms_data.get("Message") and sms_data.get("Message").startswith("Invalid"):
            # e.g. {"Message": "InvalidSenderId", "Recipients": []}: refused as a whole, nothing sent.
            return self._all(recipients, UNREGISTERED, sms_data["Message"])
        return [self._recipient_result(number, key, answered.get(_digits(number)))
                for number, key in recipients.items()]

    @staticmethod
    def _recipient_result(number, key, item):
        if item is None:
            return SendResult(number=number, key=key, state=UNKNOWN_OUTCOME,
                              failure_reason="Africa's Talking did not answer for this number")
        try:
            code = int(item.get("statusCode"))
        except (TypeError, ValueError):
            code = None
        status = str(item.get("status") or "")
        state = STATUS_CODE_TO_STATE.get(code)
        if state is None:
            state = SUCCESS if code is None and status.lower() == "success" else "rejected"
        message_id = item.get("messageId")
        currency, cost = parse_amount(item.get("cost"))
        try:
            parts = int(item.get("messageParts")) if item.get("messageParts") is not None else None
        except (TypeError, ValueError):
            parts = None
        return SendResult(
            number=number,
            key=key,
            state=state,
            status_code=code,
            status=status,
            message_id=message_id if message_id and message_id != "None" else None,
            cost=cost,
            currency=currency,
            parts=parts,
            failure_reason=None if state == SUCCESS else status or None,
        )

    # ------------------------------------------------------------------
    # Account
    # ------------------------------------------------------------------

    def fetch_balance(self):
        """Return ``(currency, Decimal amount)`` of the account, or raise :class:`GatewayError`."""
        service = _KeepAliveSMSService(self.username, self.api_key, self._session)
        url = self.base_url + "/version1/user"
        try:
            answer = service._make_request(url, "GET", headers=service._headers, data=None,
                                           params={"username": self.username}, timeout=self.timeout)
        except requests.exceptions.Timeout as exc:
            raise GatewayError("Africa's Talking did not answer in time. Try again in a moment.",
                               GATEWAY_TIMEOUT) from exc
        except requests.exceptions.RequestException as exc:
            raise GatewayError("Africa's Talking could not be reached. Check the server's internet access "
                               "and the account's environment.", GATEWAY_UNREACHABLE) from exc
        except AfricasTalkingException as exc:
            if "authentication" in str(exc).lower():
                raise GatewayError("Africa's Talking refused the username or API key. Check them in the "
                                   "account (a new key can take a few minutes to work).",
                                   GATEWAY_AUTHENTICATION) from exc
            raise GatewayError("Africa's Talking answered with an error. Try again later.", GATEWAY_ERROR) from exc
        data = _loads(answer) if isinstance(answer, str) else answer
        balance = (data or {}).get("UserData", {}).get("balance") if isinstance(data, dict) else None
        currency, amount = parse_amount(balance)
        if amount is None:
            raise GatewayError("Africa's Talking answered without a balance.", GATEWAY_NO_BALANCE)
        return currency, amount


def _loads(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _digits(number):
    return re.sub(r"\D", "", number or "")
