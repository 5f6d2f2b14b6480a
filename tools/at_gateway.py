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

import codecs
import functools
import http.client
import json
import logging
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode, urlsplit

import certifi
import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError
from urllib3.util.wait import wait_for_read

from .outcomes import (
    SERVER_ERROR,
    STATUS_CODE_TO_STATE,
    SUCCESS,
    UNKNOWN_CODE_STATE,
    UNKNOWN_OUTCOME,
    UNREGISTERED,
    WRONG_NUMBER_FORMAT,
)

# The SDK's own check (SMS.py): one number failing it makes the SDK refuse the whole batch, so we check first.
from .phone import is_e164

_logger = logging.getLogger(__name__)

PRODUCTION_URL = "https://api.africastalking.com"
SANDBOX_URL = "https://api.sandbox.africastalking.com"
SANDBOX_USERNAME = "sandbox"



# The optional keys of a message entry of _send_sms_batch that make it a premium answer (OutgoingMessage fields).
PREMIUM_KEYS = ("short_code", "link_id", "keyword")

# The keys of a result as Odoo reads it (sms/tools/sms_api.py ``_send_sms_batch``: ``uuid`` and ``state``, plus what
# Odoo 18's providers add: ``failure_reason`` and the provider's own ids), and the attribute holding each.
ODOO_RESULT_KEYS = {
    "uuid": "key",
    "state": "state",
    "failure_reason": "failure_reason",
    "number": "number",
    "at_message_id": "message_id",
    "at_status_code": "status_code",
    "at_status": "status",
    "cost": "cost",
    "currency": "currency",
    "parts": "parts",
}


@dataclass
class SendResult(Mapping):
    """The outcome of one recipient of one send request.

    Also a read-only mapping in Odoo's vocabulary (ODOO_RESULT_KEYS): ``result["uuid"]``, ``result["state"]``,
    ``result.get("failure_reason")``, as Odoo's ``sms.sms._send`` reads the results of ``_send_sms_batch``.
    """

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

    def __getitem__(self, name):
        return getattr(self, ODOO_RESULT_KEYS[name])

    def __iter__(self):
        return iter(ODOO_RESULT_KEYS)

    def __len__(self):
        return len(ODOO_RESULT_KEYS)


@dataclass
class OutgoingMessage:
    """One text for many recipients; ``recipients`` maps each E.164 number to the caller's key for it.

    With ``short_code`` it is a premium answer (AT's ``send_premium``): it leaves from that short code with
    ``bulkSMSMode=0`` and, for an answer to an on-demand message, the inbound ``link_id`` (and ``keyword``).
    """

    body: str
    recipients: dict = field(default_factory=dict)
    short_code: str | None = None
    link_id: str | None = None
    keyword: str | None = None

    @property
    def is_premium(self):
        return bool(self.short_code)


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


