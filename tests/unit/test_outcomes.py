"""The outcome tables (tools/outcomes.py): complete, consistent with each other and with stock's vocabulary."""

import pytest

from tools import outcomes
from tools.at_callbacks import parse_delivery_report

# Stock Odoo 17's vocabularies (sms/models/sms_sms.py), restated here so the tables are checked without Odoo;
# the Odoo tests check the models against stock itself.
STOCK_IAP_FAILURE_STATES = {"insufficient_credit", "wrong_number_format", "country_not_supported", "server_error",
                            "unregistered"}
STOCK_DELIVERY_ERRORS = {"expired", "not_delivered", "invalid_destination", "not_allowed", "rejected"}
STOCK_SMS_FAILURE_TYPES = {"unknown", "sms_number_missing", "sms_number_format", "sms_country_not_supported",
                           "sms_registration_needed", "sms_credit", "sms_server", "sms_acc", "sms_blacklist",
                           "sms_duplicate", "sms_optout"}
REPORT = {"id": "ATXid_1", "phoneNumber": "+254711000001"}


def test_every_documented_send_code_has_a_state_and_a_kind():
    # reference/africastalking.md §2.3: the codes AT documents, accepted ones first.
    assert set(outcomes.SEND_STATUS_CODES) == {100, 101, 102, 401, 402, 403, 404, 405, 406, 407, 409, 500, 501, 502}
    for code, (name, state, kind) in outcomes.SEND_STATUS_CODES.items():
        assert name and state
        assert (kind is None) == (state == outcomes.SUCCESS), code
        assert kind is None or kind in outcomes.FAILURE_KINDS


def test_failed_send_states_are_odoo_states_or_say_how_they_map():
    failed = {state for _name, state, kind in outcomes.SEND_STATUS_CODES.values() if kind}
    failed |= {outcomes.NOT_CONFIGURED, outcomes.UNKNOWN_CODE_STATE}
    # Each is either stock's, given a failure type here, or the provider-error path ("rejected": unknown + reason).
    for state in failed:
        assert state in STOCK_IAP_FAILURE_STATES | set(outcomes.SEND_STATE_FAILURE_TYPES) | {outcomes.REJECTED}
    assert set(outcomes.SEND_STATE_FAILURE_TYPES.values()) <= STOCK_SMS_FAILURE_TYPES
    assert not set(outcomes.SEND_STATE_FAILURE_TYPES) & STOCK_IAP_FAILURE_STATES  # extends, never overrides


@pytest.mark.parametrize(("state", "message_state"), [
    (outcomes.SUCCESS, "pending"), (outcomes.UNKNOWN_OUTCOME, "unknown"), (outcomes.SERVER_ERROR, "rejected"),
    (outcomes.WRONG_NUMBER_FORMAT, "rejected"), (outcomes.NOT_CONFIGURED, "rejected"), ("anything", "rejected"),
])
def test_message_state_of_a_send(state, message_state):
    assert outcomes.message_state_of_send(state) == message_state


def test_report_statuses_partition():
    statuses = (outcomes.INTERMEDIATE_STATUSES, outcomes.DELIVERED_STATUSES, outcomes.FAILED_STATUSES)
    assert sum(len(group) for group in statuses) == len(outcomes.KNOWN_STATUSES)
    documented = {"Sent", "Submitted", "Buffered", "Success", "Failed", "Rejected", "AbsentSubscriber", "Expired"}
    assert documented == outcomes.KNOWN_STATUSES
    for status in outcomes.FAILED_STATUSES:
        assert outcomes.delivery_error(status, "") in STOCK_DELIVERY_ERRORS
        assert outcomes.report_message_state(status) == "failed"
    assert outcomes.report_message_state("Success") == "delivered"
    assert all(outcomes.report_message_state(status) is None for status in outcomes.INTERMEDIATE_STATUSES)
    assert outcomes.report_meaning("Exploded") is None


