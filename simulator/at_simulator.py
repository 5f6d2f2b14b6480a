"""A local HTTP server that answers like Africa's Talking (AT) SMS, standard library only.

It is the gateway of every test, the target of every benchmark and the default of ``make run``:

* ``POST /version1/messaging`` and ``GET /version1/user`` answer with AT's exact wire format (form in,
  ``application/json`` out, HTTP 201 on send, text 401 on bad credentials), so the real ``africastalking``
  SDK works against it unchanged (set ``service._baseUrl = sim.url + '/version1'``).
* Delivery reports, inbound SMS and opt-outs are POSTed form-encoded to the configured callback URLs, as
  AT does, on demand (:meth:`ATSimulator.deliver_pending`) or automatically after a delay.
* Faults (latency, hangs, 5xx, 401, connection resets, per-number status codes, balance, a random failure
  rate of delivery reports) are injected on demand, and every received message is counted so tests can prove
  "sent exactly once".
* ``GET /`` (or ``/phones``) is the phone inbox, a page (``simulator_inbox.html``) where a person watches the
  phones receive their messages, replies (STOP...), triggers opt-outs and chooses delivery fates.

Python API: build an :class:`ATSimulator`, ``start()`` it (or use it as a context manager). Other processes
and the browser drive it with the JSON control endpoints under ``/__sim__/``. Command line::

    python3 -m simulator.at_simulator --port 8071 --auto-deliver 2 --callback-base http://127.0.0.1:8069/cb/
"""
from __future__ import annotations

import argparse
import heapq
import hmac
import io
import ipaddress
import itertools
import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

try:  # imported by the addon's Odoo tests, as odoo.addons.sms_africastalking.simulator.at_simulator
    from ..tools.networks import SANDBOX_NETWORK_CODE, prefix_network_code
    from ..tools.segments import analyze
except ImportError:  # run as `python3 -m simulator.at_simulator` or by the plain pytest tests (repository root)
    from tools.networks import SANDBOX_NETWORK_CODE, prefix_network_code
    from tools.segments import analyze

# A stable name also when run as ``python3 -m simulator.at_simulator`` (where __name__ is '__main__').
_logger = logging.getLogger('simulator.at_simulator' if __name__ == '__main__' else __name__)

MAX_BODY_BYTES = 1024 * 1024
# A refused body smaller than this is read and dropped before answering 413, so the client reads the
# answer instead of a connection reset; anything larger just gets the connection closed.
MAX_DRAINED_BYTES = 16 * MAX_BODY_BYTES

# The regex of the SDK and of AT: a leading +, a country code and at least 3 more digits.
PHONE_NUMBER = re.compile(r'^\+\d{1,3}\d{3,}$')
AUTHENTICATION_INVALID = 'The supplied authentication is invalid'
JSON = 'application/json'  # exactly: the SDK compares the Content-Type string
TEXT = 'text/plain'

# Recipient statusCode -> the ``status`` string AT sends with it.
RECIPIENT_STATUSES = {
    100: 'Success',  # "Processed"; real 2025 answers pair 100 with "Success"
    101: 'Success',
    102: 'Queued',
    401: 'RiskHold',
    402: 'InvalidSenderId',
    403: 'InvalidPhoneNumber',
    404: 'UnsupportedNumberType',
    405: 'InsufficientBalance',
    406: 'UserInBlacklist',
    407: 'CouldNotRoute',
    409: 'DoNotDisturbRejection',
    500: 'InternalServerError',
    501: 'GatewayError',
    502: 'RejectedByGateway',
}
ACCEPTED_CODES = frozenset({100, 101, 102})
DEFAULT_ACCEPTED_CODE = 101
FINAL_DELIVERY_STATUSES = frozenset({'Success', 'Failed', 'Rejected', 'AbsentSubscriber', 'Expired'})
STATUSES_WITH_FAILURE_REASON = frozenset({'Failed', 'Rejected'})
DEFAULT_FAILURE_REASON = 'DeliveryFailure'
INTERMEDIATE_STATUS = 'Sent'

AMOUNT_PRECISION = Decimal('0.0001')  # AT writes amounts with 4 decimals: 'KES 0.8000'
FAULT_KINDS = ('timeout', 'http_500', 'reset', 'http_401')
FAULT_ENDPOINTS = ('messaging', 'user', 'any')
OTHER_NETWORK = SANDBOX_NETWORK_CODE  # numbers of no known network: AT's sandbox network "Athena"
CALLBACK_KINDS = ('delivery', 'inbound', 'optout', 'subscription')


def redact_url(url):
    """A callback URL fit for a log line: its path holds the account's secret, so only scheme and host are kept."""
    if not url:
        return url
    parts = urllib.parse.urlsplit(url)
    return '%s://%s/...' % (parts.scheme, parts.netloc) if parts.netloc else '...'
INBOX_PAGE = Path(__file__).with_name('simulator_inbox.html')
INBOX_PATHS = ('/', '/phones')
# The control API (/__sim__/) needs the simulator's per-run token in this header; the phone page gets it embedded.
CONTROL_TOKEN_HEADER = 'X-Simulator-Token'
# A process starting the simulator as a command can choose its token through the environment (inherited).
CONTROL_TOKEN_ENV = 'AT_SIMULATOR_CONTROL_TOKEN'
CONTROL_TOKEN_PLACEHOLDER = b'__SIMULATOR_CONTROL_TOKEN__'
LOOPBACK_NAMES = ('localhost', 'localhost.localdomain')


def is_loopback_host(host):
    """Whether ``host`` (a name or an address) is this machine's loopback interface."""
    host = (host or '').strip('[]').lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_callback_url(url, allow_remote):
    """``url`` if the simulator may post to it: http(s) on loopback unless ``allow_remote`` (else ValueError).

    The control API sets these URLs: without the limit, any page able to reach it could make the simulator post
    to any address and read the answer's status (server-side request forgery).
    """
    if not url:
        return None
    parsed = urllib.parse.urlsplit(str(url))
    if parsed.scheme not in ('http', 'https') or not parsed.hostname:
        raise ValueError('a callback URL must be an http(s) URL')
    if not allow_remote and not is_loopback_host(parsed.hostname):
        raise ValueError('callback URLs must point at this machine (loopback); start with --allow-remote otherwise')
    return str(url)


def _redacted_url(url):
    """A callback URL without its path: the path holds the Odoo account's secret, which no JSON answer shows."""
    if not url:
        return url
    parsed = urllib.parse.urlsplit(url)
    return '%s://%s/…' % (parsed.scheme, parsed.netloc)
HTML = 'text/html; charset=utf-8'
PHONES_LIMIT = 200