class _KeepAliveConnection:
    """One kept-alive HTTP(S) connection of one sending thread to AT's host, without a proxy.

    ``requests`` costs about 0.3 ms of CPU per request (preparing, hooks, adapters, two writes per request): with a
    personalised text per recipient, AT takes one request per SMS, and that CPU was most of the dispatcher's. This
    writes each request in one ``sendall`` and reads the answer with the standard library's parser. Its failures are
    raised as the ``requests`` exceptions the outcome rules read (_never_reached_server): a failed connect as
    ConnectTimeout / ConnectionError(NewConnectionError), anything after it as ReadTimeout / ConnectionError.
    """

    def __init__(self, base_url, verify=True):
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        default_port = 443 if self.https else 80
        self.port = parts.port or default_port
        self.host_header = self.host if self.port == default_port else "%s:%d" % (self.host, self.port)
        self._verify = verify
        self._sock = None

    def close(self):
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _connect(self, timeout):
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except TimeoutError as exc:
            raise requests.exceptions.ConnectTimeout(exc) from exc
        except OSError as exc:  # refused, unreachable, name resolution: the request never left
            raise requests.exceptions.ConnectionError(NewConnectionError(self, str(exc))) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.https:
            try:
                sock = _ssl_context(self._verify).wrap_socket(sock, server_hostname=self.host)
            except (ssl.SSLError, ssl.CertificateError) as exc:
                sock.close()
                raise requests.exceptions.SSLError(exc) from exc
            except OSError as exc:
                sock.close()
                raise requests.exceptions.ConnectionError(exc) from exc
        return sock

    def request(self, method, url, headers, params=None, data=None, timeout=None):
        """``(status, content type, body bytes)``."""
        parts = urlsplit(url)
        path = parts.path or "/"
        query = "&".join(filter(None, [parts.query, urlencode(params, doseq=True) if params else ""]))
        if query:
            path += "?" + query
        body = urlencode(data, doseq=True).encode() if data else b""
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % self.host_header]
        for name, value in headers.items():
            if any(char in "%s%s" % (name, value) for char in "\r\n"):  # as requests refuses them
                raise requests.exceptions.InvalidHeader("Invalid header %r" % name)
            lines.append("%s: %s" % (name, value))
        if body or method != "GET":
            lines += ["Content-Type: application/x-www-form-urlencoded", "Content-Length: %d" % len(body)]
        message = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        # A kept-alive connection that AT closed meanwhile reads as readable (end of file): a new one
        if self._sock is not None and wait_for_read(self._sock, timeout=0.0):
            self.close()
        if self._sock is None:
            self._sock = self._connect(timeout)
        self._sock.settimeout(timeout)
        try:
            self._sock.sendall(message)
            response = http.client.HTTPResponse(self._sock, method=method)
            response.begin()
            content = response.read()
        except TimeoutError as exc:
            self.close()
            raise requests.exceptions.ReadTimeout(exc) from exc
        except (OSError, http.client.HTTPException) as exc:  # reset, closed mid-answer, garbled answer
            self.close()
            raise requests.exceptions.ConnectionError(exc) from exc
        if response.will_close:
            self.close()
        return response.status, response.getheader("content-type", ""), content


class _KeepAliveSMSService(SMSService):
    """The SDK's SMS service over one kept-alive connection (or, behind a proxy, one ``requests.Session``) instead
    of a new connection per request.

    The SDK builds URLs, form fields and validation; only its transport is replaced. Its answer handling is kept
    except for the content type, which the SDK compares exactly (``application/json; charset=utf-8`` would come back
    as a string): we accept any JSON content type.
    """

    def __init__(self, username, api_key, transport):
        super().__init__(username, api_key)
        self._transport = transport

    def _make_request(self, url, method, headers, data, params, callback=None, timeout=None):
        if callback is not None:
            raise RuntimeError("Asynchronous SDK callbacks lose errors; the gateway runs requests itself.")
        if isinstance(self._transport, _KeepAliveConnection):
            status, content_type, content = self._transport.request(method.upper(), url, headers, params=params,
                                                                    data=data, timeout=timeout)
        else:
            send = self._transport.get if method.upper() == "GET" else self._transport.post
            res = send(url=url, headers=headers, params=params, data=data, timeout=timeout)
            status, content_type, content = res.status_code, res.headers.get("content-type", ""), res.content
        text = content.decode(_charset(content_type), errors="replace")
        if not 200 <= status < 300:
            raise AfricasTalkingException(text)
        if content_type.startswith("application/json"):
            return json.loads(text)
        return text


