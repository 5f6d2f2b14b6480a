"""SMS mailings sent through Africa's Talking: the text's author, the launch (Send, queue, cancel) with its credit
gate, rendering and the unsubscribe page.

The other concerns of ``mailing.mailing`` have their own files: the cost estimate and pre-send checks
(mailing_mailing_estimate.py), the bulk preparation (mailing_mailing_prepare.py), guardians
(mailing_mailing_guardians.py); who is excluded, and why, is recipient_rules.py.
"""
import logging
import re

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_round
from odoo.tools.rendering_tools import parse_inline_template

from .recipient_rules import RecipientRules

_logger = logging.getLogger(__name__)

# Placeholders that are plain field paths, e.g. "object.name" or "object.partner_id.name" (see _africastalking_render)
FIELD_PATH_RE = re.compile(r"^\s*object(\.[a-z][a-z0-9_]*)+\s*$")
# Field types whose column value prints as the ORM's value does (the same str or int; NULL and the ORM's False
# both render as nothing): placeholders of such fields are read with SQL (_africastalking_render_columns)
SQL_RENDER_TYPES = ("char", "text", "integer", "selection")


class MailingMailing(models.Model):
    _name = "mailing.mailing"
    _inherit = ["mailing.mailing", "sms.text.settings.mixin"]

    # Actuals, from what Africa's Talking billed per message (stored on the traces at send time). Computed with
    # stock's click ratio: one scan of the traces for both (_compute_trace_totals).
    sms_actual_cost = fields.Float("Actual Cost", digits=(16, 2), compute="_compute_trace_totals")
    sms_actual_currency = fields.Char("Actual Currency", compute="_compute_trace_totals")
    sms_actual_segments = fields.Integer("Segments Sent", compute="_compute_trace_totals")
    sms_opted_out = fields.Integer("Opted Out", compute="_compute_trace_totals")
    clicks_ratio = fields.Float(compute="_compute_trace_totals")
    # Who wrote the text last: the preparation and the estimate render it with this user's rights, never the
    # mass-mailing cron's (superuser) nor a responsible set on the mailing (see _sms_render_as_author).
    sms_body_author_id = fields.Many2one("res.users", "SMS Text Written By", readonly=True, copy=False)

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

    def _compute_trace_totals(self):
        """The traces' totals of the form, in one scan of the mailing's traces (1,000,000 of them for a big
        mailing): stock's click ratio, and the SMS actuals.

        The click ratio is stock's (traces with a click among those not cancelled), without its COUNT(DISTINCT)
        over a join, which sorts every trace: each trace counts once, and as clicked when a click points to it.
        The actuals are SMS mailings' only: what AT billed (cost, parts, the currency of the first group stock's
        grouping would give, i.e. the smallest) and the traces excluded as opted out or blacklisted.
        """
        self.env["mailing.trace"].flush_model(["mass_mailing_id", "trace_status", "trace_type", "failure_type",
                                               "at_cost", "at_parts", "at_currency"])
        self.env["link.tracker.click"].flush_model(["mailing_trace_id"])
        self.env.cr.execute(SQL(
            """SELECT s.mass_mailing_id,
                      COUNT(*) FILTER (WHERE s.trace_status != 'cancel'),
                      COUNT(*) FILTER (WHERE s.trace_status != 'cancel'
                                         AND s.id IN (SELECT c.mailing_trace_id FROM link_tracker_click c
                                                       WHERE c.mailing_trace_id IS NOT NULL)),
                      COALESCE(SUM(s.at_cost) FILTER (WHERE s.trace_type = 'sms'), 0),
                      COALESCE(SUM(s.at_parts) FILTER (WHERE s.trace_type = 'sms'), 0),
                      MIN(s.at_currency) FILTER (WHERE s.trace_type = 'sms'),
                      COUNT(*) FILTER (WHERE s.trace_type = 'sms'
                                         AND s.failure_type IN ('sms_optout', 'sms_blacklist'))
                 FROM mailing_trace s
                WHERE s.mass_mailing_id = ANY(%s)
             GROUP BY s.mass_mailing_id""", [mailing_id for mailing_id in self.ids if isinstance(mailing_id, int)]))
        totals = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        for mailing in self:
            mails, clicked, cost, parts, currency, opted_out = totals.get(mailing.id) or (0, 0, 0.0, 0, False, 0)
            mailing.clicks_ratio = float_round(100 * clicked / mails, precision_digits=2) if mails else 0
            if mailing.mailing_type != "sms":
                cost, parts, currency, opted_out = 0.0, 0, False, 0
            mailing.sms_actual_cost = cost
            mailing.sms_actual_currency = currency or False
            mailing.sms_actual_segments = parts
            mailing.sms_opted_out = opted_out

    def _compute_clicks_ratio(self):
        self._compute_trace_totals()

    def _compute_sms_actuals(self):
        self._compute_trace_totals()

    def _sms_check_write_access(self):
        """The public buttons below reach AT (balance) or use sudo(): the caller must be allowed to edit the
        mailings first (the cron, as superuser, is)."""
        self.check_access_rights("write")
        self.check_access_rule("write")

    # ------------------------------------------------------------------
    # Balance and budget gate: _sms_credit_problem / _sms_check_credit are the SMS ledger's
    # (models/mailing_mailing_spend.py, models/sms_spend.py); the launch points below call them.
    # ------------------------------------------------------------------

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
            rules = RecipientRules.for_mailing(mailing)
            if mailing._africastalking_can_prepare_in_bulk():
                mailing._africastalking_fresh_statistics(len(recipients))
                # Duplicates told by position, for the estimate and the preparation: no set of every number
                rules.dedupe_by_position(mailing._sms_first_positions(recipients))
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
        are rendered here with Odoo's rule: a falsy value renders as nothing, anything else as ``str(value)``.
        Fields of the record itself whose column reads as the ORM's value (SQL_RENDER_TYPES) are read with one
        query (_africastalking_render_columns); other paths by reading the fields in batch. Any other expression,
        or a user Odoo would not let render a dynamic text, goes through Odoo's renderer.
        """
        instructions = parse_inline_template(str(template or ""))
        paths = [expression for _text, expression in instructions if expression]
        allowed = self.env.su or self.env.is_admin() or self.env.user.has_group("mail.group_mail_template_editor")
        if not paths or not allowed or not all(FIELD_PATH_RE.match(path) and self._africastalking_is_field_path(
                model, path) for path in paths):
            return self.env["mail.render.mixin"]._render_template(template, model, res_ids)
        rows = self._africastalking_render_columns(model, paths, res_ids)
        if rows is not None:
            return _render_rows(instructions, rows)
        records = self.env[model].browse(res_ids)
        # Each placeholder's values for all the records at once; a plain field of the record itself is read from
        # the cache in one call (about 5x faster than one attribute access per record at 100,000 recipients).
        columns = [self._africastalking_path_values(records, path) for path in paths]
        return _render_rows(instructions, dict(zip(records._ids, zip(*columns, strict=True), strict=True)))

    @api.model
    def _africastalking_path_values(self, records, expression):
        """The values of the field path ``object.a.b`` for each of ``records``, in their order."""
        names = expression.strip().split(".")[1:]
        field = records._fields[names[0]]
        if len(names) == 1 and not field.relational:
            return field.mapped(records)
        values = []
        for record in records:
            value = record
            for name in names:
                value = getattr(value, name)
            values.append(value)
        return values

    @api.model
    def _africastalking_sql_render_fields(self, model, paths):
        """The field names the placeholders ``paths`` read when each is ``object.<field>`` with a column that reads
        as the ORM's value (SQL_RENDER_TYPES, not translated), else None."""
        fields_ = self.env[model]._fields
        names = [path.strip().split(".")[1:] for path in paths]
        if not all(len(name) == 1 and name[0] in fields_ for name in names):
            return None
        names = [name[0] for name in names]
        if not all(fields_[name].store and fields_[name].column_type and fields_[name].type in SQL_RENDER_TYPES
                   and not fields_[name].translate for name in names):
            return None
        return names

    @api.model
    def _africastalking_render_columns(self, model, paths, res_ids):
        """``{res_id: (value of each of paths)}`` read with one query, when the placeholders allow it
        (_africastalking_sql_render_fields) and every record exists and is readable; else None (then the ORM
        reads them, and raises what it raises).

        The rights are the ORM's: the model's access rights and the fields' groups are checked as the ORM checks
        them (raising its errors), record rules by _sms_readable_clause."""
        names = self._africastalking_sql_render_fields(model, paths)
        if names is None or not res_ids:
            return None
        target = self.env[model]
        target.check_access_rights("read")
        target.check_field_access_rights("read", names)
        target.flush_model(names)
        self.env.cr.execute(SQL(
            "SELECT t.id, %s, %s FROM %s t WHERE t.id = ANY(%s)",
            self._sms_readable_clause(target), SQL(", ").join(SQL.identifier("t", name) for name in names),
            SQL.identifier(target._table), list(res_ids)))
        rows = {row[0]: row[2:] for row in self.env.cr.fetchall() if row[1]}
        if len(rows) != len(set(res_ids)):
            return None  # a record missing or not readable: the ORM says which, as Odoo's renderer would
        return {res_id: rows[res_id] for res_id in res_ids}

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


def _render_rows(instructions, rows):
    """``{key: text}`` of ``rows`` (``{key: values}``, one value per placeholder of ``instructions``, in order),
    with Odoo's inline template rule: a falsy value renders as nothing, anything else as ``str(value)``."""
    texts = [text for text, _expression in instructions]
    if len(texts) == 2 and not instructions[1][1]:  # "Hello {{ object.name }}, ...": one placeholder
        head, tail = texts
        return {key: "%s%s%s" % (head, str(values[0]) if values[0] else "", tail) for key, values in rows.items()}
    results = {}
    for key, values in rows.items():
        parts = []
        value_index = 0
        for text, expression in instructions:
            parts.append(text)
            if expression:
                value = values[value_index]
                value_index += 1
                if value:
                    parts.append(str(value))
        results[key] = "".join(parts)
    return results