class ControlError(Exception):
    """Bad input on a control endpoint; answered as JSON with ``status``."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


@dataclass
class _Message:
    """One recipient of one send request, accepted or rejected."""

    id: str | None
    number: str
    text: str
    sender_id: str | None
    username: str
    status_code: int
    status: str
    cost: str
    parts: int
    network_code: str
    created_at: str
    amount: Decimal = Decimal(0)  # what the recipient was billed
    enqueue: bool = False  # sent with AT's 'enqueue=1' (bulk campaigns)
    delivery_status: str | None = None
    failure_reason: str | None = None
    # What the final delivery report will say, and which reports the callback acknowledged.
    fate_status: str = 'Success'
    fate_reason: str | None = None
    intermediate_done: bool = False
    final_done: bool = False
    seq: int = 0  # arrival order among messages and phone events, for the phone threads
    # A premium send (AT's send_premium: bulkSMSMode=0 from a short code), with the linkId it answers.
    premium: bool = False
    link_id: str | None = None
    keyword: str | None = None

    PUBLIC_FIELDS = ('id', 'number', 'text', 'sender_id', 'username', 'status_code', 'status', 'cost', 'parts',
                     'delivery_status', 'failure_reason', 'network_code', 'created_at', 'enqueue', 'premium',
                     'link_id', 'keyword')

    @property
    def accepted(self):
        return self.status_code in ACCEPTED_CODES

    def as_dict(self):
        return {name: getattr(self, name) for name in self.PUBLIC_FIELDS}


@dataclass
class _PhoneEvent:
    """Something a phone sent: a reply (AT's inbound callback) or a bulk SMS opt-out (AT's opt-out callback)."""

    id: str
    kind: str  # 'reply', 'optout' or 'subscription'
    number: str
    text: str
    to: str
    created_at: str
    seq: int
    http_status: int | None = None  # Odoo's answer to the callback; None while posting or when unreachable
    answered: bool = False
    link_id: str | None = None  # the linkId AT gave an SMS to a premium short code

    def as_entry(self):
        return {'direction': 'sent', 'kind': self.kind, 'id': self.id, 'number': self.number, 'text': self.text,
                'to': self.to, 'created_at': self.created_at, 'http_status': self.http_status,
                'answered': self.answered, 'link_id': self.link_id}


def _thread_entry(message):
    """A message as the phone shows it: what arrived, and where its delivery report stands."""
    return {'direction': 'received', 'id': message.id, 'number': message.number, 'text': message.text,
            'sender_id': message.sender_id, 'parts': message.parts, 'cost': message.cost,
            'created_at': message.created_at, 'delivery_status': message.delivery_status or 'Pending',
            'failure_reason': message.failure_reason, 'final': message.final_done,
            'fate_status': message.fate_status, 'fate_reason': message.fate_reason,
            'premium': message.premium, 'link_id': message.link_id}


@dataclass
class _Fault:
    kind: str
    remaining: int
    after_processing: bool
    endpoint: str

    def as_dict(self):
        return {'kind': self.kind, 'count': self.remaining, 'after_processing': self.after_processing,
                'endpoint': self.endpoint}


def _checked_number_rule(prefix, status_code):
    status_code = int(status_code)
    if status_code not in RECIPIENT_STATUSES:
        raise ValueError('unknown AT recipient statusCode %s' % status_code)
    return str(prefix), status_code


def _checked_fate(status, failure_reason):
    """(final status, failure reason) of a delivery report; AT sends a reason only with Failed/Rejected."""
    if status not in FINAL_DELIVERY_STATUSES:
        raise ValueError('final status must be one of %s' % ', '.join(sorted(FINAL_DELIVERY_STATUSES)))
    if status not in STATUSES_WITH_FAILURE_REASON:
        return status, None
    return status, failure_reason or DEFAULT_FAILURE_REASON


def _new_fault(kind, count, after_processing, endpoint):
    if kind not in FAULT_KINDS:
        raise ValueError('fault kind must be one of %s' % ', '.join(FAULT_KINDS))
    if endpoint not in FAULT_ENDPOINTS:
        raise ValueError('fault endpoint must be one of %s' % ', '.join(FAULT_ENDPOINTS))
    if int(count) < 1:
        raise ValueError('fault count must be >= 1')
    return _Fault(kind, int(count), bool(after_processing), endpoint)


def _utc_now():
    return datetime.now(timezone.utc)


def _network_code(number):
    # The network the number's prefix belongs to, as AT's reports name it (per-network statistics)
    return prefix_network_code(number) or OTHER_NETWORK


def _longest_prefix_match(rules, number):
    """The value of the rule with the longest prefix of ``number``, or None."""
    matches = [prefix for prefix in rules if number.startswith(prefix)]
    return rules[max(matches, key=len)] if matches else None


def _to_decimal(value, name):
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError('%s must be a number, got %r' % (name, value)) from None
    if not number.is_finite():
        raise ValueError('%s must be finite' % name)
    return number


def _to_fraction(value, name):
    fraction = float(value)
    if not 0 <= fraction <= 1:  # also refuses NaN
        raise ValueError('%s must be a fraction between 0 and 1' % name)
    return fraction


def _to_seconds(value, name):
    seconds = float(value)
    if not seconds >= 0:  # also refuses NaN
        raise ValueError('%s must be a number of seconds >= 0' % name)
    return seconds


class ATSimulator:
    """An Africa's Talking SMS endpoint in a daemon thread. All state is behind one lock.

    ``accounts`` maps usernames to API keys. ``rate`` is the price of one message part; a recipient costs
    ``rate * parts`` and is refused with 405 when the balance cannot pay it.

    Plain attributes that may be set at any time: ``auto_deliver`` (post reports by themselves),
    ``delivery_delay`` (seconds before an automatic report), ``hang_seconds`` (length of a 'timeout'
    fault), ``callback_timeout``, ``invalid_sender_ids`` (a set of ``from`` values AT refuses).

    ``failure_rate`` is the initial :meth:`set_failure_rate`; ``seed`` seeds its random draws, which each
    reset restarts.
    """

    def __init__(self, host='127.0.0.1', port=0, accounts=None, balance=Decimal('1000'), currency='KES',
                 rate=Decimal('0.80'), seed=None, failure_rate=0.0, control_token=None, allow_remote=False):
        if not allow_remote and not is_loopback_host(host):
            raise ValueError('the simulator listens on loopback only; pass allow_remote=True (--allow-remote) '
                             'to listen on %s' % host)
        self.host = host
        self.port = port
        self.allow_remote = allow_remote
        # Required by every control call (header X-Simulator-Token): a page of another site cannot know it.
        self.control_token = control_token or secrets.token_urlsafe(24)
        self.accounts = dict(accounts if accounts is not None else {'simulator': 'simulator-key'})
        self.currency = currency
        self.rate = _to_decimal(rate, 'rate')
        self.auto_deliver = False
        self.delivery_delay = 1.0
        # Hostile report timing: each report posted this many times; the final report before the intermediate one.
        self.report_repeats = 1
        self.reorder_reports = False
        self.hang_seconds = 30.0
        self.callback_timeout = 5.0
        self.invalid_sender_ids = set()
        self._initial_balance = _to_decimal(balance, 'balance')
        self._lock = threading.RLock()
        self._due_reports_changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = None
        self._threads = []
        self._callback_urls = dict.fromkeys(CALLBACK_KINDS)
        # Callbacks go straight to their host: an HTTP proxy from the environment must not see them.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._seed = seed
        self._random = random.Random(seed)
        self._initial_failure_rate = _to_fraction(failure_rate, 'failure_rate')
        self._inbox_page = b''
        self._forget_everything()

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        """Listen and serve in daemon threads; returns self. ``port=0`` picks a free port."""
        self._inbox_page = INBOX_PAGE.read_bytes().replace(CONTROL_TOKEN_PLACEHOLDER,
                                                           self.control_token.encode())
        server = _SimulatorHTTPServer((self.host, self.port), _RequestHandler)
        server.simulator = self
        self._server = server
        self.port = server.server_address[1]
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.1},
                             name='at-simulator-http', daemon=True),
            threading.Thread(target=self._auto_deliver_loop, name='at-simulator-reports', daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        _logger.info('Africa\'s Talking simulator listening on %s', self.url)
        return self

    def stop(self):
        """Stop serving. Hanging 'timeout' faults and latency waits end at once."""
        self._stopping.set()
        with self._due_reports_changed:
            self._due_reports_changed.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def __enter__(self):
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        return 'http://%s:%s' % (self.host, self.port)

    # ------------------------------------------------------------------ configuration

    def reset(self):
        """Forget messages, phone events, counters, faults, rules, invalid sender ids and pending automatic
        reports; the balance and the failure rate go back to their initial values and latency to 0. Accounts,
        callback URLs, rate and the plain attributes (auto_deliver, delivery_delay, hang_seconds) are kept."""
        with self._lock:
            self._forget_everything()

    def _forget_everything(self):
        with self._lock:
            self._messages = []
            self._messages_by_id = {}
            self._accepted_keys = set()
            self._counters = dict.fromkeys(
                ('requests', 'send_requests', 'messages', 'accepted', 'rejected', 'duplicates', 'faults',
                 'reports_posted', 'enqueued', 'premium', 'connections'), 0)
            # linkId -> (number, short code) of the SMS phones sent to a premium short code
            self._link_ids = {}
            self._faults = []
            self._number_rules = {}
            self._delivery_rules = {}
            self._due_reports = []  # heap of (due monotonic time, message id)
            self._reports_in_flight = set()
            self._balance = self._initial_balance
            self._latency = 0.0
            self._failure_rate = self._initial_failure_rate
            self._random.seed(self._seed)
            self._phone_events = []
            self._sequence = itertools.count(1)
            self.invalid_sender_ids.clear()

    @property
    def balance(self):
        with self._lock:
            return self._balance

    def set_balance(self, balance):
        with self._lock:
            self._balance = _to_decimal(balance, 'balance')

    def set_latency(self, seconds):
        """Delay every API answer (not the control endpoints) by ``seconds``."""
        with self._lock:
            self._latency = _to_seconds(seconds, 'latency')

    @property
    def failure_rate(self):
        with self._lock:
            return self._failure_rate

    def set_failure_rate(self, fraction):
        """The final report of this random fraction (0 to 1) of accepted messages says Failed
        (DeliveryFailure); delivery rules and fates chosen later win over it."""
        with self._lock:
            self._failure_rate = _to_fraction(fraction, 'failure_rate')

    def add_number_rule(self, prefix, status_code):
        """Numbers starting with ``prefix`` get ``status_code`` on send (the longest prefix wins).

        An accepted code (100, 101, 102) still needs the balance; any other code refuses the recipient.
        """
        prefix, status_code = _checked_number_rule(prefix, status_code)
        with self._lock:
            self._number_rules[prefix] = status_code

    def add_delivery_rule(self, prefix, status='Failed', failure_reason=DEFAULT_FAILURE_REASON):
        """The final delivery report of numbers starting with ``prefix`` says ``status`` (default: Success)."""
        fate = _checked_fate(status, failure_reason)
        with self._lock:
            self._delivery_rules[str(prefix)] = fate

    def inject_fault(self, kind, count=1, after_processing=True, endpoint='messaging'):
        """Make the next ``count`` API requests to ``endpoint`` ('messaging', 'user' or 'any') fail.

        ``after_processing=True``: the request is processed (messages recorded and billed) and then the
        answer is lost, the "unknown outcome" a client must not blindly retry. ``False``: nothing is
        processed, except for 'timeout', which hangs first and then processes and answers.
        """
        fault = _new_fault(kind, count, after_processing, endpoint)
        with self._lock:
            self._faults.append(fault)

    def set_callback_urls(self, delivery=None, inbound=None, optout=None, subscription=None):
        """Set the callback URLs; None means "not configured" (nothing is posted). Loopback only, unless
        the simulator was created with ``allow_remote``."""
        urls = {kind: _checked_callback_url(url, self.allow_remote)
                for kind, url in (('delivery', delivery), ('inbound', inbound), ('optout', optout),
                                  ('subscription', subscription))}
        with self._lock:
            self._callback_urls = urls

    @property
    def callback_urls(self):
        with self._lock:
            return dict(self._callback_urls)

    # ------------------------------------------------------------------ inspection

    @property
    def messages(self):
        """A copy of every recipient received, accepted or not, in arrival order."""
        with self._lock:
            return [message.as_dict() for message in self._messages]

    def stats(self):
        """Counters since start or reset.

        ``requests``: API requests (not control ones); ``messages``: recipients received; ``duplicates``:
        recipients whose (number, text, sender) had already been accepted; ``faults``: faults fired;
        ``reports_posted``: delivery report POSTs attempted; ``connections``: connections clients opened (a client
        keeping its connections alive opens few).
        """
        with self._lock:
            return dict(self._counters)

    def count(self, number, text=None):
        """How many accepted messages ``number`` received (with exactly ``text`` when given)."""
        with self._lock:
            return sum(1 for message in self._messages
                       if message.accepted and message.number == number and text in (None, message.text))

    def phones(self):
        """Every number that received a message or sent something, the most recently active first:
        ``number``, ``received`` and ``sent`` counts, ``pending`` (final report not delivered yet) and
        ``last`` (its newest thread entry)."""
        with self._lock:
            phones = {}
            for item in [*self._messages, *self._phone_events]:
                if isinstance(item, _Message) and not item.accepted:
                    continue  # a refused message never reached the phone
                phone = phones.setdefault(item.number, {'number': item.number, 'received': 0, 'sent': 0,
                                                        'pending': 0, 'last': item})
                if isinstance(item, _Message):
                    phone['received'] += 1
                    phone['pending'] += not item.final_done
                else:
                    phone['sent'] += 1
                if item.seq > phone['last'].seq:
                    phone['last'] = item
            ordered = sorted(phones.values(), key=lambda phone: phone['last'].seq, reverse=True)
            for phone in ordered:
                last = phone['last']
                phone['last'] = _thread_entry(last) if isinstance(last, _Message) else last.as_entry()
        return ordered

    def thread(self, number):
        """What the phone ``number`` shows, newest first: messages received (``direction`` 'received', with
        their delivery status) and replies or opt-outs it sent (``direction`` 'sent', with Odoo's answer)."""
        with self._lock:
            items = [message for message in self._messages if message.accepted and message.number == number]
            items += [event for event in self._phone_events if event.number == number]
            items.sort(key=lambda item: item.seq, reverse=True)
            return [_thread_entry(item) if isinstance(item, _Message) else item.as_entry() for item in items]

    def config(self):
        """The current settings, JSON-ready."""
        with self._lock:
            return {
                'url': self.url,
                'usernames': sorted(self.accounts),
                'balance': str(self._balance.quantize(AMOUNT_PRECISION)),
                'currency': self.currency,
                'rate': str(self.rate),
                'latency': self._latency,
                'failure_rate': self._failure_rate,
                'callback_urls': {kind: _redacted_url(url) for kind, url in self._callback_urls.items()},
                'auto_deliver': self.auto_deliver,
                'delivery_delay': self.delivery_delay,
                'report_repeats': self.report_repeats,
                'reorder_reports': self.reorder_reports,
                'hang_seconds': self.hang_seconds,
                'invalid_sender_ids': sorted(self.invalid_sender_ids),
                'number_rules': [{'prefix': prefix, 'status_code': code}
                                 for prefix, code in sorted(self._number_rules.items())],
                'delivery_rules': [{'prefix': prefix, 'status': status, 'failure_reason': reason}
                                   for prefix, (status, reason) in sorted(self._delivery_rules.items())],
                'faults': [fault.as_dict() for fault in self._faults],
            }

    # ------------------------------------------------------------------ delivery reports

    def set_fate(self, message_id, status, failure_reason=None):
        """Choose what the final delivery report of an accepted, not yet finally reported message says."""
        fate = _checked_fate(status, failure_reason)
        with self._lock:
            message = self._messages_by_id.get(message_id)
            if message is None:
                raise KeyError('unknown message id %r' % message_id)
            if message.final_done:
                raise ValueError('the final report of %s was already delivered' % message_id)
            message.fate_status, message.fate_reason = fate

    def deliver_pending(self, final=True, intermediate=True):
        """Post the reports of every accepted message whose final report was not acknowledged yet.

        Returns ``(message_id, http_status)`` per report posted, intermediate ('Sent') before final.
        ``http_status`` is None when no delivery URL is configured (the report is then recorded as done)
        or the callback was unreachable. A report answered with anything but 2xx stays pending, as AT
        retries it: call again to retry.
        """
        with self._lock:
            message_ids = [message.id for message in self._messages if message.accepted and not message.final_done]
        return self._deliver(message_ids, final=final, intermediate=intermediate)

    def deliver_messages(self, message_ids, final=True, intermediate=True):
        """Post the pending reports of these messages only; same answer as :meth:`deliver_pending`."""
        with self._lock:
            unknown = [message_id for message_id in message_ids if message_id not in self._messages_by_id]
        if unknown:
            raise KeyError('unknown message id %r' % unknown[0])
        return self._deliver(list(message_ids), final=final, intermediate=intermediate)

    def _deliver(self, message_ids, final, intermediate):
        with self._lock:
            claimed = [mid for mid in message_ids if mid not in self._reports_in_flight]
            self._reports_in_flight.update(claimed)
        results = []
        try:
            for message_id in claimed:
                for is_final in ((True, False) if self.reorder_reports else (False, True)):
                    wanted = final if is_final else intermediate
                    posted = wanted and self._deliver_one_report(message_id, is_final)
                    if posted:
                        results.append(posted)
        finally:
            with self._lock:
                self._reports_in_flight.difference_update(claimed)
        return results

    def _deliver_one_report(self, message_id, is_final):
        """Post one report; ``(message_id, http_status)``, or None when there was nothing left to post."""
        with self._lock:
            message = self._messages_by_id.get(message_id)
            if message is None or (not is_final and message.intermediate_done):
                return None
            # Reordered: the intermediate report still follows the final one.
            if message.final_done and (is_final or not self.reorder_reports):
                return None
            report = self._delivery_report(message, is_final)
            url = self._callback_urls['delivery']
            repeats = max(1, int(self.report_repeats))
            if url:
                self._counters['reports_posted'] += repeats
        http_status = None
        for _repeat in range(repeats if url else 0):
            # AT retries a report until it is acknowledged, and sometimes after: every copy is posted.
            http_status = self._post_form(url, report)
        if url is None or (http_status is not None and 200 <= http_status < 300):
            self._record_report(message_id, report, is_final)
        return message_id, http_status

    @staticmethod
    def _delivery_report(message, is_final):
        status = message.fate_status if is_final else INTERMEDIATE_STATUS
        report = {'id': message.id, 'status': status, 'phoneNumber': message.number,
                  'networkCode': message.network_code, 'retryCount': '0'}
        if is_final and message.fate_reason:
            report['failureReason'] = message.fate_reason
        return report

    def _record_report(self, message_id, report, is_final):
        with self._lock:
            message = self._messages_by_id.get(message_id)
            if message is None:  # reset while posting
                return
            if not is_final or not self.reorder_reports:  # reordered: the intermediate report still follows
                message.intermediate_done = True
            if is_final or not message.final_done:  # a reordered intermediate report changes nothing
                message.delivery_status = report['status']
            if is_final:
                message.final_done = True
                message.failure_reason = report.get('failureReason')

    def _schedule_reports(self, message_ids):
        """Queue automatic reports; the lock is held by the caller."""
        due = time.monotonic() + self.delivery_delay
        for message_id in message_ids:
            heapq.heappush(self._due_reports, (due, message_id))
        self._due_reports_changed.notify_all()

    def _auto_deliver_loop(self):
        while not self._stopping.is_set():
            with self._due_reports_changed:
                due_ids = self._pop_due_reports()
                if not due_ids:
                    self._due_reports_changed.wait(timeout=self._seconds_to_next_report())
                    continue
            self._deliver(due_ids, final=True, intermediate=True)

    def _pop_due_reports(self):
        now, due_ids = time.monotonic(), []
        while self._due_reports and self._due_reports[0][0] <= now:
            due_ids.append(heapq.heappop(self._due_reports)[1])
        return due_ids

    def _seconds_to_next_report(self):
        if not self._due_reports:
            return 0.5
        return min(max(self._due_reports[0][0] - time.monotonic(), 0.0), 0.5)

    # ------------------------------------------------------------------ inbound and opt-out

    def send_inbound(self, from_number, text, to='12345', link_id=None, premium=False):
        """POST an AT-shaped incoming SMS to the inbound callback; returns its HTTP status (None if
        unreachable). Raises RuntimeError when no inbound URL is configured.

        ``premium``: the SMS goes to the premium short code ``to``: AT gives it a new linkId (unless ``link_id`` is
        given), which a premium answer to this number from that short code must carry (see :meth:`link_id_of`).
        """
        url = self._required_callback_url('inbound')
        event = self._record_phone_event('reply', from_number, text, to)
        if premium and not link_id:
            link_id = 'SampleLinkId%s' % uuid.uuid4().hex[:12]
        if link_id:
            with self._lock:
                event.link_id = link_id
                self._link_ids[link_id] = (from_number, to)
        form = {'date': _utc_now().strftime('%Y-%m-%d %H:%M:%S'), 'from': from_number, 'id': event.id,
                'linkId': link_id or '', 'text': text, 'to': to, 'networkCode': _network_code(from_number)}
        return self._answer_phone_event(event, self._post_form(url, form))

    def link_id_of(self, from_number):
        """The linkId of the newest SMS ``from_number`` sent to a premium short code (None without one)."""
        with self._lock:
            events = [event for event in self._phone_events if event.number == from_number and event.link_id]
            return events[-1].link_id if events else None

    def send_optout(self, phone_number, sender_id='AFRICASTKNG'):
        """POST an AT bulk SMS opt-out to the opt-out callback; returns its HTTP status."""
        url = self._required_callback_url('optout')
        event = self._record_phone_event('optout', phone_number, '', sender_id)
        form = {'senderId': sender_id, 'phoneNumber': phone_number}
        return self._answer_phone_event(event, self._post_form(url, form))

    def send_subscription(self, phone_number, short_code, keyword='', update_type='addition'):
        """POST an AT premium subscription notification (``updateType`` 'addition' or 'deletion') to the
        subscription callback; returns its HTTP status."""
        url = self._required_callback_url('subscription')
        event = self._record_phone_event('subscription', phone_number, ('%s %s' % (update_type, keyword)).strip(),
                                         short_code)
        form = {'phoneNumber': phone_number, 'shortCode': short_code, 'keyword': keyword, 'updateType': update_type}
        return self._answer_phone_event(event, self._post_form(url, form))

    def _record_phone_event(self, kind, number, text, to):
        """Show what the phone sent in its thread at once, before Odoo answers."""
        with self._lock:
            event = _PhoneEvent(id=str(uuid.uuid4()), kind=kind, number=number, text=text, to=to,
                                created_at=_utc_now().isoformat(timespec='milliseconds'), seq=next(self._sequence))
            self._phone_events.append(event)
        return event

    def _answer_phone_event(self, event, http_status):
        with self._lock:
            event.http_status, event.answered = http_status, True
        return http_status

    def _required_callback_url(self, kind):
        with self._lock:
            url = self._callback_urls[kind]
        if not url:
            raise RuntimeError('no %s callback URL is configured' % kind)
        return url

    def _post_form(self, url, form):
        """POST ``form`` url-encoded, as AT does; the HTTP status, or None when unreachable. Never under
        the lock: a slow callback must not block the API."""
        request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method='POST',
                                         headers={'Content-Type': 'application/x-www-form-urlencoded'})
        try:
            with self._opener.open(request, timeout=self.callback_timeout) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as error:
            error.close()
            return error.code
        except (urllib.error.URLError, OSError) as error:
            _logger.warning('Callback %s unreachable: %s', redact_url(url), error)
            return None

    # ------------------------------------------------------------------ the AT API

    def _take_fault(self, endpoint):
        """Count an API request and pop the fault that applies to it, if any."""
        with self._lock:
            self._counters['requests'] += 1
            if endpoint == 'messaging':
                self._counters['send_requests'] += 1
            for fault in self._faults:
                if fault.endpoint in ('any', endpoint):
                    fault.remaining -= 1
                    if not fault.remaining:
                        self._faults.remove(fault)
                    self._counters['faults'] += 1
                    return fault
        return None

    def _wait(self, seconds):
        """Sleep, but wake up when the simulator stops."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def _wait_latency(self):
        self._wait(self._latency)  # one attribute read: no lock, which every request would queue for

    def _authenticated(self, username, api_key):
        expected = self.accounts.get(username or '')
        return expected is not None and hmac.compare_digest(expected.encode(), (api_key or '').encode())

    def handle_api(self, method, path, query, api_key, body):
        """Answer one AT API call: (HTTP status, content type, body bytes)."""
        if path == '/version1/messaging' and method == 'POST':
            return self._send(_parse_form(body), api_key)
        if path == '/version1/messaging' and method == 'GET':
            return self._fetch_messages(_parse_form(query), api_key)
        if path == '/version1/user' and method == 'GET':
            return self._user_data(_parse_form(query), api_key)
        return 404, TEXT, b'Not Found'

    def _send(self, form, api_key):
        missing = [name for name in ('username', 'to', 'message') if not form.get(name)]
        if 'username' in missing:
            return _text(400, 'Missing required field: username')
        if not self._authenticated(form['username'], api_key):
            return _text(401, AUTHENTICATION_INVALID)
        if missing:
            return _text(400, 'Missing required field: %s' % ', '.join(missing))
        numbers = [number.strip() for number in form['to'].split(',') if number.strip()]
        if not numbers:
            return _text(400, 'Missing required field: to')
        sender_id = form.get('from') or None
        premium = form.get('bulkSMSMode') == '0'
        if premium and not sender_id:
            return _text(400, 'Missing required field: from (the premium short code)')
        parts = analyze(form['message']).segments
        with self._lock:
            if sender_id in self.invalid_sender_ids:
                return _json(201, {'SMSMessageData': {'Message': 'InvalidSenderId', 'Recipients': []}})
            # One request is received at one time, at one price per recipient
            received_at = _utc_now().isoformat(timespec='milliseconds')
            cost = self.rate * parts
            messages = [self._receive(number, form['message'], sender_id, form['username'], parts, cost=cost,
                                      created_at=received_at)
                        for number in numbers]
            if premium:
                self._mark_premium(messages, sender_id, form.get('linkId') or None, form.get('keyword') or None)
            if form.get('enqueue') in ('1', 'true', 'True'):
                self._counters['enqueued'] += len(messages)
                for message in messages:
                    message.enqueue = True
            accepted_ids = [message.id for message in messages if message.accepted]
            if self.auto_deliver and accepted_ids:
                self._schedule_reports(accepted_ids)
        return _json(201, {'SMSMessageData': {'Message': self._summary(messages),
                                              'Recipients': [_recipient(message) for message in messages]}})

    def _receive(self, number, text, sender_id, username, parts, cost=None, created_at=None):
        """Accept or refuse one recipient, bill it and record it; the lock is held by the caller."""
        status_code = self._status_code_for(number)
        if cost is None:
            cost = self.rate * parts
        if status_code in ACCEPTED_CODES and cost > self._balance:
            status_code = 405
        accepted = status_code in ACCEPTED_CODES
        if accepted:
            self._balance -= cost
        message = _Message(
            id='ATXid_%s' % secrets.token_hex(16) if accepted else None,  # as uuid4().hex, at half the cost
            number=number, text=text, sender_id=sender_id, username=username,
            status_code=status_code, status=RECIPIENT_STATUSES[status_code],
            cost=self._money(cost) if accepted else '0', amount=cost if accepted else Decimal(0), parts=parts,
            network_code=_network_code(number),
            created_at=created_at or _utc_now().isoformat(timespec='milliseconds'),
        )
        if accepted:
            message.fate_status, message.fate_reason = self._fate_for(number)
            self._messages_by_id[message.id] = message
        message.seq = next(self._sequence)
        self._count_received(message)
        self._messages.append(message)
        return message

    def _mark_premium(self, messages, short_code, link_id, keyword):
        """A premium send: a linkId must be one AT gave an SMS of that number to that short code, else AT's
        report fails it with InvalidLinkId (the lock is held by the caller)."""
        self._counters['premium'] += len(messages)
        issued = self._link_ids.get(link_id) if link_id else None
        for message in messages:
            message.premium, message.link_id, message.keyword = True, link_id, keyword
            if link_id and message.accepted and issued != (message.number, short_code):
                message.fate_status, message.fate_reason = 'Failed', 'InvalidLinkId'

    def _fate_for(self, number):
        """The final delivery status of a new accepted message: its rule, else the failure rate's draw."""
        fate = _longest_prefix_match(self._delivery_rules, number)
        if fate is None and self._failure_rate and self._random.random() < self._failure_rate:
            fate = ('Failed', DEFAULT_FAILURE_REASON)
        return fate or ('Success', None)

    def _status_code_for(self, number):
        if not PHONE_NUMBER.match(number):
            return 403
        rule = _longest_prefix_match(self._number_rules, number)
        return DEFAULT_ACCEPTED_CODE if rule is None else rule

    def _count_received(self, message):
        key = (message.number, message.text, message.sender_id)
        counters = self._counters
        counters['messages'] += 1
        counters['accepted' if message.accepted else 'rejected'] += 1
        if key in self._accepted_keys:
            counters['duplicates'] += 1
        if message.accepted:
            self._accepted_keys.add(key)

    def _money(self, amount):
        return '%s %s' % (self.currency, amount.quantize(AMOUNT_PRECISION))

    def _summary(self, messages):
        accepted = [message for message in messages if message.accepted]
        total = sum((message.amount for message in accepted), Decimal(0))
        return 'Sent to %d/%d Total Cost: %s' % (len(accepted), len(messages),
                                                  self._money(total) if accepted else '0')

    def _user_data(self, query, api_key):
        if not query.get('username'):
            return _text(400, 'Missing required field: username')
        if not self._authenticated(query['username'], api_key):
            return _text(401, AUTHENTICATION_INVALID)
        return _json(200, {'UserData': {'balance': self._money(self.balance)}})

    def _fetch_messages(self, query, api_key):
        """The inbox: always empty, inbound messages are pushed to the callback instead."""
        if not self._authenticated(query.get('username'), api_key):
            return _text(401, AUTHENTICATION_INVALID)
        return _json(200, {'SMSMessageData': {'Messages': []}})

    # ------------------------------------------------------------------ control endpoints

    def handle_control(self, method, path, query, body):
        """Answer one ``/__sim__/`` call: (HTTP status, JSON-ready dict)."""
        routes = {
            ('GET', '/__sim__/state'): self._control_state,
            ('GET', '/__sim__/phones'): self._control_phones,
            ('GET', '/__sim__/thread'): self._control_thread,
            ('POST', '/__sim__/config'): self._control_config,
            ('POST', '/__sim__/deliver'): self._control_deliver,
            ('POST', '/__sim__/fate'): self._control_fate,
            ('POST', '/__sim__/inbound'): self._control_inbound,
            ('POST', '/__sim__/optout'): self._control_optout,
            ('POST', '/__sim__/subscription'): self._control_subscription,
            ('POST', '/__sim__/reset'): self._control_reset,
        }
        route = routes.get((method, path))
        if route is None:
            known_path = any(route_path == path for _method, route_path in routes)
            return (405, {'error': 'method not allowed'}) if known_path else (404, {'error': 'not found'})
        try:
            data = _parse_form(query) if method == 'GET' else _parse_json_object(body)
            return 200, route(data)
        except ControlError as error:
            return error.status, {'error': str(error)}
        except KeyError as error:
            return 404, {'error': str(error.args[0]) if error.args else 'not found'}
        except (ValueError, TypeError, RuntimeError) as error:
            return 400, {'error': str(error)}

    def _control_state(self, query):
        messages = self.messages
        if query.get('limit'):
            messages = messages[-int(query['limit']):] if int(query['limit']) > 0 else []
        return {'stats': self.stats(), 'messages': messages, 'config': self.config()}

    def _control_phones(self, query):
        """Everything the inbox page polls: the phones (the ``limit`` most recent, 200 by default, so a page left
        open during a 100k benchmark stays light), their total count, the counters and the settings."""
        limit = int(query.get('limit') or PHONES_LIMIT)
        _require(limit >= 0, 'limit must be >= 0')
        phones = self.phones()
        return {'phones': phones[:limit], 'phone_count': len(phones), 'stats': self.stats(), 'config': self.config()}

    def _control_thread(self, query):
        number = _required(query, 'number').strip()
        if number.isdigit():  # '+' left unencoded in the query string arrives as a space
            number = '+' + number
        return {'number': number, 'entries': self.thread(number)}

    def _control_config(self, data):
        # Validate everything first, then apply: a bad key changes nothing.
        changes = []
        for name, value in data.items():
            try:
                changes.append(self._config_change(name, value))
            except KeyError as error:
                raise ControlError('every item of %s needs %s' % (name, error)) from None
        with self._lock:
            for change in changes:
                change()
        return self.config()

    # A flat dispatch on the setting's name, each branch "validate, then return the change" (complexity 14): a
    # table of one function per setting would only move each two-line check away from its name.
    def _config_change(self, name, value):  # noqa: C901
        """A function applying one validated setting of ``POST /__sim__/config``."""
        if name in ('balance', 'rate'):
            amount = _to_decimal(value, name)
            return lambda: self.set_balance(amount) if name == 'balance' else setattr(self, 'rate', amount)
        if name == 'latency':
            seconds = _to_seconds(value, name)
            return lambda: self.set_latency(seconds)
        if name == 'failure_rate':
            fraction = _to_fraction(value, name)
            return lambda: self.set_failure_rate(fraction)
        if name in ('delivery_delay', 'hang_seconds'):
            seconds = _to_seconds(value, name)
            return lambda: setattr(self, name, seconds)
        if name == 'report_repeats':
            _require(isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10,
                     'report_repeats must be an integer from 1 to 10')
            return lambda: setattr(self, 'report_repeats', value)
        if name == 'reorder_reports':
            _require(isinstance(value, bool), 'reorder_reports must be true or false')
            return lambda: setattr(self, 'reorder_reports', value)
        if name == 'auto_deliver':
            _require(isinstance(value, bool), 'auto_deliver must be true or false')
            return lambda: setattr(self, 'auto_deliver', value)
        if name == 'callback_urls':
            _require(isinstance(value, dict) and set(value) <= set(CALLBACK_KINDS),
                     'callback_urls must be an object with keys among %s' % ', '.join(CALLBACK_KINDS))
            for url in value.values():
                _checked_callback_url(url, self.allow_remote)
            return lambda: self.set_callback_urls(**{**self.callback_urls, **value})
        if name == 'invalid_sender_ids':
            _require(isinstance(value, list), 'invalid_sender_ids must be a list')
            sender_ids = {str(sender_id) for sender_id in value}
            return lambda: (self.invalid_sender_ids.clear(), self.invalid_sender_ids.update(sender_ids))
        if name == 'number_rules':
            rules = dict(_checked_number_rule(item['prefix'], item['status_code']) for item in _items(value, name))
            return lambda: _replace(self._number_rules, rules)
        if name == 'delivery_rules':
            rules = {str(item['prefix']): _checked_fate(item.get('status', 'Failed'),
                                                        item.get('failure_reason', DEFAULT_FAILURE_REASON))
                     for item in _items(value, name)}
            return lambda: _replace(self._delivery_rules, rules)
        if name == 'faults':
            faults = [_new_fault(item['kind'], item.get('count', 1), item.get('after_processing', True),
                                 item.get('endpoint', 'messaging')) for item in _items(value, name)]
            return lambda: _replace(self._faults, faults)
        raise ControlError('unknown setting %r' % name)

    def _control_deliver(self, data):
        posted = self.deliver_pending(final=bool(data.get('final', True)),
                                      intermediate=bool(data.get('intermediate', True)))
        return {'posted': [[message_id, status] for message_id, status in posted]}

    def _control_fate(self, data):
        """Set a message's fate; with ``deliver: true`` also post its reports now (the inbox page does)."""
        message_id = _required(data, 'message_id')
        self.set_fate(message_id, _required(data, 'status'), data.get('failure_reason'))
        if not data.get('deliver'):
            return {'ok': True}
        posted = self.deliver_messages([message_id])
        return {'ok': True, 'posted': [[posted_id, status] for posted_id, status in posted]}

    def _control_inbound(self, data):
        status = self.send_inbound(_required(data, 'from'), _required(data, 'text'), to=data.get('to', '12345'),
                                   link_id=data.get('link_id'), premium=bool(data.get('premium')))
        return {'http_status': status}

    def _control_optout(self, data):
        status = self.send_optout(_required(data, 'phone_number'), sender_id=data.get('sender_id', 'AFRICASTKNG'))
        return {'http_status': status}

    def _control_subscription(self, data):
        update_type = data.get('update_type', 'addition')
        _require(update_type in ('addition', 'deletion'), 'update_type must be addition or deletion')
        status = self.send_subscription(_required(data, 'phone_number'), _required(data, 'short_code'),
                                        keyword=data.get('keyword', ''), update_type=update_type)
        return {'http_status': status}

    def _control_reset(self, _data):
        self.reset()
        return {'ok': True}