@functools.lru_cache(maxsize=8)
def _ssl_context(verify):
    """The TLS context of ``verify`` as requests reads it: True (requests' own CA bundle, certifi), a CA file or
    folder, or False. Built once: loading the CA bundle takes milliseconds."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        return ssl.create_default_context(cafile=certifi.where())
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


def _charset(content_type):
    for parameter in content_type.split(";")[1:]:
        name, _sep, value = parameter.strip().partition("=")
        if name.lower() == "charset" and value:
            try:
                return codecs.lookup(value.strip('"')).name
            except LookupError:
                break
    return "utf-8"


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
        # One keep-alive session per thread that sends (a requests.Session is not thread-safe): each worker of the
        # send pool reuses its own connection for all its requests; close() closes them all.
        self._local = threading.local()
        self._sessions = []
        self._connections = []
        self._sessions_lock = threading.Lock()
        # What requests takes from the environment (proxy for this URL, CA bundle), read once: read for every request,
        # it cost about a third of the CPU of a small request (a personalised text).
        self._proxies = requests.utils.get_environ_proxies(self.base_url)
        self._behind_proxy = bool(requests.utils.select_proxy(self.base_url, self._proxies))
        self._verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        # The threads that send concurrently, started on first use and kept until close(): a gateway kept open for
        # several batches (a dispatch run) reuses them, and so their kept-alive connections, instead of starting
        # ``concurrency`` threads and connections for every batch.
        self._pool = None
        self._pool_lock = threading.Lock()

    @property
    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False
            session.proxies.update(self._proxies)
            session.verify = self._verify
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    @property
    def _transport(self):
        """What this thread sends with: its kept-alive connection, or its session when a proxy is set."""
        if self._behind_proxy:
            return self._session
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = _KeepAliveConnection(self.base_url, verify=self._verify)
            self._local.connection = connection
            with self._sessions_lock:
                self._connections.append(connection)
        return connection

    def _send_pool(self):
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="at-send")
            return self._pool

    def close(self):
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
            connections, self._connections = self._connections, []
        for transport in sessions + connections:
            transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _service(self):
        service = _KeepAliveSMSService(self.username, self.api_key, self._transport)
        service._baseUrl = self.base_url + "/version1"
        service._contentUrl = self.base_url + "/version1"
        return service

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------

    def _send_sms_batch(self, messages, delivery_reports_url=False):
        """Send SMS given in Odoo's shape; the entry point of an Odoo SMS provider (``sms/tools/sms_api.py``).

        ``messages``: ``[{"content": str, "numbers": [{"uuid": str, "number": str}, ...]}, ...]``, as
        ``sms.sms._send`` builds them (one entry per text); an entry may add AT's premium keys (``short_code``,
        ``link_id``, ``keyword``: an answer on a premium short code, sent with ``send_premium``). Returns one
        :class:`SendResult` per uuid: a mapping with Odoo's ``uuid``, ``state`` (``success``, ``unknown_outcome``,
        a failure state: tools/outcomes.py) and ``failure_reason``, plus AT's id, status, cost, currency and parts.
        ``delivery_reports_url`` is ignored: AT sets its callback URLs per application, in its dashboard, not per
        request.
        """
        outgoing = []
        for message in messages:
            body = message.get("content") or ""
            premium = {key: message[key] for key in PREMIUM_KEYS if message.get(key)}
            rounds = []  # a number twice with one text goes in a second request, so that answers match
            for recipient in message.get("numbers") or []:
                number = recipient["number"]
                target = next((request for request in rounds if number not in request.recipients), None)
                if target is None:
                    target = OutgoingMessage(body=body, **premium)
                    rounds.append(target)
                target.recipients[number] = recipient["uuid"]
            outgoing += rounds
        return self.send_messages(outgoing)

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
                    results.append(SendResult(number=number, key=key, state=WRONG_NUMBER_FORMAT,
                                              failure_reason="InvalidPhoneNumber"))
            numbers = list(valid)
            for start in range(0, len(numbers), self.max_recipients):
                chunk = {number: valid[number] for number in numbers[start:start + self.max_recipients]}
                requests_to_send.append((message.body, chunk, message if message.is_premium else None))
        enqueue = self.enqueue
        if enqueue is None:
            enqueue = sum(len(chunk) for _body, chunk, _premium in requests_to_send) > 1
        if len(requests_to_send) == 1:
            results.extend(self._send_one_request(*requests_to_send[0], enqueue=enqueue))
        elif requests_to_send:
            for chunk_results in self._send_pool().map(lambda args: self._send_one_request(*args, enqueue=enqueue),
                                                       requests_to_send):
                results.extend(chunk_results)
        return results

    def _request(self, body, recipients, enqueue, premium):
        """The SDK call: a bulk send from the account's sender id, or a premium send from a short code."""
        if premium is not None:
            return self._service().send_premium(body, premium.short_code, list(recipients),
                                                keyword=premium.keyword or None, link_id=premium.link_id or None,
                                                timeout=self.timeout)
        return self._service().send(body, list(recipients), sender_id=self.sender_id, enqueue=enqueue,
                                    timeout=self.timeout)

    def _send_one_request(self, body, recipients, premium=None, enqueue=False):
        """One AT request for one text; never raises: every recipient gets a result."""
        attempt = 0
        while True:
            try:
                answer = self._request(body, recipients, enqueue, premium)
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
            state = SUCCESS if code is None and status.lower() == "success" else UNKNOWN_CODE_STATE
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
        service = _KeepAliveSMSService(self.username, self.api_key, self._transport)
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
