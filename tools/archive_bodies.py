"""The stored HTML of many "keep archives" notes, each sanitized as the ORM would, without sanitizing each one.

Plain Python (no ``odoo`` import): the caller gives the text-to-HTML conversion and the field's sanitizer.

A mailing's texts differ from one recipient to the next only by a few words (a name, the SMS id of a tracked link,
an opt-out code). Sanitizing (lxml parse, clean, serialize: ~150 µs a note) was most of a 100,000-recipient
preparation with "keep archives". A text is cut into runs of ASCII letters and digits and what separates them; texts
with the same separators and the same runs but some ("the shape") are sanitized once, with placeholders for the runs
that vary, and each text gets that result with its own runs put back.

Why this is the sanitizer's result: the sanitizer reads a run of letters and digits in the text of a note, or in a
link's address past its scheme, as characters it keeps as they are, whatever they are. Everything it looks at
(tags, attributes, entities, schemes, quote and signature markers) is made of the separators, which are the shape's
own, or of the runs the shape keeps. What could still differ, the links the text-to-HTML conversion finds (a run
that makes an address, or breaks one), is checked per text: its HTML must be the shape's HTML with its runs put
back, else the text is sanitized on its own.
"""
import re

_RUN = re.compile(r"[A-Za-z0-9]+")
# Shapes and reference texts kept per preparation: bounded, whatever the recipients
MAX_SHAPES = 256


class ArchiveBodies:
    """``bodies(text)``: ``sanitize(to_html(text))``, computed once per shape (see the module)."""

    def __init__(self, to_html, sanitize):
        self.to_html = to_html
        self.sanitize = sanitize
        self._references = {}  # {number of runs: the runs of the first text with that many}
        self._shapes = {}  # {shape key: (HTML, sanitized HTML, placeholders, pattern) or None when it cannot be used}

    def __call__(self, text):
        runs = _RUN.findall(text)
        reference = self._references.get(len(runs))
        if reference is None:
            if len(self._references) >= MAX_SHAPES:
                self._references.clear()
            self._references[len(runs)] = runs
            return self.sanitize(self.to_html(text))
        separators = _RUN.split(text)
        varying = [index for index, (run, kept) in enumerate(zip(runs, reference, strict=True)) if run != kept]
        if not varying:
            return self.sanitize(self.to_html(text))
        changed = set(varying)
        key = (tuple(separators), tuple(None if index in changed else run for index, run in enumerate(runs)))
        shape = self._shapes.get(key, False)
        if shape is False:
            shape = self._shapes[key] = self._shape(separators, runs, varying)
            if len(self._shapes) > MAX_SHAPES:
                self._shapes.clear()
        html = self.to_html(text)
        if shape is not None:
            shape_html, sanitized, placeholders, pattern = shape
            values = dict(zip(placeholders, (runs[index] for index in varying), strict=True))

            def put_back(match):
                return values[match.group()]

            if pattern.sub(put_back, shape_html) == str(html):
                return pattern.sub(put_back, sanitized)
        return self.sanitize(html)

    def _shape(self, separators, runs, varying):
        """The HTML and sanitized HTML of the text with placeholders for its ``varying`` runs, and the pattern
        finding them; None when a placeholder would be ambiguous or the sanitizer did not keep each one."""
        placeholders = ["Qz%dx%dzQ" % (index, len(runs)) for index in varying]
        parts = list(runs)
        for index, placeholder in zip(varying, placeholders, strict=True):
            parts[index] = placeholder
        text = "".join(separator + part for separator, part in zip(separators, parts + [""], strict=True))
        if any(text.count(placeholder) != 1 for placeholder in placeholders):
            return None  # the text has a placeholder's letters of its own
        html = self.to_html(text)
        sanitized = self.sanitize(html)
        html, sanitized = str(html), str(sanitized or "")
        if any(html.count(placeholder) != sanitized.count(placeholder) for placeholder in placeholders):
            return None
        return html, sanitized, placeholders, re.compile("|".join(map(re.escape, placeholders)))
