"""Every outcome Africa's Talking (AT) can give, and what it means in Odoo: the one place for these tables.

Read by the adapter (``tools/at_gateway.py``: send answers), the callback parser (``tools/at_callbacks.py``:
delivery reports) and the models (``sms.sms``, ``africastalking.message``, ``phone.blacklist``). Sources:
reference/africastalking.md §2.3 (send ``statusCode``), §3.1 (report ``status`` and ``failureReason``).

Vocabularies, from AT to Odoo:

* **send state**: the adapter's answer per recipient, in Odoo's IAP vocabulary where one exists
  (``sms.sms.IAP_TO_SMS_FAILURE_TYPE``), plus ``unknown_outcome`` (AT may have sent it: never resend blindly),
  ``blacklisted``, ``rejected`` and ``not_configured``;
* **delivery error**: Odoo's delivery error without its ``sms_`` prefix (``sms.sms.DELIVERY_ERRORS``); stock's
  ``sms.tracker._action_update_from_provider_error`` turns it into a bounce or an error;
* **message state**: ``africastalking.message.state`` (pending, delivered, failed, rejected, unknown);
* **failure kind**: whose fault a failure is (see FAILURE_KINDS), so that a number is only called dead for a
  failure that says so.

No ``odoo`` import here: stock's own tables (``BOUNCE_DELIVERY_ERRORS``, ``IAP_TO_SMS_FAILURE_TYPE``) are read
from stock by the models, which extend them with ``SEND_STATE_FAILURE_TYPES`` below.
"""

# ----------------------------------------------------------------------------------------------------------------
# Send states (the adapter's per-recipient answer)
# ----------------------------------------------------------------------------------------------------------------

SUCCESS = "success"  # accepted by AT: Odoo's "pending" ("Sent"), delivered or not later
UNKNOWN_OUTCOME = "unknown_outcome"  # no usable answer: may have left and be billed, the report settles it
SERVER_ERROR = "server_error"  # AT not reached, or AT says it did not send: safe to resend
UNREGISTERED = "unregistered"  # the account (credentials, sender id, risk hold) refused the whole request
WRONG_NUMBER_FORMAT = "wrong_number_format"
INSUFFICIENT_CREDIT = "insufficient_credit"
COUNTRY_NOT_SUPPORTED = "country_not_supported"
BLACKLISTED = "blacklisted"  # the subscriber refused promotional SMS at the network
REJECTED = "rejected"  # refused by AT or the operator's gateway for another reason
NOT_CONFIGURED = "not_configured"  # no account or no usable API key: nothing was sent

# Failure kinds: whose fault a failure is.
HARD = "hard"  # the number cannot receive SMS (invalid, no such subscriber): counts towards a dead number
SOFT = "soft"  # this message failed, the number may work tomorrow (phone off, operator trouble, expired)
CONSENT = "consent"  # the subscriber refused (network opt-out, DND, not subscribed): a consent matter, not dead
ACCOUNT = "account"  # our side (balance, sender id, account hold, routing): never the number's fault
FAILURE_KINDS = (HARD, SOFT, CONSENT, ACCOUNT)

