"""The segmenter against the shared cases file, the part boundaries, and properties over random text."""
import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.segments import GSM7_BASIC, GSM7_EXTENSION, _analyze_by_character, analyze, is_gsm7, smart_encode

CASES_FILE = Path(__file__).resolve().parents[2] / 'tools' / 'segments_cases.json'
CASES = json.loads(CASES_FILE.read_text(encoding='utf-8'))


def test_cases_file_is_big_enough_and_well_formed():
    assert len(CASES) >= 25
    for case in CASES:
        assert set(case) >= {'text', 'encoding', 'length', 'segments'}
        assert case['encoding'] in ('GSM-7', 'UCS-2')


@pytest.mark.parametrize('case', CASES, ids=[case.get('note', case['text'][:20]) for case in CASES])
def test_shared_cases(case):
    info = analyze(case['text'])
    assert (info.encoding, info.length, info.segments) == (case['encoding'], case['length'], case['segments'])
    assert info.characters == len(case['text'])


def test_empty_text_is_zero_segments():
    assert analyze('') == ('GSM-7', 0, 0, 160, 0)


@pytest.mark.parametrize(('length', 'segments', 'per_segment'), [
    (1, 1, 160), (160, 1, 160), (161, 2, 153), (306, 2, 153), (307, 3, 153), (459, 3, 153), (460, 4, 153),
])
def test_gsm7_boundaries(length, segments, per_segment):
    info = analyze('x' * length)
    assert (info.encoding, info.length, info.segments, info.per_segment) == ('GSM-7', length, segments, per_segment)


@pytest.mark.parametrize(('length', 'segments', 'per_segment'), [
    (1, 1, 70), (70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67), (201, 3, 67), (202, 4, 67),
])
def test_ucs2_boundaries(length, segments, per_segment):
    info = analyze('\u0436' * length)
    assert (info.encoding, info.length, info.segments, info.per_segment) == ('UCS-2', length, segments, per_segment)


def test_escape_pair_is_never_split():
    # 152 septets, then a 2-septet euro that does not fit the 153-septet part: part one ends at 152.
    straddling = 'a' * 152 + '€' + 'a' * 152
    assert analyze(straddling).length == 306
    assert analyze(straddling).segments == 3
    # Same length with the euro on the boundary's other side packs into two parts.
    assert analyze('a' * 153 + '€' + 'a' * 151).segments == 2


def test_surrogate_pair_is_never_split():
    straddling = '\u0436' * 66 + '\U0001F600' + '\u0436' * 66
    assert analyze(straddling).length == 134
    assert analyze(straddling).segments == 3
    assert analyze('\u0436' * 67 + '\U0001F600' + '\u0436' * 65).segments == 2


def test_one_non_gsm_character_switches_the_whole_message():
    assert analyze('a' * 100).segments == 1
    assert analyze('a' * 100 + '\u2019').encoding == 'UCS-2'
    assert analyze('a' * 100 + '\u2019').segments == 2


def test_extension_set_is_the_gsm_one():
    assert set('^{}\\[]~|€\f') == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert len(GSM7_BASIC) == 127  # 128 table positions minus the escape


@pytest.mark.parametrize(('text', 'expected'), [
    ('It\u2019s \u201cfree\u201d', 'It\'s "free"'),
    ('9\u201310 \u2014 now', '9-10 - now'),
    ('Wait\u2026', 'Wait...'),
    ('KES\u00a0100\u2009000', 'KES 100 000'),
    ('\u2022 item', '- item'),
    ('zero\u200bwidth', 'zerowidth'),
    ('Habari \U0001F600', 'Habari \U0001F600'),
    ('\u0416\u0430\u0440\u0430', '\u0416\u0430\u0440\u0430'),
])
def test_smart_encode(text, expected):
    assert smart_encode(text) == expected


def test_smart_encode_turns_typographic_text_into_gsm7():
    text = '\u201cExam\u201d on Mon\u2013Tue\u2026 don\u2019t be late\u00a0\u2022 ICT'
    assert analyze(text).encoding == 'UCS-2'
    assert analyze(smart_encode(text)).encoding == 'GSM-7'


gsm7_text = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=400)
any_text = st.text(max_size=400)
# Few distinct characters, so the packing boundaries are hit often.
boundary_alphabet = st.sampled_from(['a', '€', '\u0436', '\U0001F600', '\u2019', '\u2026', ' '])
mixed_text = st.text(alphabet=boundary_alphabet, max_size=400)


@given(st.one_of(any_text, mixed_text, gsm7_text))
def test_analyze_properties(text):
    info = analyze(text)
    assert info.characters == len(text)
    assert info.encoding == ('GSM-7' if is_gsm7(text) else 'UCS-2')
    if info.encoding == 'UCS-2':
        assert info.length == len(text.encode('utf-16-le', 'surrogatepass')) // 2
    assert info.segments >= math.ceil(info.length / info.per_segment)
    # A part ends at most one unit short (a 2-unit pair that did not fit), so packing costs little.
    assert info.segments <= math.ceil(info.length / (info.per_segment - 1))
    assert (info.segments == 0) == (text == '')


# One-unit characters only (the fast path of analyze), long enough to span several parts.
uniform_text = st.text(alphabet=st.sampled_from(['a', ' ', '@', '\u0436', '\u2019', '\ud800']), max_size=700)


@given(st.one_of(any_text, mixed_text, gsm7_text, uniform_text))
def test_fast_path_counts_like_the_character_by_character_packing(text):
    assert analyze(text) == _analyze_by_character(text)


@given(gsm7_text)
def test_gsm7_text_is_untouched_by_smart_encode(text):
    assert smart_encode(text) == text
    assert analyze(smart_encode(text)).encoding == 'GSM-7'


@given(st.one_of(any_text, mixed_text))
def test_smart_encode_is_idempotent_and_never_lengthens_encoding(text):
    once = smart_encode(text)
    assert smart_encode(once) == once
    if is_gsm7(text):
        assert is_gsm7(once)