# ---------------------------------------------------------------------- wire helpers

def _require(condition, message):
    if not condition:
        raise ControlError(message)


def _required(data, name):
    value = data.get(name)
    if value in (None, ''):
        raise ControlError('missing %r' % name)
    return value


def _items(value, name):
    _require(isinstance(value, list) and all(isinstance(item, dict) for item in value),
             '%s must be a list of objects' % name)
    return value


def _replace(container, content):
    container.clear()
    if isinstance(container, dict):
        container.update(content)
    else:
        container.extend(content)


def _parse_form(raw):
    """First value of each field of an url-encoded body or query string."""
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8', errors='replace')
    return {name: values[0] for name, values in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}


def _parse_json_object(body):
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ControlError('the body is not valid JSON') from None
    _require(isinstance(data, dict), 'the body must be a JSON object')
    return data


def _text(status, text):
    return status, TEXT, text.encode()


def _json(status, payload):
    return status, JSON, json.dumps(payload).encode()


def _recipient(message):
    """A message as one entry of AT's ``Recipients``; refused ones carry no id, no cost and no parts."""
    recipient = {'statusCode': message.status_code, 'number': message.number, 'status': message.status,
                 'cost': message.cost, 'messageId': message.id or 'None'}
    if message.accepted:
        recipient['messageParts'] = message.parts
    return recipient


