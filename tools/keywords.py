"""Inbound SMS keywords (STOP / START / HELP), in English and Swahili by default.

Plain Python (no ``odoo`` import). The rule is deliberately simple so an administrator can predict it:
the whole message, once normalised, must equal a keyword. "Stop." and " stop " opt out; "stop it please"
or "STOP 20414" do not, because a sentence that merely contains the word is not a request.

Normalisation: accents removed (Unicode NFKD), upper case, whitespace, punctuation and symbols stripped at
both ends, inner whitespace collapsed to one space.
"""
import re
import unicodedata

DEFAULT_KEYWORDS = {
    "stop": ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "SIMAMA", "ACHA"),
    # Not "YES": a guardian answering "Yes" to a reminder must not be re-subscribed to lists they left.
    "start": ("START", "SUBSCRIBE", "ANZA", "JIUNGE"),
    "help": ("HELP", "INFO", "MSAADA"),
}

# The answers that confirm a pending double opt-in (English, Swahili): a custom keyword may not use them, since a
# confirmation would then be ambiguous.
CONFIRMATION_WORDS = ("YES", "NDIO")

# Longer messages are conversations, not keywords; skipping them keeps the parser cheap on big inputs.
MAX_KEYWORD_MESSAGE_LENGTH = 160

_INNER_WHITESPACE = re.compile(r"\s+")
_CONFIG_SEPARATORS = re.compile(r"[,;\n\r]+")


def normalize_keyword(text) -> str:
    """Canonical form used on both sides of the comparison ('  Simamá! ' -> 'SIMAMA')."""
    if not isinstance(text, str):
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    without_accents = "".join(char for char in decomposed if not unicodedata.combining(char))
    upper = without_accents.upper()
    start, end = 0, len(upper)
    while start < end and _is_edge_noise(upper[start]):
        start += 1
    while end > start and _is_edge_noise(upper[end - 1]):
        end -= 1
    return _INNER_WHITESPACE.sub(" ", upper[start:end])


def _is_edge_noise(char: str) -> bool:
    # Whitespace (Z), punctuation (P), symbols and emoji (S), control characters (C).
    return char.isspace() or unicodedata.category(char)[0] in "ZPSC"


def parse_keyword(text, keywords=None) -> str | None:
    """Return 'stop', 'start', 'help' (the keys of ``keywords``) or None when ``text`` is no keyword.

    A word configured under several actions belongs to the first one in ``keywords``' order, so with the
    defaults an ambiguous word opts out rather than in. Never raises.
    """
    if not isinstance(text, str) or len(text) > MAX_KEYWORD_MESSAGE_LENGTH:
        return None
    message = normalize_keyword(text)
    if not message:
        return None
    for action, words in (DEFAULT_KEYWORDS if keywords is None else keywords).items():
        if isinstance(words, str):
            words = (words,)
        if any(normalize_keyword(word) == message for word in words or ()):
            return action
    return None


def parse_keyword_config(text) -> tuple[str, ...]:
    """Parse an administrator's list ("STOP, Simama\\nacha") into normalised keywords.

    Separators are commas, semicolons and line breaks; blanks and duplicates are dropped, order is kept.
    Odoo passes ``False`` for an empty field, which gives ``()``.
    """
    if not isinstance(text, str):
        return ()
    keywords = (normalize_keyword(part) for part in _CONFIG_SEPARATORS.split(text))
    return tuple(dict.fromkeys(word for word in keywords if word))


def is_confirmation(text) -> bool:
    """Whether ``text`` is a double opt-in confirmation ("yes", "Ndio!"), normalised as keywords are."""
    if not isinstance(text, str) or len(text) > MAX_KEYWORD_MESSAGE_LENGTH:
        return False
    return normalize_keyword(text) in CONFIRMATION_WORDS


def normalize_sender(value) -> str:
    """A short code or sender id as compared between an inbound's ``to`` and a keyword's: no spaces, no leading
    '+', upper case ('  +20414 ' -> '20414', 'MySchool' -> 'MYSCHOOL'); '' for nothing."""
    if not isinstance(value, str):
        return ""
    return "".join(value.split()).lstrip("+").upper()
