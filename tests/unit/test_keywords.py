import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.keywords import DEFAULT_KEYWORDS, normalize_keyword, parse_keyword, parse_keyword_config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", "stop"),
        ("stop", "stop"),
        (" stop ", "stop"),
        ("Stop.", "stop"),
        ("STOP!", "stop"),
        ("\tStop!!!\n", "stop"),
        ("Simama", "stop"),
        ("acha", "stop"),
        ("Unsubscribe", "stop"),
        ("stopall", "stop"),
        ("Start", "start"),
        ("ANZA", "start"),
        ("jiunge!", "start"),
        ("yes", None),  # a "Yes" to a reminder is a message, not a subscription
        ("Help?", "help"),
        ("msaada", "help"),
        ("INFO", "help"),
        ("\"stop\"", "stop"),
        ("stop 🙏", "stop"),
        ("ＳＴＯＰ", "stop"),  # full-width letters from some phone keyboards
    ],
)
def test_default_keywords(text, expected):
    assert parse_keyword(text) == expected


@pytest.mark.parametrize(
    "text",
    ["stop it please", "please stop", "STOP 20414", "s t o p", "stopp", "", "   ", "!!!", None, 42, "x" * 10_000],
)
def test_not_keywords(text):
    assert parse_keyword(text) is None


def test_accents_are_ignored_on_both_sides():
    keywords = {"stop": ("Arrêt",)}
    assert parse_keyword("ARRET", keywords) == "stop"
    assert parse_keyword("arrêt.", keywords) == "stop"
    assert parse_keyword("Simamá") == "stop"


def test_inner_whitespace_is_collapsed():
    keywords = {"stop": ("stop all",)}
    assert parse_keyword("  STOP \t  ALL ", keywords) == "stop"


def test_custom_keywords_replace_the_defaults():
    keywords = {"stop": ("TOA",), "start": ("RUDI",)}
    assert parse_keyword("toa", keywords) == "stop"
    assert parse_keyword("Rudi!", keywords) == "start"
    assert parse_keyword("STOP", keywords) is None


def test_a_word_under_two_actions_goes_to_the_first():
    assert parse_keyword("ok", {"stop": ("OK",), "start": ("OK",)}) == "stop"


def test_default_keywords_are_already_normalised():
    for words in DEFAULT_KEYWORDS.values():
        assert all(normalize_keyword(word) == word for word in words)


def test_parse_keyword_config():
    assert parse_keyword_config("STOP, Simama\nacha") == ("STOP", "SIMAMA", "ACHA")
    assert parse_keyword_config(" stop ,, STOP;\r\n\n  quit. ,") == ("STOP", "QUIT")
    assert parse_keyword_config("stop  all, arrêt") == ("STOP ALL", "ARRET")


@pytest.mark.parametrize("text", ["", " , \n ; ", False, None])
def test_parse_keyword_config_empty(text):
    assert parse_keyword_config(text) == ()


def test_config_feeds_the_parser():
    keywords = {"stop": parse_keyword_config("toa, ondoa"), "help": parse_keyword_config("saidia")}
    assert parse_keyword("Ondoa!", keywords) == "stop"
    assert parse_keyword("saidia", keywords) == "help"


@given(st.text())
def test_parse_keyword_never_raises(text):
    assert parse_keyword(text) in {None, "stop", "start", "help"}
    assert isinstance(parse_keyword_config(text), tuple)


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", True), (" Yes! ", True), ("NDIO", True), ("ndío.", True), ("yes please", False), ("", False),
    (None, False), ("y" * 500, False),
])
def test_is_confirmation(text, expected):
    from tools.keywords import is_confirmation
    assert is_confirmation(text) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("20414", "20414"), (" +20414 ", "20414"), ("MySchool", "MYSCHOOL"), ("My School", "MYSCHOOL"), ("", ""),
    (None, ""), (False, ""),
])
def test_normalize_sender(value, expected):
    from tools.keywords import normalize_sender
    assert normalize_sender(value) == expected