def _endpoint_name(method, path):
    """Which API call a request is, for faults and counters: 'messaging' is a send only."""
    if method == 'POST' and path == '/version1/messaging':
        return 'messaging'
    return 'user' if path == '/version1/user' else 'other'


class _SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Clients open dozens of connections at once (a pool per account); the default backlog of 5 drops them.
    request_queue_size = 1024
    simulator: ATSimulator

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            # A client that gave up (timeout fault, reset) makes writes fail: expected, no traceback.
            _logger.debug('Connection from %s ended early: %s', client_address, error)
        else:
            _logger.error('Error while serving %s', client_address, exc_info=error)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive, as clients with a connection pool expect
    server_version = 'ATSimulator/1.0'
    # TCP_NODELAY, as AT's own front servers answer: the handler writes the headers and the body apart, and with
    # Nagle's algorithm the body of a small answer waits for the client's delayed ACK of the headers, about 40 ms
    # per request on a kept-alive connection, on top of any configured latency.
    disable_nagle_algorithm = True

    def setup(self):  # pylint: disable=missing-return
        super().setup()
        with self.simulator._lock:
            self.simulator._counters['connections'] += 1

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def log_message(self, format_string, *args):
        # One line per answered request, through logging rather than stderr; the phone page's polls (a GET of
        # /__sim__/ every 1.5 s) only at debug level, so they do not drown the console of `make run`.
        is_poll = self.command == 'GET' and getattr(self, 'path', '').startswith('/__sim__/')
        (_logger.debug if is_poll else _logger.info)('%s %s', self.address_string(), format_string % args)

    @property
    def simulator(self):
        return self.server.simulator

    def _dispatch(self):
        path, _, query = self.path.partition('?')
        is_control = path.startswith('/__sim__/')
        body = self._read_body(is_control)
        if body is None:
            return
        if is_control:
            refusal = self._control_refusal()
            if refusal:
                self._answer(*_json(403, {'error': refusal}))
                return
            status, payload = self.simulator.handle_control(self.command, path, query, body)
            self._answer(*_json(status, payload))
        elif path in INBOX_PATHS and self.command == 'GET':
            if self._host_allowed():
                self._answer(200, HTML, self.simulator._inbox_page)
            else:
                self._answer(*_text(403, 'Forbidden'))
        elif path.startswith('/version1/'):
            self._serve_api(path, query, body)
        else:
            self._answer(*_text(404, 'Not Found'))

    def _control_refusal(self):
        """Why this control call is refused (None if allowed): a page of another origin must not drive it.

        The per-run token (embedded in the phone page, known to the process that started the simulator) is
        required; a browser also sends Origin on cross-origin calls, refused even with a token. A custom header
        and a JSON body make any cross-origin call need a CORS preflight, which the simulator never grants.
        """
        if not self._host_allowed():
            return 'unknown Host'
        origin = self.headers.get('Origin')
        if origin and origin not in self._own_origins():
            return 'cross-origin calls are refused'
        token = self.headers.get(CONTROL_TOKEN_HEADER, '')
        if not hmac.compare_digest(token.encode(), self.simulator.control_token.encode()):
            return 'the %s header is missing or wrong' % CONTROL_TOKEN_HEADER
        content_type = (self.headers.get('Content-Type') or '').split(';')[0].strip()
        if self.command == 'POST' and content_type != JSON:
            return 'control calls post JSON (Content-Type: application/json)'
        return None

    def _host_allowed(self):
        """The Host header names this machine: a DNS-rebinding page (Host: its own name) gets neither the phone
        page, which embeds the token, nor the control API."""
        host = urllib.parse.urlsplit('//' + (self.headers.get('Host') or '')).hostname
        return self.simulator.allow_remote or is_loopback_host(host)

    def _own_origins(self):
        port = self.simulator.port
        return {self.simulator.url, 'http://127.0.0.1:%s' % port, 'http://localhost:%s' % port,
                'http://[::1]:%s' % port}

    def _read_body(self, is_control):
        """The request body, or None after answering 400/413 for a bad or too large one."""
        error = _json if is_control else _text
        try:
            length = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            self._answer(*error(400, {'error': 'bad Content-Length'} if is_control else 'Bad Content-Length'),
                         close=True)
            return None
        if length < 0:
            self._answer(*error(400, {'error': 'bad Content-Length'} if is_control else 'Bad Content-Length'),
                         close=True)
            return None
        if length > MAX_BODY_BYTES:
            self._drain(length)
            message = 'the body is larger than %d bytes' % MAX_BODY_BYTES
            self._answer(*error(413, {'error': message} if is_control else message), close=True)
            return None
        return self.rfile.read(length)

    def _drain(self, length):
        if length > MAX_DRAINED_BYTES:
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return
            length -= len(chunk)

    def _serve_api(self, path, query, body):
        simulator = self.simulator
        fault = simulator._take_fault(_endpoint_name(self.command, path))
        if fault and fault.kind == 'timeout':
            # Hang before or after processing; either way the request is processed, as at AT.
            if not fault.after_processing:
                simulator._wait(simulator.hang_seconds)
        elif fault and not fault.after_processing:
            simulator._wait_latency()
            self._fail(fault.kind)
            return
        answer = simulator.handle_api(self.command, path, query, self.headers.get('apiKey'), body)
        simulator._wait_latency()
        if fault and fault.after_processing:
            if fault.kind != 'timeout':
                self._fail(fault.kind)
                return
            simulator._wait(simulator.hang_seconds)
        self._answer(*answer)

    def _fail(self, kind):
        if kind == 'http_500':
            self._answer(*_text(500, 'Internal Server Error'))
        elif kind == 'http_401':
            self._answer(*_text(401, AUTHENTICATION_INVALID))
        else:
            self._reset_connection()

    def _reset_connection(self):
        """Close with SO_LINGER 0: the client gets a TCP reset and no answer at all."""
        _logger.info('%s "%s" connection reset (fault)', self.address_string(), self.requestline)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        self.close_connection = True
        # The socket really closes only once its file objects are closed too; the handler still flushes
        # its output file afterwards, so it gets a harmless one.
        self.rfile.close()
        self.wfile.close()
        self.wfile = io.BytesIO()
        self.connection.close()

    def _answer(self, status, content_type, body, close=False):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        if close:
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


