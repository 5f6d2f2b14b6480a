"""The text of an SMS as it leaves: one rule for the mailing's preparation and its estimate (plain Python)."""
from .segments import smart_encode


def plural(count, one, many):
    """``one`` (already translated) for 1, else ``many`` (translated, with a %s) filled with ``count``."""
    return one if count == 1 else many % count


def text_as_sent(text, smart_encoding, complete_links=None, unsubscribe=""):
    """The text AT receives, for the preparation and the estimate alike: look-alike characters replaced (smart
    encoding), tracked links completed by ``complete_links``, then the opt-out line."""
    text = smart_encode(text or "") if smart_encoding else (text or "")
    if complete_links:
        text = complete_links(text)
    return "%s\n%s" % (text, unsubscribe) if unsubscribe else text
