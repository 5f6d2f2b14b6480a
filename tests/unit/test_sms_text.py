"""tools.sms_text: the text as it leaves, one rule for the mailing's preparation and its estimate."""

from tools.sms_text import plural, text_as_sent


def test_plural():
    assert plural(1, "1 recipient", "%s recipients") == "1 recipient"
    assert plural(0, "1 recipient", "%s recipients") == "0 recipients"
    assert plural(3, "1 recipient", "%s recipients") == "3 recipients"


def test_text_as_sent_order_smart_encoding_links_then_opt_out_line():
    seen = []

    def complete_links(text):
        seen.append(text)
        return text.replace("LINK", "https://x.co/r/Ab1")

    text = text_as_sent("\u201cHi\u201d LINK", True, complete_links, "STOP? https://x.co/sms/1/abc")
    assert seen == ['"Hi" LINK'], "links are completed on the smart-encoded text"
    assert text == '"Hi" https://x.co/r/Ab1\nSTOP? https://x.co/sms/1/abc'


def test_text_as_sent_plain():
    assert text_as_sent(None, False) == ""
    assert text_as_sent("\u201cHi\u201d", False) == "\u201cHi\u201d"
