"""ArchiveBodies: each text gets ``sanitize(to_html(text))``, with the sanitizer called once per shape of text.

The conversion and the sanitizer here are stand-ins that keep letters and digits and change the rest, as the real
ones do (the real pair is compared in test_scale.TestMailingScale.test_keep_archives_bodies_by_shape_are_sanitized).
"""
import html
import re

from hypothesis import given
from hypothesis import strategies as st

from tools.archive_bodies import ArchiveBodies

URL = re.compile(r"https?://[\w@:%.+&~#=/-]+")


def to_html(text):
    """Escape, make links of addresses, <br/> for new lines (as sms_content_to_rendered_html)."""
    escaped = html.escape(text)
    return re.sub(r"\r?\n|\r", "<br/>", URL.sub(lambda m: '<a href="%s">%s</a>' % (m.group(), m.group()), escaped))


class CountingSanitizer:
    def __init__(self):
        self.calls = 0

    def __call__(self, markup):
        self.calls += 1
        return "<p>%s</p>" % markup.replace("<br/>", "<br>").replace("&#x27;", "'")


def texts_of_one_mailing(count):
    return ["Hello Student %d, results are out: https://school.example.com/r/Ab3/s/%d\nSTOP: "
            "https://school.example.com/sms/7/%s" % (index, 1000 + index, "xY%05dz" % (index * 7)) for index in
            range(count)]


def test_one_sanitizing_per_shape():
    sanitizer = CountingSanitizer()
    bodies = ArchiveBodies(to_html, sanitizer)
    texts = texts_of_one_mailing(500)
    assert [bodies(text) for text in texts] == [sanitizer(to_html(text)) for text in texts]
    sanitizer.calls -= len(texts)  # the expected values above
    assert sanitizer.calls == 2  # the first text (the reference), then the shape once


def test_a_run_that_changes_the_links_is_sanitized_alone():
    sanitizer = CountingSanitizer()
    bodies = ArchiveBodies(to_html, sanitizer)
    bodies("Go http://a.example.com/x now")
    # "http" replaced by "ftp": same separators, but no link any more; "https" would not be a link of the shape
    for text in ("Go ftp://a.example.com/x now", "Go https://a.example.com/x now", "Go http://b.example.com/y now"):
        assert bodies(text) == sanitizer(to_html(text))


@given(st.lists(st.text(alphabet=st.sampled_from("ab1 Z-'&<>\"\n.:/_é"), max_size=12), min_size=1, max_size=30))
def test_any_names_give_the_sanitizers_result(names):
    sanitizer = CountingSanitizer()
    bodies = ArchiveBodies(to_html, sanitizer)
    texts = ["Hi %s, see http://x.example.com/r/A/s/%d" % (name, index) for index, name in enumerate(names)]
    assert [bodies(text) for text in texts] == [sanitizer(to_html(text)) for text in texts]
