"""Parse and validate the form-encoded callbacks Africa's Talking posts (reference/africastalking.md §3).

Each parser takes the request's form as a mapping of str to str and returns a small frozen dataclass, or raises
:class:`CallbackError` with a short reason (logged, never echoed with the input).
"""

import re
from dataclasses import dataclass, field

from .outcomes import (
    DELIVERED_STATUSES,
    FAILED_STATUSES,
    INTERMEDIATE_STATUSES,
    KNOWN_STATUSES,
    NETWORK_OPT_OUT_REASONS,
    delivery_error,
    is_hard_failure,
    report_message_state,
)

MAX_FIELD_LENGTH = 1600  # the longest concatenated SMS is ~1,530 characters
# AT's retryCount is a handful of premium-SMS retries; anything past 6 digits is not AT (and would overflow the
# PostgreSQL integer column: 2147483648 gave a 500, which AT retries forever).
MAX_RETRY_COUNT_DIGITS = 6

MESSAGE_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")
# ASCII digits only: ``\d`` alone also matches the digits of other scripts (Arabic-Indic, Devanagari...).
PHONE_RE = re.compile(r"^\+?\d{6,17}$", re.ASCII)
NETWORK_CODE_RE = re.compile(r"^\d{0,10}$", re.ASCII)


class CallbackError(ValueError):
    """The callback is malformed; the reason is safe to log."""


@dataclass(frozen=True)
class DeliveryReport:
    message_id: str
    status: str
    phone_number: str
    network_code: str = ""
    failure_reason: str = ""
    retry_count: int = 0
    # When Odoo received it (naive UTC datetime; None when not known): matches it to a send's time window.
    received_at: object = field(default=None, compare=False)

    @property
    def is_final(self):
        return self.status not in INTERMEDIATE_STATUSES

    @property
    def is_delivered(self):
        return self.status in DELIVERED_STATUSES

    @property
    def delivery_error(self):
        """Odoo's delivery error for a failed report (``not_delivered``, ``not_allowed``, ...), else None."""
        return delivery_error(self.status, self.failure_reason) if self.status in FAILED_STATUSES else None

    @property
    def is_failed(self):
        return self.status in FAILED_STATUSES

    @property
    def message_state(self):
        """The message state it sets: 'delivered' / 'failed' when final, None (no change) when intermediate."""
        return report_message_state(self.status)

    @property
    def failure_text(self):
        """What a failed report says went wrong (its reason, else its status); None when it did not fail."""
        return (self.failure_reason or self.status) if self.is_failed else None

    @property
    def is_hard_failure(self):
        """Failed because the number cannot receive SMS (outcomes.HARD_FAILURE_REASONS)."""
        return self.is_failed and is_hard_failure(self.failure_reason or self.status)

    @property
    def is_network_opt_out(self):
        """Failed because the subscriber blocks promotional SMS at the operator: the number is blacklisted."""
        return self.is_failed and self.failure_reason in NETWORK_OPT_OUT_REASONS


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    from_number: str
    text: str
    to: str = ""
    link_id: str = ""
    date: str = ""
    network_code: str = ""


@dataclass(frozen=True)
class OptOut:
    phone_number: str
    sender_id: str = ""


def check_form(form):
    """Refuse a form with a NUL character in any name or value: PostgreSQL cannot store it (a 500 before)."""
    for name in form:
        values = form.getlist(name) if hasattr(form, "getlist") else [form[name]]
        for text in (name, *values):
            if isinstance(text, str) and "\x00" in text:
                raise CallbackError("NUL character in the form")


def _field(form, name, required=True, pattern=None):
    value = form.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if value is None:
        raise CallbackError("field %s is not text" % name)
    if required and not value:
        raise CallbackError("field %s is missing" % name)
    if len(value) > MAX_FIELD_LENGTH:
        raise CallbackError("field %s is too long" % name)
    if value and pattern is not None and not pattern.match(value):
        raise CallbackError("field %s is malformed" % name)
    return value


def _phone(form, name):
    value = _field(form, name, pattern=PHONE_RE)
    return value if value.startswith("+") else "+" + value


def parse_delivery_report(form):
    check_form(form)
    status = _field(form, "status")
    if status not in KNOWN_STATUSES:
        raise CallbackError("unknown delivery status")
    retry = _field(form, "retryCount", required=False) or "0"
    if not (retry.isascii() and retry.isdigit()):  # '²' is a digit to isdigit() but not to int()
        raise CallbackError("field retryCount is malformed")
    if len(retry.lstrip("0")) > MAX_RETRY_COUNT_DIGITS:
        raise CallbackError("field retryCount is out of range")
    return DeliveryReport(
        message_id=_field(form, "id", pattern=MESSAGE_ID_RE),
        status=status,
        phone_number=_phone(form, "phoneNumber"),
        network_code=_field(form, "networkCode", required=False, pattern=NETWORK_CODE_RE),
        failure_reason=_field(form, "failureReason", required=False),
        retry_count=int(retry),
    )


def parse_inbound_message(form):
    check_form(form)
    return InboundMessage(
        message_id=_field(form, "id", required=False, pattern=MESSAGE_ID_RE),
        from_number=_phone(form, "from"),
        text=_field(form, "text", required=False),
        to=_field(form, "to", required=False),
        link_id=_field(form, "linkId", required=False),
        date=_field(form, "date", required=False),
        network_code=_field(form, "networkCode", required=False, pattern=NETWORK_CODE_RE),
    )


def parse_opt_out(form):
    check_form(form)
    return OptOut(phone_number=_phone(form, "phoneNumber"), sender_id=_field(form, "senderId", required=False))
