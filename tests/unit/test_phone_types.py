"""Numbers that cannot receive SMS (tools.phone.non_mobile_type): landlines, premium-rate, toll-free... are told
from mobiles by the region's metadata; what the metadata cannot tell is kept."""

import time

import phonenumbers
import pytest

from tools.phone import NON_MOBILE_TYPES, non_mobile_type


@pytest.mark.parametrize("number", [
    "+254712345678",  # Safaricom
    "+254110123456",  # Safaricom 011x
    "+254733000001",  # Airtel
    "+255754123456",  # Tanzania
    "+256772123456",  # Uganda
    "+250788123456",  # Rwanda
    "+447911123456",  # UK mobile (+44 is shared with GG, JE, IM: the slow path)
    "+2348031234567",  # Nigeria
])
def test_mobiles_are_kept(number):
    assert non_mobile_type(number) is None


@pytest.mark.parametrize(("number", "reason"), [
    ("+254202222222", "fixed_line"),  # Nairobi landline
    ("+442071234567", "fixed_line"),  # London landline
    ("+19005551234", "premium_rate"),
    ("+18005551234", "toll_free"),
    ("+448001234567", "toll_free"),
    ("+33810123456", "shared_cost"),  # France 08 1x
    ("+445512345678", "uan"),
])
def test_non_mobiles_are_excluded_with_their_type(number, reason):
    assert non_mobile_type(number) == reason


def test_fixed_line_or_mobile_is_kept():
    """US numbers cannot be told apart by the metadata: kept, never excluded on a guess."""
    number = phonenumbers.parse("+14155552671")
    assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
    assert non_mobile_type("+14155552671") is None


@pytest.mark.parametrize("value", [None, "", "0712345678", "+254", "+999123456789", "+254712345678\n", 254712345678,
                                   "+0123456789", "+2547123456789012345"])
def test_anything_else_is_not_judged(value):
    assert non_mobile_type(value) is None


def test_voip_and_personal_numbers_are_kept():
    assert phonenumbers.PhoneNumberType.VOIP not in NON_MOBILE_TYPES
    assert phonenumbers.PhoneNumberType.PERSONAL_NUMBER not in NON_MOBILE_TYPES
    assert non_mobile_type("+445612345678") is None  # UK VoIP
    assert non_mobile_type("+447012345678") is None  # UK personal number


def test_agrees_with_number_type_on_a_sample():
    """The fast path (mobile pattern) never keeps what phonenumbers calls non-mobile, on Kenyan numbers of every
    prefix."""
    for prefix in range(100, 1000, 7):
        e164 = "+254%d123456" % prefix
        parsed = phonenumbers.parse(e164)
        expected = NON_MOBILE_TYPES.get(phonenumbers.number_type(parsed))
        assert non_mobile_type(e164) == expected, e164


def test_fast_for_mobiles():
    numbers = ["+2547%08d" % index for index in range(20000)]
    start = time.perf_counter()
    for number in numbers:
        non_mobile_type(number)
    per_number = (time.perf_counter() - start) / len(numbers)
    assert per_number < 20e-6, "%.1f µs per number" % (per_number * 1e6)
