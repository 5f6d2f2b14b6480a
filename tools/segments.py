"""Count SMS segments the way the network bills them (GSM 03.38 / UCS-2), standard library only.

This is the one segmenter of the addon: the cost estimate, the composer counter and the simulator's
``messageParts`` all come from :func:`analyze`, so they can never disagree. The browser counter in
``static/src`` is checked against the same cases (``tools/segments_cases.json``).

Rules:

* A message is GSM-7 when every character is in the GSM 03.38 basic set or its extension table;
  otherwise the *whole* message is UCS-2.
* GSM-7 length is in septets: basic characters count 1, extension characters count 2 (escape + char).
  UCS-2 length is in UTF-16 code units: a character outside the Basic Multilingual Plane (most emoji)
  is a surrogate pair and counts 2.
* One part holds 160 septets / 70 units. A concatenated message loses room to the user data header:
  153 septets / 67 units per part.
* Parts are filled character by character. An escape pair or a surrogate pair is never split across
  two parts (phones would show garbage), so a part can end one unit short and the message can need one
  part more than ``ceil(length / 153)``.
"""
from __future__ import annotations

from typing import NamedTuple

GSM7 = 'GSM-7'
UCS2 = 'UCS-2'

# GSM 03.38 default alphabet, in table order (0x1B, the escape itself, is not a character a user types).
# 0x09 is the capital C with cedilla, as in the 3GPP table; the small one is not GSM-7.
GSM7_BASIC = frozenset(
    '@£$¥èéùìòÇ\nØø\rÅå'
    'Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ'
    ' !"#¤%&\'()*+,-./'
    '0123456789:;<=>?'
    '¡ABCDEFGHIJKLMNO'
    'PQRSTUVWXYZÄÖÑÜ§'
    '¿abcdefghijklmno'
    'pqrstuvwxyzäöñüà'
)

# Extension table: each of these is sent as ESC + char, so it costs 2 septets.
GSM7_EXTENSION = frozenset('\f^{}\\[]~|€')

SINGLE_PART_LIMIT = {GSM7: 160, UCS2: 70}
MULTI_PART_LIMIT = {GSM7: 153, UCS2: 67}


class SegmentInfo(NamedTuple):
    """What a text costs on the wire. ``per_segment`` is the capacity of one part for this message."""

    encoding: str
    length: int
    segments: int
    per_segment: int
    characters: int


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` can be sent in the GSM 03.38 alphabet."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _gsm7_units(char: str) -> int:
    return 2 if char in GSM7_EXTENSION else 1


def _ucs2_units(char: str) -> int:
    # Python strings hold code points; UTF-16 needs a surrogate pair above the BMP.
    return 2 if ord(char) > 0xFFFF else 1


def _pack(unit_sizes: list[int], capacity: int) -> int:
    """Number of parts of ``capacity`` units needed when no character may straddle two parts."""
    parts, used = 1, 0
    for size in unit_sizes:
        if used + size > capacity:
            parts += 1
            used = 0
        used += size
    return parts


GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION


def analyze(text: str) -> SegmentInfo:
    """Encoding, length and segment count of ``text``.

    The empty string is GSM-7 of length 0 and needs **0 segments**: there is nothing to send, and a
    cost estimate must not bill it. ``per_segment`` is then the single-part capacity (160).
    """
    # Fast path (a cost estimate analyses one text per recipient): when every character is one unit, no
    # character can straddle two parts and the count is a plain division, checked by set operations in C.
    if GSM7_BASIC.issuperset(text):
        return _uniform(GSM7, len(text), len(text))
    if not GSM7_ALL.issuperset(text):
        units = len(text.encode("utf-16-le", "surrogatepass")) // 2
        if units == len(text):
            return _uniform(UCS2, units, len(text))
    return _analyze_by_character(text)


def _uniform(encoding: str, length: int, characters: int) -> SegmentInfo:
    """``analyze`` of a text whose characters are all one unit long."""
    if length <= SINGLE_PART_LIMIT[encoding]:
        return SegmentInfo(encoding, length, 1 if length else 0, SINGLE_PART_LIMIT[encoding], characters)
    capacity = MULTI_PART_LIMIT[encoding]
    return SegmentInfo(encoding, length, -(-length // capacity), capacity, characters)


def _analyze_by_character(text: str) -> SegmentInfo:
    if is_gsm7(text):
        encoding, unit_sizes = GSM7, [_gsm7_units(char) for char in text]
    else:
        encoding, unit_sizes = UCS2, [_ucs2_units(char) for char in text]
    length = sum(unit_sizes)
    if length <= SINGLE_PART_LIMIT[encoding]:
        segments = 1 if length else 0
        return SegmentInfo(encoding, length, segments, SINGLE_PART_LIMIT[encoding], len(text))
    capacity = MULTI_PART_LIMIT[encoding]
    return SegmentInfo(encoding, length, _pack(unit_sizes, capacity), capacity, len(text))


# Look-alikes that word processors and phones put into text and that would switch a whole message to
# UCS-2 (and so cut a part from 160 to 70 characters). Every replacement is plain GSM-7, and no
# replacement contains a key, so smart_encode() is idempotent.
_LOOK_ALIKES = {
    # single quotes, apostrophes, primes
    '\u2018': "'", '\u2019': "'", '\u201a': "'", '\u201b': "'", '\u2032': "'", '\u2039': "'", '\u203a': "'",
    '\u02bc': "'", '\u00b4': "'", '\u0060': "'",
    # double quotes
    '\u201c': '"', '\u201d': '"', '\u201e': '"', '\u201f': '"', '\u2033': '"', '\u00ab': '"', '\u00bb': '"',
    # dashes and hyphens
    '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2015': '-', '\u2212': '-',
    # bullets
    '\u2022': '-', '\u2023': '-', '\u2043': '-', '\u00b7': '-',
    # ellipsis
    '\u2026': '...',
    # spaces: no-break, en/em and friends, narrow no-break, ideographic; tab
    '\u00a0': ' ', '\u2000': ' ', '\u2001': ' ', '\u2002': ' ', '\u2003': ' ', '\u2004': ' ', '\u2005': ' ',
    '\u2006': ' ', '\u2007': ' ', '\u2008': ' ', '\u2009': ' ', '\u200a': ' ', '\u202f': ' ', '\u205f': ' ',
    '\u3000': ' ', '\t': ' ',
    # invisible characters pasted from web pages and office documents
    '\u200b': '', '\u200c': '', '\u200d': '', '\u2060': '', '\ufeff': '', '\u00ad': '',
    # line and paragraph separators
    '\u2028': '\n', '\u2029': '\n',
}
_LOOK_ALIKE_TABLE = str.maketrans(_LOOK_ALIKES)


def smart_encode(text: str) -> str:
    """Replace typographic look-alikes (curly quotes, dashes, ellipsis, odd spaces, bullets) by GSM-7.

    Other characters are left alone: an emoji or a Swahili/Arabic text stays UCS-2 on purpose.
    """
    return text.translate(_LOOK_ALIKE_TABLE)
