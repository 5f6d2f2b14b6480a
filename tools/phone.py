"""Phone number normalisation to E.164, tolerant of what people type and what spreadsheets export.

Plain Python (no ``odoo`` import). ``normalize_number`` never raises: every input, however broken, gives a
``NormalizedNumber`` whose ``reason`` says why it was rejected, so an import can report rejects row by row.
"""
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber

# The regex the Africa's Talking SDK applies to every recipient before it sends.
AT_E164_PATTERN = re.compile(r"\+\d{1,3}\d{3,}")

# Longer than any real phone number plus generous formatting: refusing early keeps garbage cheap.
MAX_RAW_LENGTH = 64

_URI_PREFIX = re.compile(r"^\s*(?:tel|callto|sms)\s*:\s*", re.IGNORECASE)
# Excel stores phone numbers as floats; exported as text they come back as "254712345678.0".
_EXCEL_WHOLE_FLOAT = re.compile(r"^(\+?\d+)\.0+$")
_EXCEL_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?[eE]\+?\d{1,2}$")
# Visual separators people put inside numbers; removed before parsing.
_SEPARATORS = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\-\u2010-\u2015.()\[\]/]")


@dataclass(frozen=True)
class NormalizedNumber:
    """Result of ``normalize_number``.

    ``e164`` is set only for valid numbers; ``reason`` is None for valid numbers, otherwise one of
    ``'missing'`` (nothing typed), ``'unparsable'`` (not a phone number at all) or ``'invalid'``
    (looks like a number but no such number exists in the numbering plan).
    """

    e164: str | None
    valid: bool
    reason: str | None = None


MISSING = NormalizedNumber(None, False, "missing")
UNPARSABLE = NormalizedNumber(None, False, "unparsable")
INVALID = NormalizedNumber(None, False, "invalid")


def is_e164(value) -> bool:
    """True when ``value`` passes the Africa's Talking SDK check (``^\\+\\d{1,3}\\d{3,}$``).

    ``fullmatch`` is used so that a trailing newline, which ``$`` would tolerate, is refused.
    """
    return isinstance(value, str) and AT_E164_PATTERN.fullmatch(value) is not None


def normalize_number(raw, default_country="KE") -> NormalizedNumber:
    """Normalise ``raw`` (text, int or float as read from a file) to E.164.

    National numbers (``0712 345 678``) are read in ``default_country``; ``00`` and ``+`` prefixes,
    ``tel:`` URIs, separators and Excel's ``254712345678.0`` are accepted. Never raises.
    """
    try:
        text = _as_text(raw)
        if text is None:
            return UNPARSABLE
        text = _URI_PREFIX.sub("", text).strip()
        if not text:
            return MISSING
        digits = _clean(text)
        if digits is None:
            return UNPARSABLE
        return _parse(digits, _region(default_country))
    except Exception:  # noqa: BLE001 - the contract is "never raise": a bug here must not abort an import
        return UNPARSABLE


def _as_text(raw) -> str | None:
    """Text form of a cell value, or None when the type can never hold a phone number."""
    if raw is None or raw is False:
        return ""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        # A float phone number only makes sense when it is whole (Excel lost the leading zero, not digits).
        return str(int(raw)) if raw.is_integer() else None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str) or len(raw) > MAX_RAW_LENGTH:
        return None
    return raw.strip()


def _clean(text: str) -> str | None:
    """Digits with an optional leading '+', or None when the text is not a phone number."""
    whole = _EXCEL_WHOLE_FLOAT.match(text)
    if whole:
        text = whole.group(1)
    elif _EXCEL_SCIENTIFIC.match(text):
        return _from_scientific(text)
    text = _SEPARATORS.sub("", text)
    if text.startswith("00") and not text.startswith("000"):
        # "00" is the international prefix almost everywhere; Kenya's "000" is left to phonenumbers.
        text = "+" + text[2:]
    if not re.fullmatch(r"\+?\d+", text):
        # Letters ("N/A", "none", vanity numbers) are data errors in a contact list, not numbers to dial.
        return None
    return text