# Send-time ``statusCode`` of each recipient: (AT's name, send state, failure kind or None when accepted).
SEND_STATUS_CODES = {
    100: ("Processed", SUCCESS, None),
    101: ("Sent", SUCCESS, None),
    102: ("Queued", SUCCESS, None),
    401: ("RiskHold", UNREGISTERED, ACCOUNT),  # the account is held
    402: ("InvalidSenderId", UNREGISTERED, ACCOUNT),
    403: ("InvalidPhoneNumber", WRONG_NUMBER_FORMAT, HARD),
    404: ("UnsupportedNumberType", WRONG_NUMBER_FORMAT, HARD),  # a landline, a short code...
    405: ("InsufficientBalance", INSUFFICIENT_CREDIT, ACCOUNT),
    406: ("UserInBlacklist", BLACKLISTED, CONSENT),  # the subscriber opted out at the network (Safaricom *456*9#)
    407: ("CouldNotRoute", COUNTRY_NOT_SUPPORTED, ACCOUNT),  # no route on AT's side for this destination
    409: ("DoNotDisturbRejection", REJECTED, CONSENT),  # Nigeria: promotional sender outside the allowed hours
    500: ("InternalServerError", SERVER_ERROR, SOFT),  # AT says it did not send
    501: ("GatewayError", SERVER_ERROR, SOFT),
    502: ("RejectedByGateway", REJECTED, SOFT),
}
STATUS_CODE_TO_STATE = {code: state for code, (_name, state, _kind) in SEND_STATUS_CODES.items()}
# A recipient without a statusCode (AT's answers before 2017) is accepted when its status says "Success"; an
# unknown code is a refusal (reference §2.3: "map unknown codes to a generic failure").
UNKNOWN_CODE_STATE = REJECTED

# What ``sms.sms.failure_type`` a failed send state gets, beyond stock's ``IAP_TO_SMS_FAILURE_TYPE`` (which the
# model extends with this). A state in neither (``rejected``) takes stock's provider-error path: failure type
# ``unknown`` with AT's reason.
SEND_STATE_FAILURE_TYPES = {
    BLACKLISTED: "sms_blacklist",
    NOT_CONFIGURED: "sms_acc",
}
# Failed send states worth a warning in the server log: the whole account is stuck, not one number.
ACCOUNT_SEND_STATES = frozenset({INSUFFICIENT_CREDIT, UNREGISTERED, NOT_CONFIGURED})

# ``africastalking.message.state`` of a send state; any failure is "rejected" (Not Sent).
SEND_STATE_TO_MESSAGE_STATE = {SUCCESS: "pending", UNKNOWN_OUTCOME: "unknown"}
FAILED_SEND_MESSAGE_STATE = "rejected"


def message_state_of_send(state):
    """``africastalking.message.state`` for the adapter's send state."""
    return SEND_STATE_TO_MESSAGE_STATE.get(state, FAILED_SEND_MESSAGE_STATE)


# ----------------------------------------------------------------------------------------------------------------
# Delivery reports
# ----------------------------------------------------------------------------------------------------------------

INTERMEDIATE = "intermediate"  # progressed, not final: a message that is not final yet stays "Sent"
DELIVERED = "delivered"
FAILED = "failed"

# Report ``status``: (what it means, delivery error when failed without a known failureReason, failure kind).
DELIVERY_STATUSES = {
    "Sent": (INTERMEDIATE, None, None),  # sent by AT's network
    "Submitted": (INTERMEDIATE, None, None),  # handed to the operator
    "Buffered": (INTERMEDIATE, None, None),  # queued at the operator
    "Success": (DELIVERED, None, None),  # on the handset
    "Failed": (FAILED, "not_delivered", SOFT),
    "Rejected": (FAILED, "rejected", SOFT),  # without a reason: the operator gives none, nothing says "dead"
    "AbsentSubscriber": (FAILED, "not_delivered", SOFT),  # phone off or out of coverage
    "Expired": (FAILED, "expired", SOFT),  # discarded by the operator after its retries
}
INTERMEDIATE_STATUSES = frozenset(s for s, (meaning, _e, _k) in DELIVERY_STATUSES.items() if meaning == INTERMEDIATE)
DELIVERED_STATUSES = frozenset(s for s, (meaning, _e, _k) in DELIVERY_STATUSES.items() if meaning == DELIVERED)
FAILED_STATUSES = frozenset(s for s, (meaning, _e, _k) in DELIVERY_STATUSES.items() if meaning == FAILED)
KNOWN_STATUSES = frozenset(DELIVERY_STATUSES)

