"""The SMS mailing's cost estimate: recipients, segments and cost before anything is sent (stored on the mailing,
shown in the form, the Send confirmation and the composers), and the pre-send checks it feeds.

Recipients are counted by the preparation's own RecipientRules (recipient_rules.py) and texts are finished by the
same tools.sms_text.text_as_sent; segments are priced by africastalking.rate._price_texts().
"""
import contextlib
import re
from collections import Counter

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression
from odoo.tools import SQL
from odoo.tools.mail import TEXT_URL_REGEX
from odoo.tools.query import Query
from odoo.tools.rendering_tools import parse_inline_template

from ..tools.segments import smart_encode
from ..tools.sms_text import plural, text_as_sent
from .mailing_mailing import FIELD_PATH_RE
from .recipient_rules import RecipientRules, estimate_line

# Recipients rendered per call of the renderer
RENDER_BATCH = 1000
# Recipients whose placeholder fields the estimate reads in one query (then drops from the cache)
PREFETCH_BATCH = 20000
# Recipients whose numbers the estimate reads, filters and prices at a time: memory stays one batch
RECIPIENTS_BATCH = 5000
# Recipients above which the live estimate (form, save) renders and prices a sample; Send counts them all.
ESTIMATE_EXACT_LIMIT = 2000


def id_array(ids):
    """``ids`` as one PostgreSQL int4[] literal, for ``= ANY(...)``.

    psycopg2 sends a Python list as ARRAY[1, 2, ...], one expression per element for PostgreSQL to parse and plan:
    at 100,000 recipients that costs more than the query itself (measured 0.31-0.43 s against 0.15-0.17 s)."""
    return SQL("%s::int4[]", "{%s}" % ",".join(str(int(res_id)) for res_id in ids))


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

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

    # ------------------------------------------------------------------
    # Cost estimate
    # ------------------------------------------------------------------

    def _get_sms_cost_estimate(self, res_ids=None, res_model=None, body=None, allow_unsubscribe=None,
                               use_blacklist=True, rules=None, sample_size=None):
        """What sending this mailing (or a mass composer send described by the arguments) will cost.

        Recipients are counted as the preparation treats them, by the same RecipientRules (recipient_rules.py:
        stock's composer rules, missing or invalid numbers, blacklisted, "do not SMS", opted-out and duplicate
        numbers removed in that order).
        Segments are counted on the text that leaves: rendered placeholders, tracked links, the opt-out link,
        look-alikes replaced (smart encoding) and the text AT adds to a number's first bulk message; they are priced
        by africastalking.rate._price_texts(). Returns a dict::

            recipients_total, recipients, excluded ({reason: count}), excluded_total, segments,
            segments_min, segments_max, encoding, cost (None when not known), currency, cost_available,
            unpriced (recipients without a rate), unpriced_countries, sample (the text of the first recipient)

        ``rules``: the mailing's RecipientRules when the caller has them (they are walked, so give a copy).
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
        if rules is None:
            rules = RecipientRules.for_mailing(mailing)
            if mailing and mailing.mailing_model_real == res_model and mailing._africastalking_can_prepare_in_bulk():
                # Duplicates told by position: no set of every number (1,000,000 of them in a big list's form)
                rules.dedupe_by_position(mailing._sms_first_positions(res_ids))
        excluded = Counter()
        batches = self._sms_estimate_recipient_batches(res_model, res_ids, rules, excluded, use_blacklist)
        picked = None  # the recipients that may be priced when sampling (None: all)
        if sample_size and len(res_ids) > sample_size:
            # Evenly spread over the ids, not the first ones: a list imported class by class stays represented.
            # Picked among all the candidates, the excluded ones then left out: memory stays the sample's.
            ids = sorted(res_ids)
            step = len(ids) / sample_size
            picked = {ids[int(index * step)] for index in range(sample_size)}
            del ids
        first_text = company.sms_at_first_message_text
        samples = []
        counted = Counter()

        def texts_as_billed():
            for batch in batches:
                counted["recipients"] += len(batch)
                if picked is not None:
                    batch = {res_id: number for res_id, number in batch.items() if res_id in picked}
                if not batch:
                    continue
                counted["priced"] += len(batch)
                first_numbers = (self._sms_estimate_first_numbers(set(batch.values()), company) if first_text
                                 else set())
                for res_id, text in mailing._sms_estimate_texts(res_model, list(batch), body or "",
                                                                allow_unsubscribe):
                    if not samples:
                        samples.append(text)
                    number = batch[res_id]
                    yield number, "%s\n%s" % (text, first_text) if number in first_numbers else text

        # Texts are rendered and priced as they come: 1,000,000 of them are never in memory at once
        pricing = self.env["africastalking.rate"]._price_texts(texts_as_billed(), company)
        recipients_count = counted["recipients"]
        scale = recipients_count / counted["priced"] if counted["priced"] else 1.0
        country_cache = {}
        unpriced_countries = {self._sms_estimate_country_name(number, country_cache)
                              for number in pricing.unpriced_numbers}
        sample = samples[0] if samples else (smart_encode(body) if company.sms_smart_encoding else body)
        return {
            "recipients_total": len(res_ids),
            "recipients": recipients_count,
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
            "approximate": counted["priced"] != recipients_count,
            "sampled": counted["priced"],
        }

    def _sms_estimate_recipient_batches(self, res_model, res_ids, rules, excluded, use_blacklist=True):
        """Yield ``{res_id: number}`` of the recipients ``rules`` keep, RECIPIENTS_BATCH records at a time (the
        excluded ones counted in ``excluded``): memory stays one batch whatever the number of recipients."""
        for start in range(0, len(res_ids), RECIPIENTS_BATCH):
            chunk = res_ids[start:start + RECIPIENTS_BATCH]
            if use_blacklist:
                numbers, blacklisted = self._sms_estimate_numbers_blacklisted(res_model, chunk)
            else:
                numbers, blacklisted = self._sms_estimate_numbers(res_model, chunk), set()
            rules.load(numbers.values())
            recipients = {}
            for position, res_id in enumerate(chunk, start):
                number = numbers.get(res_id)
                reason = rules.exclusion(res_id, number, None, number in blacklisted, position)
                if reason:
                    excluded[estimate_line(reason)] += 1
                else:
                    recipients[res_id] = number
            yield recipients

    @api.model
    def _sms_readable_clause(self, model):
        """SQL restricting ``t.id`` to the records of ``model`` the caller may read (record rules, among them the
        multi-company ones): the raw reads below must not return what the ORM would refuse. Superuser: none."""
        if self.env.su:
            return SQL("TRUE")
        model.check_access_rights("read")  # raises AccessError without read access
        domain = model.env["ir.rule"]._compute_domain(model._name, "read")
        if not domain:
            return SQL("TRUE")  # no record rule applies (e.g. mailing contacts)
        # The rules as conditions on ``t`` itself: as a semi-join (t.id IN (SELECT id ... WHERE rules)), PostgreSQL
        # scanned the whole table for each batch of ids (20 scans of 100,000 partners in the composer's estimate).
        rules_model = model.sudo().with_context(active_test=False)
        rules_model._flush_search(domain)  # pylint: disable=protected-access  # the rules read the columns below
        query = Query(self.env.cr, "t", model._table)
        expression.expression(domain, rules_model, "t", query)
        if query._joins:  # pylint: disable=protected-access  # a rule through an auto_join field: kept apart
            query = model.with_context(active_test=False)._search([])
            return SQL("t.id IN %s", query.subselect())
        return SQL("(%s)", query.where_clause)

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
                                    SQL.identifier(model._table), id_array(res_ids), self._sms_readable_clause(model)))
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
            SQL.identifier(model._table), id_array(res_ids), self._sms_readable_clause(model)))
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
        # One probe per number that stops at its first bulk SMS: people are messaged again and again, and reading
        # every message of each number (a term's mailings to the same parents) grows with the log's age.
        self.env.cr.execute(
            """SELECT candidate.number FROM unnest(%s::varchar[]) AS candidate(number)
                WHERE NOT EXISTS (SELECT 1 FROM africastalking_message message
                                   WHERE message.number = candidate.number AND message.mailing_id IS NOT NULL
                                     AND message.state != 'rejected' AND message.company_id = %s)""",
            (list(numbers), company.id),
        )
        return {row[0] for row in self.env.cr.fetchall()}

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
            return text_as_sent(text, smart, complete_links, unsubscribe)

        if "{{" not in body and "{%" not in body:
            text = finish(body)
            for res_id in res_ids:
                yield res_id, text
            return
        renderer = self._sms_render_as_author()
        paths = [expression for _text, expression in parse_inline_template(body) if expression]
        # Placeholders read with SQL: one query per batch (each may scan the table), not per render batch
        render_size = (PREFETCH_BATCH if paths and all(FIELD_PATH_RE.match(path) for path in paths)
                       and self._africastalking_sql_render_fields(res_model, paths) is not None else RENDER_BATCH)
        for batch in tools.split_every(PREFETCH_BATCH, res_ids, list):
            records = renderer._sms_estimate_prefetch(body, res_model, batch)
            for render_batch in tools.split_every(render_size, batch, list):
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
        if self._africastalking_sql_render_fields(res_model, paths) is not None:
            return None  # the renderer reads these columns with SQL, batch by batch: nothing to load in the cache
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
    def _sms_estimate_cost_text(self, estimate):
        """The estimate's cost in words, for a Send's confirmation and the broadcast form."""
        if estimate["cost"] is None:
            return _("not available for this destination")
        return self.env["africastalking.rate"]._format_cost(estimate["cost"], estimate["currency"])

    @api.model
    def _sms_estimate_summary(self, estimate):
        if estimate["segments_min"] == estimate["segments_max"]:
            parts = plural(estimate["segments_max"], _("1 part per SMS"), _("%s parts per SMS"))
        else:
            parts = _("%(min)s to %(max)s parts per SMS", min=estimate["segments_min"], max=estimate["segments_max"])
        lines = ["%s, %s (%s, %s)." % (
            plural(estimate["recipients"], _("1 recipient"), _("%s recipients")),
            plural(estimate["segments"], _("1 segment"), _("%s segments")),
            estimate["encoding"] or "-", parts)]
        if estimate.get("approximate"):
            lines.append(_("Estimated from a sample of %(sampled)s of %(recipients)s recipients; Send counts them "
                           "all.", sampled=estimate["sampled"], recipients=estimate["recipients"]))
        if estimate["excluded"]:
            lines.append(_("Excluded: %s.", self._sms_excluded_text(estimate["excluded"])))
        if not estimate["cost_available"]:
            lines.append(_("Cost not available for this destination: %s.",
                           ", ".join(estimate["unpriced_countries"]) or _("several currencies")))
        return "\n".join(lines)

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
                          self._sms_excluded_text(estimate["excluded"]))
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
        return RecipientRules(self.env).line_labels(excluded)

    @api.model
    def _sms_excluded_text(self, excluded):
        """An estimate's ``excluded`` in words, sorted by label: "1 blacklisted, 2 duplicates"."""
        labels = self._sms_excluded_labels(excluded)
        return ", ".join("%s %s" % (count, label) for label, count in sorted(labels.items()))
