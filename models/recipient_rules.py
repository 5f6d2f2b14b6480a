"""Who of an SMS's recipients is not sent to, and why: one set of rules for every path that sends or counts.

Used by the mailing's cost estimate and its bulk preparation (``mailing.mailing``, which also serves the
composer's and the broadcast's estimates), by the SMS API before its budget check (``sms.africastalking.api``)
and by the alerts (``sms.alert.rule`` for the lists' opt-outs, ``sms.alert`` at send time). The estimate and the
preparation walk the same ``RecipientRules`` (a clone each), so they cannot disagree on who is excluded.

Extending: add a rule in one place
----------------------------------
Append (or insert, the order is the priority: the first rule that matches gives the reason) one ``Exclusion``
to ``EXCLUSIONS``. Example, a number the rules load per batch::

    Exclusion(
        "dead", "sms_number_format", "dead", _lt("dead numbers"), _lt("The number is dead: suppressed."),
        check=lambda rules, recipient: recipient.number in rules.data["dead"],
        load=lambda rules, numbers: set(rules.env["my.suppression"]._dead_numbers(numbers)),
    )

- ``code``: the rule's key (returned by ``RecipientRules.exclusion``).
- ``failure_type``: the ``mailing.trace`` failure type of a mailing recipient it excludes (a selection value).
- ``line``: the key of ``estimate["excluded"]`` it is counted on; rules may share a line (missing and invalid).
- ``label``: that line's words in the estimate and the mailing's notes ("3 blacklisted"); the first rule of a line
  gives it.
- ``reason``: the sentence given to an API caller or written on a failed alert.
- ``check(rules, recipient)``: true when the rule excludes ``recipient`` (a ``Recipient``); it must be cheap, it
  runs per recipient of 100,000-recipient mailings: read what ``load`` prepared, never query per recipient.
- ``load(rules, numbers)`` (optional): called once per batch with the batch's sanitized numbers; its result is
  ``rules.data[code]`` for the batch's checks.
- ``mailings_only``: the rule applies to mailings (and mass sends of a mailing) only, not to single SMS, the API or
  alerts (e.g. a contact's "do not SMS for mailings").
"""
import copy
from typing import NamedTuple

from odoo import _lt

from ..tools.phone import non_mobile_type

_new_recipient = tuple.__new__


class Recipient(NamedTuple):
    res_id: int | None
    number: str | None  # sanitized E.164, or falsy when the raw number is missing or invalid
    raw_number: str | None
    blacklisted: bool
    duplicate: bool  # an earlier recipient (or a trace of this mailing) has the same number


class Exclusion(NamedTuple):
    code: str
    failure_type: str
    line: str
    label: object  # a lazy translation (_lt)
    reason: object
    check: object
    load: object = None
    mailings_only: bool = False


EXCLUSIONS = [
    Exclusion("missing", "sms_number_missing", "invalid", _lt("invalid or missing numbers"),
              _lt("Invalid or missing number."), check=lambda rules, r: not r.number and not r.raw_number),
    Exclusion("invalid", "sms_number_format", "invalid", _lt("invalid or missing numbers"),
              _lt("Invalid or missing number."), check=lambda rules, r: not r.number),
    # A valid number that cannot receive SMS (landline, premium-rate, toll-free...: tools.phone.non_mobile_type):
    # AT would bill it and nobody would read it.
    Exclusion("not_mobile", "sms_not_mobile", "not_mobile", _lt("not mobile numbers (landline, premium-rate...)"),
              _lt("The number cannot receive SMS (a landline, premium-rate or other non-mobile number)."),
              check=lambda rules, r: non_mobile_type(r.number) is not None),
    Exclusion("blacklist", "sms_blacklist", "blacklist", _lt("blacklisted"), _lt("The number is blacklisted."),
              check=lambda rules, r: r.blacklisted),
    Exclusion("do_not_sms", "sms_optout", "do_not_sms", _lt("do not SMS"),
              _lt("The contact asked for no SMS mailings."),
              check=lambda rules, r: r.number in rules.do_not_sms_numbers, mailings_only=True),
    # Stock's list rule (mailing.list._mailing_get_opt_out_list_sms): opted out of one of the lists and
    # subscribed to none of the others. Alerts to lists follow it too.
    Exclusion("optout", "sms_optout", "optout", _lt("opted out"), _lt("The contact opted out of the lists."),
              check=lambda rules, r: r.res_id in rules.opt_out_ids),
    # A number that kept failing for a reason saying it cannot receive SMS (sms.number.suppression): mailings
    # only, a single SMS or an alert still goes (and its delivery lifts the suppression).
    Exclusion("dead_number", "sms_dead_number", "dead_number", _lt("suppressed: dead number"),
              _lt("Suppressed: dead number."), check=lambda rules, r: r.number in rules.data.get("dead_number", ()),
              load=lambda rules, numbers: rules.env["sms.number.suppression"]._suppressed_among(numbers),
              mailings_only=True),
    Exclusion("duplicate", "sms_duplicate", "duplicate", _lt("duplicates"), _lt("Duplicate number."),
              check=lambda rules, r: r.duplicate),
]


