"""Parsing of AT's form-encoded callbacks: valid shapes accepted, anything else a CallbackError."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.at_callbacks import (
    CallbackError,
    parse_delivery_report,
    parse_inbound_message,
    parse_opt_out,
    parse_subscription,
)

REPORT = {"id": "ATXid_0123456789abcdef", "status": "Success", "phoneNumber": "+254711000001",
          "networkCode": "63902", "retryCount": "0"}


def test_delivery_report_success():
    report = parse_delivery_report(REPORT)
    assert (report.message_id, report.status, report.phone_number) == ("ATXid_0123456789abcdef", "Success",
                                                                      "+254711000001")
    assert report.is_final and report.is_delivered and report.delivery_error is None


@pytest.mark.parametrize(("status", "reason", "error"), [
    ("Failed", "UserInBlackList", "not_allowed"),
    ("Failed", "DeliveryFailure", "not_delivered"),
    ("Failed", "", "not_delivered"),
    ("Rejected", "", "rejected"),
    ("Rejected", "UserDoesNotExist", "invalid_destination"),
    ("Expired", "", "expired"),
    ("AbsentSubscriber", "", "not_delivered"),
])
def test_delivery_report_failures_map_to_odoo_delivery_errors(status, reason, error):
    report = parse_delivery_report({**REPORT, "status": status, "failureReason": reason})
    assert report.is_final and not report.is_delivered
    assert report.delivery_error == error


@pytest.mark.parametrize("status", ["Sent", "Submitted", "Buffered"])
def test_intermediate_statuses(status):
    report = parse_delivery_report({**REPORT, "status": status})
    assert not report.is_final and report.delivery_error is None


def test_number_without_plus_is_normalised():
    assert parse_delivery_report({**REPORT, "phoneNumber": "254711000001"}).phone_number == "+254711000001"


@pytest.mark.parametrize("change", [
    {"id": ""}, {"id": "has spaces"}, {"id": "x" * 101}, {"status": "Exploded"}, {"status": ""},
    {"phoneNumber": "call me"}, {"phoneNumber": ""}, {"networkCode": "abc"}, {"retryCount": "-1"},
    {"failureReason": "x" * 2000},
])
def test_malformed_delivery_reports(change):
    with pytest.raises(CallbackError):
        parse_delivery_report({**REPORT, **change})


def test_missing_field():
    with pytest.raises(CallbackError, match="status"):
        parse_delivery_report({"id": "ATXid_1", "phoneNumber": "+254711000001"})


def test_inbound_and_opt_out():
    inbound = parse_inbound_message({"from": "+254711000001", "text": " STOP ", "to": "20414", "id": "abc-1",
                                     "linkId": "", "date": "2026-11-26 10:00:00", "networkCode": "63902"})
    assert (inbound.from_number, inbound.text, inbound.to) == ("+254711000001", "STOP", "20414")
    opt_out = parse_opt_out({"phoneNumber": "254711000001", "senderId": "UNIVERSITY"})
    assert (opt_out.phone_number, opt_out.sender_id) == ("+254711000001", "UNIVERSITY")
    with pytest.raises(CallbackError):
        parse_opt_out({"senderId": "UNIVERSITY"})


@given(st.dictionaries(st.sampled_from(["id", "status", "phoneNumber", "networkCode", "failureReason",
                                        "retryCount", "from", "text", "senderId"]),
                       st.one_of(st.text(max_size=50), st.lists(st.text(max_size=5), max_size=2))))
def test_parsers_only_raise_callback_error(form):
    for parser in (parse_delivery_report, parse_inbound_message, parse_opt_out):
        with contextlib.suppress(CallbackError):
            parser(form)


def test_parse_subscription():
    update = parse_subscription({"phoneNumber": "254711000001", "shortCode": "22384", "keyword": "RESULTS",
                                 "updateType": "Addition"})
    assert (update.phone_number, update.short_code, update.keyword, update.update_type) == (
        "+254711000001", "22384", "RESULTS", "addition")
    assert parse_subscription({"phoneNumber": "+254711000001", "shortCode": "22384",
                               "updateType": "deletion"}).keyword == ""
    for form in ({"phoneNumber": "+254711000001", "shortCode": "22384", "updateType": "upgrade"},
                 {"phoneNumber": "+254711000001", "updateType": "addition"},
                 {"phoneNumber": "not a number", "shortCode": "22384", "updateType": "addition"},
                 {"phoneNumber": "+254711000001", "shortCode": "22384<script>", "updateType": "addition"},
                 {"phoneNumber": "+254711000001", "shortCode": "22384", "updateType": "addition\x00"}):
        with pytest.raises(CallbackError):
            parse_subscription(form)
