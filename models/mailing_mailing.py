import contextlib
import copy
import logging
import re
from collections import Counter
from secrets import token_hex

from werkzeug.urls import url_join

from odoo import _, api, fields, models, tools
from odoo.addons.sms.tools.sms_tools import sms_content_to_rendered_html
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL
from odoo.tools.mail import TEXT_URL_REGEX
from odoo.tools.rendering_tools import parse_inline_template

from ..tools.bulk_sql import copy_rows, next_ids
from ..tools.runtime import is_testing
from ..tools.segments import smart_encode

_logger = logging.getLogger(__name__)

RENDER_BATCH = 1000
# Recipients whose placeholder fields the estimate reads in one query (then drops from the cache)
PREFETCH_BATCH = 20000
# Placeholders that are plain field paths, e.g. "object.name" or "object.partner_id.name" (see _africastalking_render)
FIELD_PATH_RE = re.compile(r"^\s*object(\.[a-z][a-z0-9_]*)+\s*$")
# Recipients prepared (rendered, filtered, written) per transaction: bounds memory and the work lost to a crash.
PREPARE_CHUNK_SIZE = 5000
# Set by the mass-mailing cron: only there may the preparation commit chunk by chunk.
PREPARE_COMMIT_KEY = "sms_africastalking_prepare_commit"
# Why a recipient is not sent to (_RecipientRules) -> the failure type of its trace, and its line in the estimate.
EXCLUSION_FAILURE_TYPES = {
    "missing": "sms_number_missing", "invalid": "sms_number_format", "blacklist": "sms_blacklist",
    "do_not_sms": "sms_optout", "optout": "sms_optout", "duplicate": "sms_duplicate",
}
# Recipients above which the live estimate (form, save) renders and prices a sample; Send counts them all.
ESTIMATE_EXACT_LIMIT = 2000
ESTIMATE_REASONS = {"missing": "invalid", "invalid": "invalid", "blacklist": "blacklist",
                    "do_not_sms": "do_not_sms", "optout": "optout", "duplicate": "duplicate"}


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    sms_smart_encoding = fields.Boolean("Smart Encoding", compute="_compute_sms_smart_encoding",
                                        default=lambda self: self.env.company.sms_smart_encoding)
    # The estimate is stored: counting 100k recipients on every form load would be too slow. It follows the text
    # and the audience in the form (onchange) and on save, sampled above ESTIMATE_EXACT_LIMIT recipients; Send
    # stores the exact one.
    sms_estimate_date = fields.Datetime("Estimated On", compute="_compute_sms_estimate", store=True, copy=False)
    sms_estimate_recipients = fields.Integer("Estimated Recipients", compute="_compute_sms_estimate", store=True,
                                             copy=False)
    sms_estimate_excluded = fields.Integer("Excluded Recipients", compute="_compute_sms_estimate", store=True,
                                           copy=False)
    sms_estimate_segments = fields.Integer("Estimated Segments", compute="_compute_sms_estimate", store=True,
                                           copy=False)
    sms_estimate_cost = fields.Float("Estimated Cost", digits=(16, 2), compute="_compute_sms_estimate", store=True,
                                     copy=False)
    sms_estimate_currency = fields.Char("Estimate Currency", compute="_compute_sms_estimate", store=True,
                                        copy=False)
    sms_estimate_note = fields.Text("Estimate Details", compute="_compute_sms_estimate", store=True, copy=False)
    sms_cost_available = fields.Boolean("Cost Known", compute="_compute_sms_estimate", store=True, copy=False)
    sms_estimate_approximate = fields.Boolean(
        "Approximate Estimate", compute="_compute_sms_estimate", store=True, copy=False,
        help="Estimated from a sample of the recipients; Send counts them all.")
    sms_estimate_cost_display = fields.Char("Estimated Cost (Text)", compute="_compute_sms_estimate_cost_display")
    sms_segments_warn = fields.Integer(compute="_compute_sms_segments_limits",
                                       default=lambda self: self.env.company.sms_segments_warn)
    sms_segments_cap = fields.Integer(compute="_compute_sms_segments_limits",
                                      default=lambda self: self.env.company.sms_segments_cap)
    # Actuals, from what Africa's Talking billed per message (stored on the traces at send time).
    sms_actual_cost = fields.Float("Actual Cost", digits=(16, 2), compute="_compute_sms_actuals")
    sms_actual_currency = fields.Char("Actual Currency", compute="_compute_sms_actuals")
    sms_actual_segments = fields.Integer("Segments Sent", compute="_compute_sms_actuals")
    sms_opted_out = fields.Integer("Opted Out", compute="_compute_sms_actuals")
    sms_target_guardians = fields.Boolean(
        "Send to Their Guardians",
        help="The filter selects people (e.g. students of a class); the SMS goes to their parents / guardians.",
    )
    # Who wrote the text last: the preparation and the estimate render it with this user's rights, never the
    # mass-mailing cron's (superuser) nor a responsible set on the mailing (see _sms_render_as_author).
    sms_body_author_id = fields.Many2one("res.users", "SMS Text Written By", readonly=True, copy=False)
    sms_guardian_valid_count = fields.Integer(
        "Guardians Reachable", compute="_compute_sms_guardian_valid_count",
        help="Guardians of the selected people having a valid mobile number and not opted out.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            vals.pop("sms_body_author_id", None)
            if vals.get("body_plaintext"):
                vals["sms_body_author_id"] = self.env.uid
        return super().create(vals_list)

    def write(self, vals):
        vals.pop("sms_body_author_id", None)  # set here only: nobody may name another author
        if "body_plaintext" in vals and any(mailing.body_plaintext != vals["body_plaintext"] for mailing in self):
            # The real user even under sudo(): the text is rendered with this user's rights.
            vals = dict(vals, sms_body_author_id=self.env.uid)
        return super().write(vals)

    def _sms_render_as_author(self):
        """This mailing with the rights of the author of its text, to render it.

        Template expressions run with the rights of the environment that renders them: the mass-mailing cron runs
        as superuser, so a text rendered there could do (``sudo()`` aside) what its author may not. The author is
        the last user who wrote the text; without one (older mailings), its creator.
        """
        if not self:
            return self
        self.ensure_one()
        author = self.sms_body_author_id or self.create_uid or self.env.user
        if (author == self.env.user and not self.env.su) or author._is_superuser():
            return self  # already the author's rights; or a text written by the system (install, data, scripts)
        return self.with_user(author)

    @api.depends_context("company")
    def _compute_sms_smart_encoding(self):
        for mailing in self:
            mailing.sms_smart_encoding = self.env.company.sms_smart_encoding

    @api.depends_context("company")
    def _compute_sms_segments_limits(self):
        for mailing in self:
            mailing.sms_segments_warn = self.env.company.sms_segments_warn
            mailing.sms_segments_cap = self.env.company.sms_segments_cap

    @api.depends("mailing_type", "body_plaintext", "mailing_model_id", "mailing_domain", "contact_list_ids",
                 "sms_allow_unsubscribe", "sms_target_guardians", "ab_testing_enabled", "ab_testing_pc")
    def _compute_sms_estimate(self):
        for mailing in self:
            if mailing.mailing_type != "sms" or not mailing.mailing_model_real or not mailing.body_plaintext:
                mailing.update(dict.fromkeys(mailing._sms_estimate_values(None), False))
                continue
            try:
                # A savepoint: rendering runs the text's expressions (as its author), which may fail or be refused.
                with self.env.cr.savepoint(flush=False):
                    estimate = mailing._get_sms_cost_estimate(res_ids=mailing._sms_estimate_recipient_ids(),
                                                              sample_size=ESTIMATE_EXACT_LIMIT)
            except UserError as error:  # AccessError included
                # Saving a draft never fails on its text (a typo, a refused expression): the estimate says why it
                # is missing, and the send's own gate renders the text again and refuses it.
                values = dict.fromkeys(mailing._sms_estimate_values(None), False)
                values["sms_estimate_note"] = _("No estimate: the text could not be rendered (%s).", error)
                mailing.update(values)
                continue
            mailing.update(mailing._sms_estimate_values(estimate))

    def _sms_estimate_recipient_ids(self):
        """Who the mailing would go to now; in the form (a new record) nobody was traced yet."""
        self.ensure_one()
        return self._get_remaining_recipients() if isinstance(self.id, int) else self._get_recipients()

    @api.depends("sms_estimate_cost", "sms_estimate_currency", "sms_cost_available", "sms_estimate_approximate")
    def _compute_sms_estimate_cost_display(self):
        rates = self.env["africastalking.rate"]
        for mailing in self:
            if not mailing.sms_cost_available:
                mailing.sms_estimate_cost_display = False
                continue
            text = rates._format_cost(mailing.sms_estimate_cost, mailing.sms_estimate_currency)
            mailing.sms_estimate_cost_display = _("about %s", text) if mailing.sms_estimate_approximate else text

    def _compute_sms_actuals(self):
        values = {mailing.id: {"cost": 0.0, "currency": False, "parts": 0, "opted_out": 0} for mailing in self}
        sms_mailings = self.filtered(lambda m: m.id and m.mailing_type == "sms")
        if sms_mailings:
            groups = self.env["mailing.trace"].sudo()._read_group(
                [("mass_mailing_id", "in", sms_mailings.ids), ("trace_type", "=", "sms")],
                ["mass_mailing_id", "at_currency", "failure_type"],
                ["at_cost:sum", "at_parts:sum", "__count"],
            )
            for mailing, currency, failure_type, cost, parts, count in groups:
                value = values[mailing.id]
                value["cost"] += cost
                value["parts"] += parts
                value["currency"] = value["currency"] or currency
                if failure_type in ("sms_optout", "sms_blacklist"):
                    value["opted_out"] += count
        for mailing in self:
            value = values.get(mailing.id) or {"cost": 0.0, "currency": False, "parts": 0, "opted_out": 0}
            mailing.sms_actual_cost = value["cost"]
            mailing.sms_actual_currency = value["currency"]
            mailing.sms_actual_segments = value["parts"]
            mailing.sms_opted_out = value["opted_out"]

    # ------------------------------------------------------------------
    # Cost estimate
    # ------------------------------------------------------------------

    def _get_sms_cost_estimate(self, res_ids=None, res_model=None, body=None, allow_unsubscribe=None,
                               use_blacklist=True, rules=None, sample_size=None):
        """What sending this mailing (or a mass composer send described by the arguments) will cost.

        Recipients are counted as the preparation treats them (_RecipientRules, stock's composer rules): missing
        or invalid numbers, blacklisted, "do not SMS", opted-out and duplicate numbers are removed, in that order.
        Segments are counted on the text that leaves: rendered placeholders, tracked links, the opt-out link,
        look-alikes replaced (smart encoding) and the text AT adds to a number's first bulk message; they are priced
        by africastalking.rate._price_texts(). Returns a dict::

            recipients_total, recipients, excluded ({reason: count}), excluded_total, segments,
            segments_min, segments_max, encoding, cost (None when not known), currency, cost_available,
            unpriced (recipients without a rate), unpriced_countries, sample (the text of the first recipient)

        ``rules``: the mailing's _RecipientRules when the caller has them (they are walked, so give a copy).
        ``sample_size``: above that many recipients, only an evenly spread sample of them is rendered and priced
        and the totals are scaled (``approximate``, ``sampled``): exclusions are always counted on everyone.
        """
        mailing = self[:1]
        res_model = res_model or mailing.mailing_model_real
        body = mailing.body_plaintext if body is None else body
        allow_unsubscribe = mailing.sms_allow_unsubscribe if allow_unsubscribe is None else allow_unsubscribe
        if res_ids is None:
            res_ids = mailing._get_remaining_recipients() if mailing else []
        company = self.env.company
        if use_blacklist:
            numbers, blacklisted = self._sms_estimate_numbers_blacklisted(res_model, res_ids)
        else:
            numbers, blacklisted = self._sms_estimate_numbers(res_model, res_ids), set()
        rules = rules or _RecipientRules(mailing)
        excluded = Counter()
        recipients = {}
        for res_id in res_ids:
            number = numbers.get(res_id)
            reason = rules.exclusion(res_id, number, None, number in blacklisted)
            if reason:
                excluded[ESTIMATE_REASONS[reason]] += 1
            else:
                recipients[res_id] = number

        priced = recipients
        if sample_size and len(recipients) > sample_size:
            # Evenly spread over the ids, not the first ones: a list imported class by class stays represented.
            ids = sorted(recipients)
            step = len(ids) / sample_size
            priced = {ids[int(index * step)]: recipients[ids[int(index * step)]] for index in range(sample_size)}
        scale = len(recipients) / len(priced) if priced else 1.0
        first_text = company.sms_at_first_message_text
        first_numbers = (self._sms_estimate_first_numbers(set(priced.values()), company) if first_text
                         else set())
        samples = []

        def texts_as_billed():
            for res_id, text in mailing._sms_estimate_texts(res_model, list(priced), body or "",
                                                            allow_unsubscribe):
                if not samples:
                    samples.append(text)
                number = priced[res_id]
                yield number, "%s\n%s" % (text, first_text) if number in first_numbers else text

        # Texts are rendered and priced as they come: 1,000,000 of them are never in memory at once
        pricing = self.env["africastalking.rate"]._price_texts(texts_as_billed(), company)
        country_cache = {}
        unpriced_countries = {self._sms_estimate_country_name(number, country_cache)
                              for number in pricing.unpriced_numbers}
        sample = samples[0] if samples else (smart_encode(body) if company.sms_smart_encoding else body)
        return {
            "recipients_total": len(res_ids),
            "recipients": len(recipients),
            "excluded": dict(excluded),
            "excluded_total": sum(excluded.values()),
            "segments": round(pricing.segments * scale),
            "segments_min": pricing.segments_min,
            "segments_max": pricing.segments_max,
            "encoding": (next(iter(pricing.encodings)) if len(pricing.encodings) == 1
                         else (_("mixed") if pricing.encodings else False)),
            "cost": round(pricing.cost * scale, 4) if pricing.cost is not None else None,
            "currency": pricing.currency or pricing.table_currency,
            "cost_available": pricing.cost_available,
            "unpriced": round(len(pricing.unpriced_numbers) * scale),
            "unpriced_countries": sorted(unpriced_countries),
            "sample": sample or "",
            "approximate": priced is not recipients,
            "sampled": len(priced),
        }

    @api.model
    def _sms_readable_clause(self, model):
        """SQL restricting ``t.id`` to the records of ``model`` the caller may read (record rules, among them the
        multi-company ones): the raw reads below must not return what the ORM would refuse. Superuser: none."""
        if self.env.su:
            return SQL("TRUE")
        query = model.with_context(active_test=False)._search([])  # raises AccessError without read access
        if not query.where_clause.code:
            return SQL("TRUE")  # no record rule applies (e.g. mailing contacts): no semi-join over the whole table
        return SQL("t.id IN %s", query.subselect())

    @api.model
    def _sms_estimate_numbers(self, res_model, res_ids):
        """``{res_id: sanitized number or False}``; one SQL read for phone-mixin models (readable records only)."""
        model = self.env[res_model]
        if not res_ids:
            return {}
        field = model._fields.get("phone_sanitized")
        if field is not None and field.store:
            model.flush_model(["phone_sanitized"])
            self.env.cr.execute(SQL("SELECT t.id, t.phone_sanitized FROM %s t WHERE t.id = ANY(%s) AND %s",
                                    SQL.identifier(model._table), list(res_ids), self._sms_readable_clause(model)))
            return dict(self.env.cr.fetchall())
        numbers = {}
        for start in range(0, len(res_ids), RENDER_BATCH):
            info = model.browse(res_ids[start:start + RENDER_BATCH])._sms_get_recipients_info()
            numbers.update({res_id: value["sanitized"] for res_id, value in info.items()})
        return numbers

    @api.model
    def _sms_estimate_numbers_blacklisted(self, res_model, res_ids):
        """``({res_id: sanitized number or False}, blacklisted numbers)``.

        Phone-mixin models are read in one query joined to the blacklist: sending 100k numbers back to the
        database for a second query costs more than the join.
        """
        model = self.env[res_model]
        field = model._fields.get("phone_sanitized")
        if not res_ids or field is None or not field.store:
            numbers = self._sms_estimate_numbers(res_model, res_ids)
            return numbers, self._sms_estimate_blacklisted(set(numbers.values()) - {False})
        model.flush_model(["phone_sanitized"])
        self.env["phone.blacklist"].flush_model(["number", "active"])
        self.env.cr.execute(SQL(
            """SELECT t.id, t.phone_sanitized, bl.id IS NOT NULL
                 FROM %s t
            LEFT JOIN phone_blacklist bl ON bl.number = t.phone_sanitized AND bl.active
                WHERE t.id = ANY(%s) AND %s""",
            SQL.identifier(model._table), list(res_ids), self._sms_readable_clause(model)))
        numbers, blacklisted = {}, set()
        for res_id, number, is_blacklisted in self.env.cr.fetchall():
            numbers[res_id] = number
            if is_blacklisted:
                blacklisted.add(number)
        return numbers, blacklisted

    @api.model
    def _sms_estimate_blacklisted(self, numbers):
        if not numbers:
            return set()
        self.env["phone.blacklist"].flush_model(["number", "active"])
        self.env.cr.execute("SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)", (list(numbers),))
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _sms_estimate_first_numbers(self, numbers, company):
        """Numbers that never received a bulk SMS through AT: AT adds its opt-out text to their first one.

        Only ``company``'s messages count: they left through its own account, and another company's log is not the
        caller's to read."""
        if not numbers:
            return set()
        self.env["africastalking.message"].flush_model(["number", "mailing_id", "state", "company_id"])
        self.env.cr.execute(
            """SELECT DISTINCT number FROM africastalking_message
                WHERE number = ANY(%s) AND mailing_id IS NOT NULL AND state != 'rejected' AND company_id = %s""",
            (list(numbers), company.id),
        )
        return numbers - {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _sms_estimate_country_name(self, number, cache):
        if "countries" not in cache:
            cache["countries"] = {"+%s" % country.phone_code: country.name for country in
                                  self.env["res.country"].search_fetch([("phone_code", "!=", False)],
                                                                       ["phone_code", "name"])}
        countries = cache["countries"]
        return next((countries[number[:length]] for length in (4, 3, 2) if number[:length] in countries),
                    number[:4])

    def _sms_estimate_texts(self, res_model, res_ids, body, allow_unsubscribe):
        """Yield ``(res_id, text as it will leave)``; a body without placeholders is rendered once."""
        unsubscribe = ""
        complete_links = None
        if self:
            # Tracked links and the opt-out line as long as the real ones (their codes are not drawn yet)
            placeholders = self.sudo().get_sms_link_replacements_placeholders()
            link = placeholders["link"]

            def complete_links(text):
                return re.sub(TEXT_URL_REGEX, link, text)

            if allow_unsubscribe:
                unsubscribe = placeholders["unsubscribe"].lstrip("\n")
        smart = self.env.company.sms_smart_encoding

        def finish(text):
            return _text_as_sent(text, smart, complete_links, unsubscribe)

        if "{{" not in body and "{%" not in body:
            text = finish(body)
            for res_id in res_ids:
                yield res_id, text
            return
        renderer = self._sms_render_as_author()
        for batch in tools.split_every(PREFETCH_BATCH, res_ids, list):
            records = renderer._sms_estimate_prefetch(body, res_model, batch)
            for render_batch in tools.split_every(RENDER_BATCH, batch, list):
                rendered = renderer._africastalking_render(body, res_model, render_batch)
                for res_id in render_batch:
                    yield res_id, finish(rendered[res_id])
            if records:
                records.invalidate_recordset()  # memory stays bounded whatever the number of recipients

    def _sms_estimate_prefetch(self, body, res_model, res_ids):
        """Read the fields the placeholders name for these recipients in one query; the records read, or None.

        Rendered batch by batch, each batch would read every column of the model again (one query per 1,000
        recipients, most of the estimate's time at 100k). Only plain field paths are prefetched; anything else,
        or a field the user may not read, is left to the renderer and its errors.
        """
        paths = [expression for _text, expression in parse_inline_template(body) if expression]
        if not res_ids or not paths or not all(FIELD_PATH_RE.match(path) for path in paths):
            return None
        model = self.env[res_model]
        names = {path.strip().split(".")[1] for path in paths}
        if not all(name in model._fields for name in names):
            return None
        records = model.browse(res_ids)
        with contextlib.suppress(AccessError):
            records.fetch(names)
        return records

    def _sms_estimate_values(self, estimate):
        """The stored fields of ``estimate`` (None: the fields' empty values)."""
        if estimate is None:
            return dict.fromkeys([
                "sms_estimate_date", "sms_estimate_recipients", "sms_estimate_excluded", "sms_estimate_segments",
                "sms_estimate_cost", "sms_estimate_currency", "sms_cost_available", "sms_estimate_note",
                "sms_estimate_approximate"], False)
        return {
            "sms_estimate_date": fields.Datetime.now(),
            "sms_estimate_recipients": estimate["recipients"],
            "sms_estimate_excluded": estimate["excluded_total"],
            "sms_estimate_segments": estimate["segments"],
            "sms_estimate_cost": estimate["cost"] or 0.0,
            "sms_estimate_currency": estimate["currency"],
            "sms_cost_available": estimate["cost_available"],
            "sms_estimate_note": self._sms_estimate_summary(estimate),
            "sms_estimate_approximate": estimate.get("approximate", False),
        }

    @api.model
    def _sms_estimate_summary(self, estimate):
        if estimate["segments_min"] == estimate["segments_max"]:
            parts = _plural(estimate["segments_max"], _("1 part per SMS"), _("%s parts per SMS"))
        else:
            parts = _("%(min)s to %(max)s parts per SMS", min=estimate["segments_min"], max=estimate["segments_max"])
        lines = ["%s, %s (%s, %s)." % (
            _plural(estimate["recipients"], _("1 recipient"), _("%s recipients")),
            _plural(estimate["segments"], _("1 segment"), _("%s segments")),
            estimate["encoding"] or "-", parts)]
        if estimate.get("approximate"):
            lines.append(_("Estimated from a sample of %(sampled)s of %(recipients)s recipients; Send counts them "
                           "all.", sampled=estimate["sampled"], recipients=estimate["recipients"]))
        if estimate["excluded"]:
            lines.append(_("Excluded: %s.", ", ".join("%s %s" % (count, label) for label, count in sorted(
                self._sms_excluded_labels(estimate["excluded"]).items()))))
        if not estimate["cost_available"]:
            lines.append(_("Cost not available for this destination: %s.",
                           ", ".join(estimate["unpriced_countries"]) or _("several currencies")))
        return "\n".join(lines)

    def _sms_check_write_access(self):
        """The public buttons below reach AT (balance) or use sudo(): the caller must be allowed to edit the
        mailings first (the cron, as superuser, is)."""
        self.check_access_rights("write")
        self.check_access_rule("write")

    @api.model
    def _sms_send_check(self, estimate, company=None):
        """What a person must know before a send summarised by ``estimate`` leaves: ``{"block": reason or False,
        "warnings": [...]}``. An empty audience and a text longer than the company's cap block; a text longer than
        its warning limit only warns (each part is billed as one SMS)."""
        company = company or self.env.company
        block, warnings = False, []
        longest = estimate["segments_max"]
        if not estimate["recipients"]:
            if estimate.get("recipients_total"):
                block = _("Nothing to send: every recipient is excluded (%s).",
                          ", ".join("%s %s" % (count, reason) for reason, count in sorted(
                              self._sms_excluded_labels(estimate["excluded"]).items())))
            else:
                block = _("Nothing to send: the audience is empty (no recipient in the chosen lists or filter).")
        elif company.sms_segments_cap and longest > company.sms_segments_cap:
            block = _("The text needs %(parts)s parts per SMS; the limit set in Settings › SMS is %(cap)s. "
                      "Shorten the text.", parts=longest, cap=company.sms_segments_cap)
        elif company.sms_segments_warn and longest > company.sms_segments_warn:
            warnings.append(_("Long text: %(parts)s parts per SMS (more than %(limit)s). Each part is billed as one "
                              "SMS: %(segments)s SMS in all.", parts=longest, limit=company.sms_segments_warn,
                              segments=estimate["segments"]))
        return {"block": block, "warnings": warnings}

    @api.model
    def _sms_excluded_labels(self, excluded):
        labels = {
            "blacklist": _("blacklisted"), "do_not_sms": _("do not SMS"), "optout": _("opted out"),
            "duplicate": _("duplicates"), "invalid": _("invalid or missing numbers"),
        }
        return {labels.get(reason, reason): count for reason, count in excluded.items()}

    # ------------------------------------------------------------------
    # Balance and budget gate
    # ------------------------------------------------------------------

    @api.model
    def _sms_credit_problem(self, estimate, user=None):
        """A user-facing reason why a send of ``estimate`` must not leave, or False.

        The balance is asked from Africa's Talking now, not taken from the last check. An unknown cost cannot be
        compared: it does not block (the estimate says the cost is unknown), an empty balance still does.
        """
        if not estimate["recipients"]:
            return False
        company = self.env.company
        account = company._get_africastalking_account()
        if not account:
            return _("No Africa's Talking account is configured for %s; nothing was sent.", company.name)
        try:
            currency, amount = account._fetch_balance()
        except UserError as error:
            return _("The Africa's Talking balance could not be checked (%s); nothing was sent.", error)
        amount = float(amount)
        cost = estimate["cost"]
        if cost is None:
            if amount <= 0:
                return _("The Africa's Talking balance is %(currency)s %(amount).2f; nothing was sent.",
                         currency=currency or "", amount=amount)
            return False
        if (not currency or currency == estimate["currency"]) and cost > amount:
            return _(
                "Not enough Africa's Talking credit: this send needs about %(currency)s %(cost).2f "
                "(%(segments)s segments to %(recipients)s recipients) but the balance is %(currency)s "
                "%(amount).2f. Top up the account or reduce the recipients; nothing was sent.",
                currency=estimate["currency"], cost=cost, segments=estimate["segments"],
                recipients=estimate["recipients"], amount=amount,
            )
        return self.env["sms.budget"]._check_spend(user or self.env.user, company, cost, estimate["currency"])

    def _sms_check_credit(self, res_ids=None, rules=None, allow_empty=False):
        """Estimate, store the estimate and return the blocking reason (or False) for one SMS mailing: an empty
        audience (unless ``allow_empty``), a text over the parts cap, then AT credit and the user's budget."""
        self.ensure_one()
        estimate = self._get_sms_cost_estimate(res_ids=res_ids, rules=rules)
        self.sudo().write(self._sms_estimate_values(estimate))
        block = self._sms_send_check(estimate)["block"]
        if block and (estimate["recipients"] or not allow_empty):
            return block
        return self._sms_credit_problem(estimate, user=self.user_id or self.env.user)

    def action_put_in_queue(self):
        """Send from the form (context ``sms_confirm_send``, set by the view's button) first shows what will leave
        and asks; the confirmation calls this again without it. A send due now with nobody to send to is refused;
        a scheduled one is allowed (its lists may fill), the queue then says what happened."""
        self._sms_check_write_access()
        sms = self.filtered(lambda m: m.mailing_type == "sms")
        if sms and self.env.context.get("sms_confirm_send"):
            return sms[:1]._sms_action_confirm_send("put_in_queue")
        now = fields.Datetime.now()
        for mailing in sms:
            problem = mailing._sms_check_credit(allow_empty=bool(mailing.schedule_date and mailing.schedule_date > now))
            if problem:
                raise UserError(problem)
        return super().action_put_in_queue()

    def action_send_mail(self, res_ids=None):
        if self.env.context.get("sms_confirm_send") and self.filtered(lambda m: m.mailing_type == "sms"):
            return self[:1]._sms_action_confirm_send("send_mail")
        return super().action_send_mail(res_ids=res_ids)

    def _sms_action_confirm_send(self, method):
        """The confirmation dialog of a Send: recipients, segments, cost and warnings, then the send itself."""
        self.ensure_one()
        confirm = self.env["africastalking.send.confirm"].create({"mailing_id": self.id, "send_method": method})
        return confirm._action_open()

    def action_send_sms(self, res_ids=None):
        """Gate and window before anything is prepared; then prepare in bulk and start dispatching at once.

        Runs in the mass-mailing cron: a blocked mailing is not raised (the cron would retry it forever) but
        put back to draft with a note; outside the send window it waits, and the cron is called back at the
        next opening.

        Stock prepares through the mass composer, which keeps the recipient ids as a Python literal (refused above
        ~16,000 recipients), checks duplicates in O(n²) and creates three ORM records per recipient in one
        transaction. Mailings whose target model has a stored sanitized phone (mailing lists, contacts, partners)
        are prepared here in chunks with the same filtering rules; other models keep the stock path. Dispatch
        starts at once, not at the next hourly SMS cron.
        """
        self._sms_check_write_access()
        for mailing in self:
            opening = self.env.company._sms_window_next_opening()
            if opening:
                if mailing.state == "draft":  # "Send Now" outside the window: the queue takes it at the opening
                    mailing.sudo().state = "in_queue"
                self.env.ref("mass_mailing.ir_cron_mass_mailing_queue")._trigger(opening)
                continue
            # Computed once for the gate's estimate and the preparation.
            recipients = res_ids or mailing._get_remaining_recipients()
            rules = _RecipientRules(mailing)
            try:
                # Everyone excluded still prepares: the traces say why each recipient got nothing.
                problem = mailing._sms_check_credit(res_ids=recipients, rules=rules.clone(), allow_empty=True)
            except (AccessError, UserError) as error:
                if not self.env.su:
                    raise
                # In the cron: the text does not render with its author's rights (e.g. a dynamic text by a user
                # who may not write dynamic texts). Raising would retry it forever.
                problem = _("The SMS text could not be rendered with the rights of its author: %s", error)
            if problem:
                mailing.sudo().write({"state": "draft"})
                mailing._message_log(body=problem)
                _logger.info("SMS mailing %s blocked before sending: %s", mailing.id, problem)
                continue
            if mailing._africastalking_can_prepare_in_bulk():
                mailing._africastalking_prepare(recipients, rules=rules)
            else:
                super(MailingMailing, mailing._sms_render_as_author()).action_send_sms(res_ids=recipients)
        self.env["sms.sms"]._africastalking_trigger_queue()
        return True

    def action_cancel(self):
        """Cancel stops what has not left: queued SMS of the mailing are cancelled with their traces."""
        self._sms_check_write_access()
        queued = self.env["sms.sms"].sudo().search([
            ("mailing_id", "in", self.ids), ("state", "=", "outgoing"), ("to_delete", "!=", True)])
        queued.action_set_canceled()
        return super().action_cancel()

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------

    def action_buy_sms_credits(self):
        # Stock opens Odoo's IAP credit page, which pays nothing towards AT: lead to the company's AT account.
        self.check_access_rights("read")  # the answer tells the balance, read with sudo()
        self.check_access_rule("read")
        return self.env["africastalking.account"]._top_up_action()

    def action_view_sms_cost_analysis(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("sms_africastalking.mailing_trace_action_sms_cost")
        action["domain"] = [("mass_mailing_id", "in", self.ids), ("trace_type", "=", "sms")]
        return action

    def action_sms_check(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Check SMS"),
            "res_model": "africastalking.sms.check",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_mailing_id": self.id},
        }

    @api.model
    def _africastalking_render(self, template, model, res_ids):
        """Render an inline template (``{{ object.name }}``) for many records; same result as Odoo's renderer.

        Odoo evaluates every expression of every record with ``safe_eval`` (compiling and checking it each time:
        ~50 µs per placeholder and record). Texts whose placeholders are all plain field paths (``object.x.y``)
        are rendered here by reading the fields in batch, with Odoo's rule: a falsy value renders as nothing,
        anything else as ``str(value)``. Any other expression, or a user Odoo would not let render a dynamic
        text, goes through Odoo's renderer.
        """
        instructions = parse_inline_template(str(template or ""))
        paths = [expression for _text, expression in instructions if expression]
        allowed = self.env.su or self.env.is_admin() or self.env.user.has_group("mail.group_mail_template_editor")
        if not paths or not allowed or not all(FIELD_PATH_RE.match(path) and self._africastalking_is_field_path(
                model, path) for path in paths):
            return self.env["mail.render.mixin"]._render_template(template, model, res_ids)
        records = self.env[model].browse(res_ids)
        results = {}
        for record in records:
            parts = []
            for text, expression in instructions:
                parts.append(text)
                if expression:
                    value = record
                    for name in expression.strip().split(".")[1:]:
                        value = getattr(value, name)
                    if value:
                        parts.append(str(value))
            results[record.id] = "".join(parts)
        return results

    @api.model
    def _africastalking_is_field_path(self, model, path):
        """Whether ``object.a.b`` names fields all the way (many2ones, then any field): anything else (an unknown
        name, a method, a path through a one2many) is left to Odoo's renderer, which renders it or raises its clear
        error."""
        names = path.strip().split(".")[1:]
        for index, name in enumerate(names):
            field = self.env[model]._fields.get(name)
            if field is None or (index < len(names) - 1 and field.type != "many2one"):
                return False
            model = field.comodel_name
        return True

    def _africastalking_can_prepare_in_bulk(self):
        self.ensure_one()
        target = self.env[self.mailing_model_real]
        return (self.mailing_type == "sms" and isinstance(target, self.pool["mail.thread.phone"])
                and target._fields["phone_sanitized"].store)

    # ------------------------------------------------------------------
    # Bulk preparation
    # ------------------------------------------------------------------

    def _africastalking_prepare(self, res_ids=None, rules=None):
        self.ensure_one()
        self.env.flush_all()  # recipients are read with SQL
        res_ids = res_ids or self._get_remaining_recipients()
        if not res_ids:
            return
        context = _PrepareContext(self, rules)
        # Chunks are committed only in the mass-mailing cron; "Send Now" from a web request prepares in its own
        # transaction, which the request commits or rolls back as a whole.
        auto_commit = self.env.context.get(PREPARE_COMMIT_KEY) and not is_testing()
        for index, chunk in enumerate(tools.split_every(PREPARE_CHUNK_SIZE, res_ids, list)):
            if self._sms_preparation_cancelled(can_rollback=auto_commit and index > 0):
                return  # Cancel pressed since the preparation began: later chunks are not prepared
            chunk = self._africastalking_lock_untraced(chunk, context)
            self._africastalking_prepare_chunk(chunk, context)
            if auto_commit:
                self.env["sms.sms"]._africastalking_trigger_queue()
                # Per chunk: memory stays bounded and a crash resumes where it stopped
                self.env.cr.commit()  # pylint: disable=invalid-commit
        _logger.info("SMS mailing %s prepared: %d recipients", self.id, len(res_ids))
        if not self.env["mailing.trace"].search_count([("mass_mailing_id", "=", self.id),
                                                        ("trace_status", "in", ("outgoing", "process"))], limit=1):
            # Nothing to dispatch (every recipient excluded): no delivery will mark the mailing done.
            self.write({"state": "done", "sent_date": fields.Datetime.now(), "kpi_mail_required": not self.sent_date})
            self._message_log(body=_("No SMS was sent: every recipient is excluded (%s).", ", ".join(
                "%s %s" % (count, label) for label, count in sorted(
                    self._sms_excluded_labels(context.excluded).items()))))

    def _africastalking_lock_untraced(self, res_ids, context):
        """Lock the mailing, then keep the recipients that still have no trace.

        Two preparations of one mailing (the cron and a "Send Now", or two cron workers) take turns chunk by
        chunk, and the second skips what the first wrote: nobody is prepared, so sent, twice. Traces are only
        looked up when someone else wrote some since our last chunk (the mailing's newest trace is not ours): a
        lookup per chunk among all the mailing's traces would make a large mailing's preparation quadratic.
        """
        self.env.cr.execute("SELECT id FROM mailing_mailing WHERE id = %s FOR NO KEY UPDATE", (self.id,))
        self.env["mailing.trace"].flush_model(["mass_mailing_id", "res_id", "model"])
        self.env.cr.execute("SELECT max(id) FROM mailing_trace WHERE mass_mailing_id = %s", (self.id,))
        newest = self.env.cr.fetchone()[0]
        alone = context.newest_trace_id is not None and newest == context.newest_trace_id
        context.newest_trace_id = newest
        if alone:
            return res_ids
        self.env.cr.execute(
            "SELECT res_id FROM mailing_trace WHERE mass_mailing_id = %s AND model = %s AND res_id = ANY(%s)",
            (self.id, self.mailing_model_real, list(res_ids)))
        traced = {row[0] for row in self.env.cr.fetchall()}
        return [res_id for res_id in res_ids if res_id not in traced] if traced else res_ids

    @api.model
    def _process_mass_mailing_queue(self):
        self._sms_unqueue_empty_mailings()
        return super(MailingMailing, self.with_context(**{PREPARE_COMMIT_KEY: True}))._process_mass_mailing_queue()

    @api.model
    def _sms_unqueue_empty_mailings(self):
        """Due SMS mailings that never had anyone to send to go back to draft with a note: stock would mark them
        sent with 0 messages, silently (a scheduled mailing whose lists were emptied, a filter matching nobody)."""
        due = self.search([("mailing_type", "=", "sms"), ("state", "in", ("in_queue", "sending")),
                           "|", ("schedule_date", "<", fields.Datetime.now()), ("schedule_date", "=", False)])
        for mailing in due:
            if self.env["mailing.trace"].search_count([("mass_mailing_id", "=", mailing.id)], limit=1):
                continue
            if mailing._sms_targets_guardians():
                empty = not mailing._get_recipients()
            else:
                empty = not self.env[mailing.mailing_model_real].search_count(mailing._parse_mailing_domain(),
                                                                              limit=1)
            if empty:
                mailing.write({"state": "draft"})
                mailing._message_log(body=_("Not sent: the audience was empty when the mailing was due (no "
                                            "recipient in its lists or filter). Add recipients and send again."))
                _logger.info("SMS mailing %s had no recipient when due: back to draft", mailing.id)

    def _africastalking_prepare_chunk(self, res_ids, context):
        recipients = self._africastalking_read_recipients(res_ids)
        outgoing, traces = [], []
        for res_id, sanitized, raw_number, partner_id, blacklisted in recipients:
            reason = context.rules.exclusion(res_id, sanitized, raw_number, blacklisted)
            if reason:
                traces.append((res_id, sanitized or raw_number, EXCLUSION_FAILURE_TYPES[reason]))
                context.excluded[ESTIMATE_REASONS[reason]] += 1
            else:
                outgoing.append((res_id, sanitized, partner_id))
        bodies = context.render([res_id for res_id, _number, _partner in outgoing])
        self._africastalking_write_prepared(outgoing, traces, bodies, context)

    def _africastalking_read_recipients(self, res_ids):
        """``(id, sanitized, raw number, partner id, blacklisted)`` per record, in ``res_ids`` order, in one query."""
        target = self.env[self.mailing_model_real]
        number_fields = [fname for fname in target._phone_get_number_fields()
                         if target._fields[fname].store and target._fields[fname].type == "char"]
        raw_number = (SQL("COALESCE(%s)", SQL(", ").join(SQL.identifier("t", fname) for fname in number_fields))
                      if number_fields else SQL("NULL"))
        partner = SQL("t.id") if target._name == "res.partner" else SQL("NULL")
        self.env.cr.execute(SQL(
            """
            SELECT t.id, t.phone_sanitized, %s, %s, bl.id IS NOT NULL
              FROM %s t
         LEFT JOIN phone_blacklist bl ON bl.number = t.phone_sanitized AND bl.active
             WHERE t.id = ANY(%s)
            """,
            raw_number, partner, SQL.identifier(target._table), list(res_ids),
        ))
        rows = {row[0]: row for row in self.env.cr.fetchall()}
        return [rows[res_id] for res_id in res_ids if res_id in rows]

    def _africastalking_write_prepared(self, outgoing, cancelled, bodies, context):
        """Insert SMS, traces and trackers with COPY, ids drawn beforehand so bodies can carry their SMS id."""
        cr = self.env.cr
        sms_ids = next_ids(cr, "sms_sms_id_seq", len(outgoing))
        trace_ids = next_ids(cr, "mailing_trace_id_seq", len(outgoing) + len(cancelled))
        tracker_ids = next_ids(cr, "sms_tracker_id_seq", len(outgoing))
        codes = self.env["mailing.trace"]._sms_unsubscribe_tokens(len(outgoing) + len(cancelled))
        if trace_ids:
            context.newest_trace_id = max(trace_ids)  # drawn under the mailing's lock: newer than any other
        now, uid = fields.Datetime.now(), self.env.uid
        company_id = (self.user_id.company_id or self.env.company).id
        # Read once: per recipient, every ORM field access costs more than the row it helps write.
        mailing_id, model, campaign_id = self.id, self.mailing_model_real, self.campaign_id.id or None
        sms_rows, trace_rows, tracker_rows = [], [], []
        for index, (res_id, number, partner_id) in enumerate(outgoing):
            sms_id, trace_id, code, sms_uuid = sms_ids[index], trace_ids[index], codes[index], token_hex(16)
            body = context.finalize_body(bodies[res_id], sms_id, code)
            sms_rows.append((sms_id, sms_uuid, number, body, partner_id, mailing_id, "outgoing", company_id,
                             False, uid, now, uid, now))
            trace_rows.append((trace_id, "sms", model, res_id, mailing_id, campaign_id, sms_id, number, code,
                               "outgoing", None, uid, now, uid, now))
            tracker_rows.append((tracker_ids[index], sms_uuid, trace_id, uid, now, uid, now))
        for index, (res_id, number, failure_type) in enumerate(cancelled, start=len(outgoing)):
            trace_rows.append((trace_ids[index], "sms", model, res_id, mailing_id, campaign_id, None, number or None,
                               codes[index], "cancel", failure_type, uid, now, uid, now))
        self.env.flush_all()
        copy_rows(cr, "sms_sms", ("id", "uuid", "number", "body", "partner_id", "mailing_id", "state", "company_id",
                              "to_delete", "create_uid", "create_date", "write_uid", "write_date"), sms_rows)
        copy_rows(cr, "mailing_trace", ("id", "trace_type", "model", "res_id", "mass_mailing_id", "campaign_id",
                                    "sms_id_int", "sms_number", "sms_code", "trace_status", "failure_type",
                                    "create_uid", "create_date", "write_uid", "write_date"), trace_rows)
        copy_rows(cr, "sms_tracker", ("id", "sms_uuid", "mailing_trace_id", "create_uid", "create_date", "write_uid",
                                  "write_date"), tracker_rows)
        for model in ("sms.sms", "mailing.trace", "sms.tracker"):
            self.env[model].invalidate_model()
        self.invalidate_recordset(["mailing_trace_ids"])
        if self.keep_archives:
            # "Keep archives": as stock, the text sent is logged on each recipient's chatter.
            records = self.env[self.mailing_model_real].browse([res_id for res_id, _number, _partner in outgoing])
            bodies = {res_id: sms_content_to_rendered_html(row[3])
                      for (res_id, _number, _partner), row in zip(outgoing, sms_rows, strict=True)}
            records._message_log_batch(bodies=bodies, message_type="sms")

    # ------------------------------------------------------------------
    # Guardians: "send to the parents of these students"
    # ------------------------------------------------------------------

    @api.depends("sms_target_guardians", "mailing_domain", "mailing_model_real")
    def _compute_sms_guardian_valid_count(self):
        for mailing in self:
            mailing.sms_guardian_valid_count = (
                len(mailing._sms_guardians_of(mailing._sms_selected_people())) if mailing._sms_targets_guardians()
                else 0
            )

    def _sms_targets_guardians(self):
        self.ensure_one()
        return self.mailing_type == "sms" and self.sms_target_guardians and self.mailing_model_real == "res.partner"

    def _sms_selected_people(self):
        return self.env["res.partner"].search(self._parse_mailing_domain())

    @api.model
    def _sms_guardians_of(self, people):
        return people._sms_guardians().sorted("id")

    def _compute_total(self):  # pylint: disable=missing-return
        super()._compute_total()
        for mailing in self.filtered(lambda m: m._sms_targets_guardians()):
            mailing.total = len(mailing._sms_guardians_of(mailing._sms_selected_people()))

    def _get_recipients(self):
        res_ids = super()._get_recipients()
        if not self._sms_targets_guardians():
            return res_ids
        # Traces, "remaining recipients" and statistics are then kept on the guardians, the real recipients.
        return self._sms_guardians_of(self.env["res.partner"].browse(res_ids)).ids

    # ------------------------------------------------------------------
    # Unsubscribe page
    # ------------------------------------------------------------------

    @api.model
    def _sms_africastalking_opt_out(self, trace, number):
        """Opt ``number`` (E.164, checked against ``trace``) out of the trace's mailing.

        A mailing on lists opts the number out of those lists only; any other mailing blacklists it.
        Returns the lists left and the lists the number is still subscribed to, for the page.
        """
        mailing = trace.mass_mailing_id
        lists = mailing.contact_list_ids
        lists_optout = self.env["mailing.list"]
        if lists:
            subscriptions = self.env["mailing.subscription"].search([
                ("list_id", "in", lists.ids), ("contact_id.phone_sanitized", "=", number),
            ])
            subscriptions.write({"opt_out": True})
            lists_optout = subscriptions.list_id
        else:
            self.env["phone.blacklist"]._africastalking_block(
                [number], "page",
                message=_("Opted out on the SMS unsubscribe page (mailing %s).", mailing.display_name))
        lists_optin = self.env["mailing.subscription"].search([
            ("contact_id.phone_sanitized", "=", number), ("list_id", "not in", lists.ids), ("opt_out", "=", False),
        ]).list_id
        return {"lists_optout": lists_optout, "lists_optin": lists_optin}


def _plural(count, one, many):
    """``one`` (already translated) for 1, else ``many`` (translated, with a %s) filled with ``count``."""
    return one if count == 1 else many % count


def _text_as_sent(text, smart_encoding, complete_links=None, unsubscribe=""):
    """The text AT receives, for the preparation and the estimate alike: look-alike characters replaced (smart
    encoding), tracked links completed by ``complete_links``, then the opt-out line."""
    text = smart_encode(text or "") if smart_encoding else (text or "")
    if complete_links:
        text = complete_links(text)
    return "%s\n%s" % (text, unsubscribe) if unsubscribe else text


class _RecipientRules:
    """Who of a mailing's recipients is not sent to, and why: stock's composer rules in stock's order, for the cost
    estimate and the preparation alike.

    The first record of a number wins, even if excluded; numbers this mailing already traced count as seen too,
    so that chunks, and a run resumed after a crash, dedupe like one stock batch. Without a mailing (a mass
    composer send) only numbers are checked.
    """

    def __init__(self, mailing):
        # A mailing edited in a form is a new record: its lists' contacts may come back as new records too.
        self.opt_out_ids = ({getattr(res_id, "origin", None) or res_id for res_id in mailing._get_opt_out_list_sms()}
                            if mailing else set())
        # A contact's "do not SMS for mailings" counts as an opt-out, as in the composer.
        self.do_not_sms_numbers = mailing.env["res.partner"]._sms_no_mailing_numbers() if mailing else set()
        self.seen_numbers = set(mailing._get_seen_list_sms()[1]) if mailing.id else set()

    def exclusion(self, res_id, sanitized, raw_number, blacklisted):
        """The reason (a key of EXCLUSION_FAILURE_TYPES) not to send to this recipient, or None."""
        if not sanitized:
            return "invalid" if raw_number else "missing"
        duplicate = sanitized in self.seen_numbers
        self.seen_numbers.add(sanitized)
        if blacklisted:
            return "blacklist"
        if sanitized in self.do_not_sms_numbers:
            return "do_not_sms"
        if res_id in self.opt_out_ids:
            return "optout"
        return "duplicate" if duplicate else None

    def clone(self):
        """The same rules with their own numbers seen: the estimate and the preparation each walk the recipients."""
        rules = copy.copy(self)
        rules.seen_numbers = set(self.seen_numbers)
        return rules


class _PrepareContext:
    """What a mailing's preparation computes once and reuses for every chunk."""

    def __init__(self, mailing, rules=None):
        self.mailing = mailing
        self.rules = rules or _RecipientRules(mailing)
        # The newest trace of the mailing when we last held its lock, or the one we wrote (None: not looked yet)
        self.newest_trace_id = None
        self.excluded = Counter()  # {estimate reason: count}, for the note when nobody is left to send to
        self.smart_encoding = mailing.env.company.sms_smart_encoding
        self.base_url = mailing.get_base_url()
        self.template = self._shortened_template()
        self.is_static = "{{" not in self.template and "{%" not in self.template
        self.has_short_links = (self.base_url + "/r/") in self.template
        composer = mailing.env["sms.composer"].with_context(lang=mailing.env.context.get("lang"))
        self.unsubscribe_format = (composer._get_unsubscribe_info(url_join(self.base_url, "/sms/%s/%s" % (
            mailing.id, "__CODE__"))) if mailing.sms_allow_unsubscribe else None)

    def _shortened_template(self):
        """Shorten the links of the text once, before rendering (stock shortens every rendered body)."""
        mailing = self.mailing
        body = mailing.body_plaintext or ""
        return mailing.env["mail.render.mixin"].sudo()._shorten_links_text(
            body, mailing._get_link_tracker_values())

    def render(self, res_ids):
        if self.is_static or not res_ids:
            return dict.fromkeys(res_ids, self.template)
        mailing = self.mailing._sms_render_as_author()
        template = mailing.sms_template_id
        if template and mailing.body_plaintext == template.body:
            # A template renders in each recipient's language, as stock's composer does.
            rendered = template._render_field("body", res_ids, compute_lang=True)
            return {res_id: mailing.env["mail.render.mixin"].sudo()._shorten_links_text(
                body, mailing._get_link_tracker_values()) for res_id, body in rendered.items()}
        return mailing._africastalking_render(self.template, mailing.mailing_model_real, res_ids)

    def finalize_body(self, body, sms_id, code):
        def complete_links(text):
            # Stock's sms.sms._update_body_short_links: clicks are traced back to this SMS.
            return re.sub(r"(%s/r/[\w-]+)(?![\w@:%%.+&~#=/-])" % re.escape(self.base_url), r"\1/s/%d" % sms_id, text)

        unsubscribe = self.unsubscribe_format.replace("__CODE__", code) if self.unsubscribe_format else ""
        return _text_as_sent(body, self.smart_encoding, complete_links if self.has_short_links else None,
                             unsubscribe)