def exclusion_by_code(code):
    return next(exclusion for exclusion in EXCLUSIONS if exclusion.code == code)


def estimate_line(code):
    """The key of ``estimate["excluded"]`` a recipient excluded by ``code`` is counted on."""
    return exclusion_by_code(code).line


def trace_failure_type(code):
    """The ``mailing.trace`` failure type of a mailing recipient excluded by ``code``."""
    return exclusion_by_code(code).failure_type


class RecipientRules:
    """The rules of ``EXCLUSIONS`` for one send (a mailing, a mass composer send, an API call, an alert batch).

    The first recipient of a number wins, even if excluded; numbers a mailing already traced count as seen too,
    so that chunks, and a run resumed after a crash, dedupe like one stock batch.

    Numbers seen are remembered in a set, unless the caller knows the recipients' order beforehand and gives the
    first position of each shared number (``dedupe_by_position``): then the state stays the same size whatever the
    number of recipients (a 1,000,000-recipient mailing would otherwise hold every number).
    """

    def __init__(self, env, mailing=None, opt_out_ids=(), do_not_sms_numbers=(), seen_numbers=(),
                 for_mailing=False, dedupe=True):
        self.env = env  # also gives the labels their language (odoo.tools.translate reads self.env.lang)
        self.opt_out_ids = set(opt_out_ids)
        self.do_not_sms_numbers = set(do_not_sms_numbers)
        self.seen_numbers = set(seen_numbers)
        self.data = {}
        # Without dedupe (alerts, one per record and recipient), a number seen before is no duplicate.
        self.dedupe = dedupe
        self.first_positions = None  # {number: position of its first recipient}: see dedupe_by_position
        for_mailing = for_mailing or bool(mailing)
        self.exclusions = [exclusion for exclusion in EXCLUSIONS if for_mailing or not exclusion.mailings_only]
        self._checks = [(exclusion.code, exclusion.check) for exclusion in self.exclusions]

    @classmethod
    def for_mailing(cls, mailing):
        """The rules of ``mailing`` (an empty recordset: a mass composer send without mailing, numbers only)."""
        if not mailing:
            return cls(mailing.env)
        # A mailing edited in a form is a new record: its lists' contacts may come back as new records too.
        opt_out_ids = {getattr(res_id, "origin", None) or res_id for res_id in mailing._get_opt_out_list_sms()}
        return cls(
            mailing.env, mailing, opt_out_ids=opt_out_ids,
            # A contact's "do not SMS for mailings" counts as an opt-out, as in the composer.
            do_not_sms_numbers=mailing.env["res.partner"]._sms_no_mailing_numbers(),
            seen_numbers=mailing._get_seen_list_sms()[1] if mailing.id else (),
        )

    def load(self, numbers):
        """Prepare the rules' data for a batch of sanitized ``numbers``: call it before the batch's ``exclusion``
        calls (a rule with a loader reads ``data``; not loaded, it raises rather than let anyone through)."""
        numbers = {number for number in numbers if number}
        for exclusion in self.exclusions:
            if exclusion.load:
                self.data[exclusion.code] = exclusion.load(self, numbers)
        return self

    def dedupe_by_position(self, first_positions):
        """Tell duplicates by position from now on: ``first_positions`` is ``{number: position of its first
        recipient}`` for the numbers that several recipients share (see mailing.mailing._sms_first_positions), and
        every ``exclusion`` call then gives its recipient's ``position``. Numbers traced before still count as
        seen; the set of numbers seen no longer grows."""
        self.first_positions = first_positions
        return self

    def exclusion(self, res_id, number, raw_number=None, blacklisted=False, position=None):
        """The code of the first rule excluding this recipient, or None to send to it (``position``: its rank
        among the recipients, when deduping by position)."""
        duplicate = False
        if number and self.dedupe:
            duplicate = number in self.seen_numbers
            if self.first_positions is None:
                self.seen_numbers.add(number)
            elif not duplicate and position is not None:
                duplicate = self.first_positions.get(number, position) < position
        # The hot path of a 100,000-recipient preparation: tuple.__new__ skips the NamedTuple's Python-level
        # __new__, and the checks are read once (measured: within 20 % of the former hand-written ifs).
        recipient = _new_recipient(Recipient, (res_id, number, raw_number, blacklisted, duplicate))
        for code, check in self._checks:
            if check(self, recipient):
                return code
        return None

    def clone(self):
        """The same rules with their own numbers seen: the estimate and the preparation each walk the recipients."""
        rules = copy.copy(self)
        rules.seen_numbers = set(self.seen_numbers)
        rules.data = dict(self.data)
        return rules

    # Labels are translated here, in a method of an object with ``env``: its frame gives the user's language.
    def reason(self, code):
        """The sentence for an API caller or a failed alert."""
        return str(exclusion_by_code(code).reason)

    def line_labels(self, excluded):
        """``{label: count}`` of an estimate's ``excluded`` (``{line: count}``)."""
        labels = {}
        for exclusion in reversed(EXCLUSIONS):  # the first rule of a line gives its label
            labels[exclusion.line] = str(exclusion.label)
        return {labels.get(line, line): count for line, count in excluded.items()}