# ---------------------------------------------------------------------- command line

def _decimal_argument(text):
    try:
        return _to_decimal(text, 'amount')
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _fraction_argument(text):
    try:
        return _to_fraction(text, 'failure rate')
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parse_args(argv):
    parser = argparse.ArgumentParser(prog='python3 -m simulator.at_simulator', description=__doc__.split('\n')[0])
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on; anything but loopback needs --allow-remote')
    parser.add_argument('--allow-remote', action='store_true',
                        help='allow a non-loopback --host and non-loopback callback URLs (the control API is then '
                             'reachable from the network, protected by its token only)')
    parser.add_argument('--control-token', metavar='TOKEN', default=os.environ.get(CONTROL_TOKEN_ENV),
                        help='token of the /__sim__/ control API (X-Simulator-Token header); default: $%s, '
                             'else random' % CONTROL_TOKEN_ENV)
    parser.add_argument('--port', type=int, default=8071)
    parser.add_argument('--username', default='simulator')
    parser.add_argument('--api-key', default='simulator-key')
    parser.add_argument('--balance', type=_decimal_argument, default=Decimal('1000'))
    parser.add_argument('--currency', default='KES')
    parser.add_argument('--rate', type=_decimal_argument, default=Decimal('0.80'), help='price of one message part')
    parser.add_argument('--callback-base', metavar='URL',
                        help='sets the delivery, inbound, optout and subscription URLs to URL/delivery, URL/inbound, '
                             'URL/optout, URL/subscription')
    parser.add_argument('--delivery-url', metavar='URL')
    parser.add_argument('--inbound-url', metavar='URL')
    parser.add_argument('--optout-url', metavar='URL')
    parser.add_argument('--subscription-url', metavar='URL', help='premium subscription notifications')
    parser.add_argument('--auto-deliver', type=float, metavar='SECONDS',
                        help='post delivery reports by themselves, SECONDS after each send')
    parser.add_argument('--failure-rate', type=_fraction_argument, default=0.0, metavar='FRACTION',
                        help='random fraction (0-1) of accepted messages whose delivery report says Failed')
    parser.add_argument('--seed', type=int, help='seed of the failure-rate draws, for repeatable runs')
    parser.add_argument('--log-level', default='INFO', choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'),
                        help='INFO logs every API request; WARNING only problems (a line per request costs about '
                             'a sixth of the CPU of a small request)')
    return parser.parse_args(argv)


