import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools import phone
from tools.phone import NormalizedNumber, is_e164, normalize_number

KENYAN = "+254712345678"


@pytest.mark.parametrize(
    "raw",
    [
        "0712 345 678",
        "0712-345-678",
        "0712.345.678",
        "(0712) 345 678",
        "712345678",  # Excel dropped the leading zero
        "+254 712 345 678",
        "+254-712-345-678",
        "254712345678",
        "254 712 345 678",
        "00254712345678",
        "000254712345678",  # Kenya's own international prefix
        "254712345678.0",
        "2.54712345678E+11",
        254712345678,
        254712345678.0,
        712345678.0,
        "tel:+254712345678",
        "TEL: 0712345678",
        "\u00a00712\u00a0345\u00a0678 ",
        b"0712345678",
    ],
)
def test_kenyan_spellings_normalise_to_one_e164(raw):
    assert normalize_number(raw) == NormalizedNumber(KENYAN, True, None)


def test_default_country_reads_national_numbers():
    assert normalize_number("0772 123 456", "UG").e164 == "+256772123456"
    assert normalize_number("0772 123 456", "ug").e164 == "+256772123456"
    assert normalize_number("0712 345 678", "TZ").e164 == "+255712345678"


def test_international_numbers_ignore_the_default_country():
    assert normalize_number("+44 20 7946 0958").e164 == "+442079460958"
    assert normalize_number("0044 20 7946 0958").e164 == "+442079460958"


@pytest.mark.parametrize("raw", [None, "", "   ", False, "tel:"])
def test_missing(raw):
    assert normalize_number(raw) == NormalizedNumber(None, False, "missing")


@pytest.mark.parametrize(
    "raw",
    [
        "N/A",
        "none",
        "call me",
        "0712ABC678",
        "+",
        "2.54712E+11",  # Excel rounded digits away: refusing beats texting a stranger
        3.5,
        float("nan"),
        float("inf"),
        True,
        object(),
        ["0712345678"],
        "0" * 500,
    ],
)
def test_unparsable(raw):
    result = normalize_number(raw)
    assert (result.e164, result.valid, result.reason) == (None, False, "unparsable")


@pytest.mark.parametrize("raw", ["0000", "0712 34", "+254 12345", "256712345678"])
def test_invalid(raw):
    assert normalize_number(raw) == NormalizedNumber(None, False, "invalid")


@pytest.mark.parametrize("country", [None, "", "XX", 42])
def test_bad_default_country_still_reads_international_numbers(country):
    assert normalize_number("+254712345678", country).e164 == KENYAN
    assert normalize_number("0712345678", country).valid is False


def test_result_is_frozen():
    with pytest.raises(AttributeError):
        normalize_number("0712345678").e164 = "+1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+254712345678", True),
        ("+1234", True),
        ("254712345678", False),
        ("+254 712345678", False),
        ("+254712345678\n", False),
        ("+12", False),
        ("", False),
        (None, False),
        (254712345678, False),
    ],
)
def test_is_e164(value, expected):
    assert is_e164(value) is expected


def test_one_e164_check_in_the_addon():
    """The gateway refuses what is_e164 refuses (there was a second, looser regex there)."""
    from tools import at_gateway

    assert at_gateway.is_e164 is is_e164
    assert not any(isinstance(value, re.Pattern) and value.pattern.startswith("^\\+\\d")
                   for value in vars(at_gateway).values())
    assert not is_e164("+254712345678\n")


def test_valid_results_always_pass_the_sdk_check():
    assert is_e164(normalize_number("0712 345 678").e164)


@given(st.one_of(st.text(), st.binary(), st.integers(), st.floats(), st.none()), st.one_of(st.text(), st.none()))
def test_normalize_number_never_raises(raw, country):
    result = normalize_number(raw, country)
    assert isinstance(result, NormalizedNumber)
    assert result.valid == (result.e164 is not None) == (result.reason is None)
    if result.valid:
        assert is_e164(result.e164)


# The fast path for national numbers must agree with phonenumbers' general parser wherever it answers.
FAST_PATH_REGIONS = ["KE", "UG", "TZ", "RW", "NG", "ZA", "GH", "ET", "FR", "DE", "IN", "US", "GB", "IT", "AR", "BR"]


@given(st.sampled_from(FAST_PATH_REGIONS), st.text(alphabet="0123456789", min_size=4, max_size=14))
def test_national_fast_path_agrees_with_the_general_parser(region, tail):
    for digits in ("0" + tail, "1" + tail, tail):
        fast = phone._parse_national(digits, region)
        if fast is not None:
            assert fast == phone._parse_general(digits, region), (digits, region)


@pytest.mark.parametrize("region", FAST_PATH_REGIONS)
def test_national_fast_path_on_every_example_number(region):
    """Real numbers of every type, typed in national format, give the general parser's answer."""
    for number_type in range(11):
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is None:
            continue
        national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
        digits = phone._clean(national)
        expected = phone._parse_general(digits, region)
        assert phone._parse(digits, region) == expected, (national, region)
        assert expected.valid, (national, region)