def test_every_documented_failure_reason_maps_to_a_stock_delivery_error():
    # reference/africastalking.md §3.1
    documented = {"InsufficientCredit", "InvalidLinkId", "UserIsInactive", "UserInBlackList", "UserAccountSuspended",
                  "NotNetworkSubcriber", "UserNotSubscribedToProduct", "UserDoesNotExist", "DeliveryFailure",
                  "DoNotDisturbRejection"}
    assert documented <= set(outcomes.FAILURE_REASONS)
    for reason, (error, kind) in outcomes.FAILURE_REASONS.items():
        assert error in STOCK_DELIVERY_ERRORS, reason
        assert kind in outcomes.FAILURE_KINDS, reason
        assert outcomes.delivery_error("Failed", reason) == error


def test_a_reason_wins_over_the_status_and_an_unknown_reason_falls_back_to_it():
    assert outcomes.delivery_error("Rejected", "UserDoesNotExist") == "invalid_destination"
    assert outcomes.delivery_error("Rejected", "SomethingNew") == "rejected"
    assert outcomes.delivery_error("Expired", "") == "expired"
    assert outcomes.delivery_error("Exploded", "") == "not_delivered"


@pytest.mark.parametrize("reason", ["InvalidPhoneNumber", "UnsupportedNumberType", "UserDoesNotExist",
                                    "UserIsInactive", "NotNetworkSubcriber", "NotNetworkSubscriber",
                                    "userdoesnotexist", " InvalidPhoneNumber "])
def test_hard_failures(reason):
    assert outcomes.is_hard_failure(reason)
    assert outcomes.failure_kind(reason) == outcomes.HARD


@pytest.mark.parametrize(("reason", "kind"), [
    ("AbsentSubscriber", outcomes.SOFT), ("DeliveryFailure", outcomes.SOFT), ("Expired", outcomes.SOFT),
    ("Failed", outcomes.SOFT), ("Rejected", outcomes.SOFT), ("UserAccountSuspended", outcomes.SOFT),
    ("RejectedByGateway", outcomes.SOFT), ("InternalServerError", outcomes.SOFT),
    ("UserInBlacklist", outcomes.CONSENT), ("UserInBlackList", outcomes.CONSENT),
    ("DoNotDisturbRejection", outcomes.CONSENT), ("UserNotSubscribedToProduct", outcomes.CONSENT),
    ("InsufficientBalance", outcomes.ACCOUNT), ("InsufficientCredit", outcomes.ACCOUNT),
    ("InvalidSenderId", outcomes.ACCOUNT), ("RiskHold", outcomes.ACCOUNT), ("CouldNotRoute", outcomes.ACCOUNT),
])
def test_other_failures_are_not_hard(reason, kind):
    assert outcomes.failure_kind(reason) == kind
    assert not outcomes.is_hard_failure(reason)


@pytest.mark.parametrize("reason", ["", None, 403, "Success", "Sent", "Invalid phone number", "SomethingNew"])
def test_unknown_text_has_no_kind(reason):
    assert outcomes.failure_kind(reason) is None
    assert not outcomes.is_hard_failure(reason)


def test_hard_failure_reasons_is_what_is_hard_failure_says():
    hard = {reason for reason in outcomes.FAILURE_REASON_KINDS if outcomes.is_hard_failure(reason)}
    assert hard == outcomes.HARD_FAILURE_REASONS
    assert not outcomes.HARD_FAILURE_REASONS & outcomes.NETWORK_OPT_OUT_REASONS


@pytest.mark.parametrize(("status", "reason", "hard", "opt_out", "text"), [
    ("Failed", "UserDoesNotExist", True, False, "UserDoesNotExist"),
    ("Rejected", "", False, False, "Rejected"),
    ("Failed", "UserInBlackList", False, True, "UserInBlackList"),
    ("AbsentSubscriber", "", False, False, "AbsentSubscriber"),
    ("Success", "", False, False, None),
    ("Sent", "", False, False, None),
])
def test_delivery_report_properties(status, reason, hard, opt_out, text):
    report = parse_delivery_report({**REPORT, "status": status, "failureReason": reason})
    assert report.is_hard_failure is hard
    assert report.is_network_opt_out is opt_out
    assert report.failure_text == text
    assert report.message_state == outcomes.report_message_state(status)