def _callback_urls(args):
    base = args.callback_base.rstrip('/') + '/' if args.callback_base else None
    return {kind: getattr(args, '%s_url' % kind) or (base + kind if base else None) for kind in CALLBACK_KINDS}


def main(argv=None):
    args = _parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level),
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    if not is_loopback_host(args.host):
        if not args.allow_remote:
            _logger.error('--host %s is not loopback: the simulator and its control API would be reachable from the '
                          'network. Pass --allow-remote if that is what you want.', args.host)
            return 2
        _logger.warning('Listening on %s: the simulator is reachable from the network (--allow-remote).',
                        args.host)
    simulator = ATSimulator(host=args.host, port=args.port, accounts={args.username: args.api_key},
                            balance=args.balance, currency=args.currency, rate=args.rate, seed=args.seed,
                            failure_rate=args.failure_rate, control_token=args.control_token,
                            allow_remote=args.allow_remote)
    simulator.set_callback_urls(**_callback_urls(args))
    if args.auto_deliver is not None:
        simulator.auto_deliver = True
        simulator.delivery_delay = args.auto_deliver
    stop = threading.Event()
    # SIGTERM (e.g. from a process manager) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_args: stop.set())
    simulator.start()
    _logger.info('API base URL for the SDK: %s/version1, callbacks: %s', simulator.url,
                 {kind: redact_url(url) for kind, url in simulator.callback_urls.items()})
    _logger.info('Phones: %s/phones', simulator.url)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        _logger.info('Interrupted: stopping')
    finally:
        simulator.stop()
        _logger.info('Simulator stopped')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