# Report ``failureReason`` (sent with Failed / Rejected; "not all telcos support this"): (delivery error, kind).
# The delivery error is what stock's provider-error path turns into a bounce (invalid_destination, not_allowed,
# rejected) or an error (not_delivered, expired).
FAILURE_REASONS = {
    "UserInBlacklist": ("not_allowed", CONSENT),  # blocked promotional SMS at the operator: see NETWORK_OPT_OUT
    "UserInBlackList": ("not_allowed", CONSENT),  # AT's documented spelling; both are seen
    "DoNotDisturbRejection": ("not_allowed", CONSENT),
    "UserNotSubscribedToProduct": ("not_allowed", CONSENT),  # premium SMS without a subscription
    "UserAccountSuspended": ("not_allowed", SOFT),  # suspended by the operator (unpaid, fraud check): may return
    "UserIsInactive": ("invalid_destination", HARD),  # the line is deactivated
    "UserDoesNotExist": ("invalid_destination", HARD),
    "NotNetworkSubcriber": ("invalid_destination", HARD),  # sic (AT's spelling): not a number of that operator
    "NotNetworkSubscriber": ("invalid_destination", HARD),
    "InsufficientCredit": ("rejected", ACCOUNT),  # our AT balance at delivery time (premium)
    "InvalidLinkId": ("rejected", ACCOUNT),  # premium reply with a wrong link id
    "DeliveryFailure": ("not_delivered", SOFT),
}


def report_meaning(status):
    """``intermediate``, ``delivered`` or ``failed`` for a report status, None when AT does not document it."""
    entry = DELIVERY_STATUSES.get(status)
    return entry[0] if entry else None


def delivery_error(status, failure_reason):
    """Odoo's delivery error (``not_delivered``, ``not_allowed``, ...) for a failed report's status and reason."""
    entry = FAILURE_REASONS.get(failure_reason)
    if entry:
        return entry[0]
    entry = DELIVERY_STATUSES.get(status)
    return (entry[1] if entry else None) or "not_delivered"


def report_message_state(status):
    """``africastalking.message.state`` a report sets: delivered / failed when final, None (no change) else."""
    meaning = report_meaning(status)
    return meaning if meaning in (DELIVERED, FAILED) else None


# ----------------------------------------------------------------------------------------------------------------
# Consent and dead numbers
# ----------------------------------------------------------------------------------------------------------------

# A failed report with one of these reasons blacklists the number (source "network", phone.blacklist).
NETWORK_OPT_OUT_REASONS = frozenset({"UserInBlacklist", "UserInBlackList"})

# Every reason AT gives for a failure (send-time names and report reasons and statuses) with its kind.
FAILURE_REASON_KINDS = {
    **{name: kind for name, _state, kind in SEND_STATUS_CODES.values() if kind},
    **{status: kind for status, (_meaning, _error, kind) in DELIVERY_STATUSES.items() if kind},
    **{reason: kind for reason, (_error, kind) in FAILURE_REASONS.items()},
}
# The failures that say the number itself cannot receive SMS. A dead-number rule counts these only: a consent
# refusal is handled by the blacklist, an account failure is ours, a soft failure may not happen again.
HARD_FAILURE_REASONS = frozenset(reason for reason, kind in FAILURE_REASON_KINDS.items() if kind == HARD)
_KIND_BY_FOLDED_REASON = {reason.casefold(): kind for reason, kind in FAILURE_REASON_KINDS.items()}


def failure_kind(reason):
    """``hard``, ``soft``, ``consent`` or ``account`` for an AT failure reason or status (any case), else None.

    Pass the report's ``failureReason`` when it has one, else its ``status``; for a send, AT's status name
    (``InvalidPhoneNumber``...). Unknown text (a reason AT adds later, our own messages) has no kind.
    """
    if not isinstance(reason, str):
        return None
    return _KIND_BY_FOLDED_REASON.get(reason.strip().casefold())


def is_hard_failure(reason):
    """True when AT's failure reason (or status) says the number cannot receive SMS: see HARD_FAILURE_REASONS."""
    return failure_kind(reason) == HARD