def _from_scientific(text: str) -> str | None:
    """'2.54712345678E+11' -> '254712345678', refused when Excel already rounded digits away."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    mantissa_digits = len(text.split("e")[0].split("E")[0].replace(".", ""))
    digits = str(int(value))
    # '2.54712E+11' stands for 254712xxxxxx: padding it with zeros would dial the wrong person.
    if len(digits) != mantissa_digits:
        return None
    return digits


def _region(default_country) -> str | None:
    return default_country.strip().upper() if isinstance(default_country, str) and default_country.strip() else None


def _parse(digits: str, region: str | None) -> NormalizedNumber:
    fast = _parse_national(digits, region)
    return fast if fast is not None else _parse_general(digits, region)


def _parse_general(digits: str, region: str | None) -> NormalizedNumber:
    candidates = [digits]
    if not digits.startswith("+") and region:
        country_code = str(phonenumbers.country_code_for_region(region))
        if country_code != "0" and digits.startswith(country_code) and len(digits) > len(country_code) + 5:
            # "254712345678" typed without '+': try it as international first.
            candidates.insert(0, "+" + digits)
    parsed_any = False
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, None if candidate.startswith("+") else region)
        except phonenumbers.NumberParseException:
            continue
        parsed_any = True
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return NormalizedNumber(e164, True, None)
    return INVALID if parsed_any else UNPARSABLE


@cache
def _plain_national_prefix(region: str | None):
    """``(country code, national prefix)`` of a region whose national numbers are read by dropping the prefix
    ("0712…" -> 712…), or None when its metadata has other parsing rules (left to ``phonenumbers.parse``)."""
    metadata = PhoneMetadata.metadata_for_region(region) if region else None
    if (metadata is None or not metadata.national_prefix or metadata.national_prefix_transform_rule
            or metadata.national_prefix_for_parsing not in (None, metadata.national_prefix)):
        return None
    return metadata.country_code, metadata.national_prefix


def _parse_national(digits: str, region: str | None) -> NormalizedNumber | None:
    """The common case of a contact list, a valid national number ("0712345678"), without ``phonenumbers.parse``
    (most of an import's time at 100,000 rows). None: not that case, the general parser decides."""
    plain = _plain_national_prefix(region)
    if plain is None:
        return None
    country_code, prefix = plain
    national = digits[len(prefix):]
    if not digits.startswith(prefix) or not national or national[0] == "0" or not national.isdigit():
        return None
    if not phonenumbers.is_valid_number(PhoneNumber(country_code=country_code, national_number=int(national))):
        return None
    return NormalizedNumber("+%d%s" % (country_code, national), True, None)


# Number types that cannot receive an SMS (phonenumbers' number_type, where the region's metadata knows it): sending
# to them is billed and reaches nobody. Kept: MOBILE, FIXED_LINE_OR_MOBILE (regions whose metadata cannot tell,
# e.g. the US), VOIP and PERSONAL_NUMBER (many receive SMS) and UNKNOWN (no metadata for the type).
NON_MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.FIXED_LINE: "fixed_line",
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium_rate",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
    phonenumbers.PhoneNumberType.SHARED_COST: "shared_cost",
    phonenumbers.PhoneNumberType.UAN: "uan",
    phonenumbers.PhoneNumberType.VOICEMAIL: "voicemail",
    phonenumbers.PhoneNumberType.PAGER: "pager",
}


def non_mobile_type(e164) -> str | None:
    """Why the E.164 number ``e164`` cannot receive SMS: ``'fixed_line'``, ``'premium_rate'``, ``'toll_free'``,
    ``'shared_cost'``, ``'uan'``, ``'voicemail'`` or ``'pager'``; None when it may (or when this cannot be told: not
    E.164, unknown country, no metadata). Never raises.

    Runs per recipient of 100,000-recipient mailings: a number matching its region's mobile pattern (nearly every
    contact) is answered with one regular expression (~2 µs); the others get ``phonenumbers.number_type``.
    """
    if not is_e164(e164):
        return None
    split = _split_country_code(e164[1:])
    if split is None:
        return None
    country_code, national = split
    mobile_pattern = _mobile_pattern(country_code)
    if mobile_pattern is not None and mobile_pattern.fullmatch(national):
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return NON_MOBILE_TYPES.get(phonenumbers.number_type(number))


def _split_country_code(digits: str):
    """``(country code, national significant number)`` of E.164 digits, or None for an unassigned code."""
    for length in (1, 2, 3):
        country_code = int(digits[:length])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return country_code, digits[length:]
    return None


@cache
def _mobile_pattern(country_code: int):
    """The compiled mobile pattern of a country code with one region, or None (several regions share it, e.g. +1
    and +44: the region is told by the number, left to ``number_type``; or no mobile pattern is known)."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) != 1:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
    pattern = metadata and metadata.mobile and metadata.mobile.national_number_pattern
    return re.compile(pattern) if pattern else None
