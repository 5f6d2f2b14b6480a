import json
from ast import literal_eval
from functools import lru_cache

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..models import mailing_mailing_estimate
from ..models.ir_actions_server import AUTOMATED_SEND_KEY
from ..models.mailing_mailing_estimate import id_array
from ..models.sms_sms import ORIGIN_CONTEXT_KEY
from ..tools.client_actions import notification
from ..tools.segments import analyze, smart_encode


@lru_cache(maxsize=4)
def parse_res_ids(res_ids):
    """The ids of a composer's ``res_ids`` ("[1, 2, ...]"), parsed once per text.

    Stock parses the text with literal_eval in each of its computes: at 100,000 records, about a second each time.
    A plain list of ints is JSON; anything else is left to literal_eval as stock does.
    """
    try:
        ids = json.loads(res_ids)
    except ValueError:
        ids = None
    if not isinstance(ids, list) or not all(type(res_id) is int for res_id in ids):  # noqa: E721 (bool is not an id)
        ids = literal_eval(res_ids)
    return tuple(ids)


class SmsComposer(models.TransientModel):
    _name = "sms.composer"
    _inherit = ["sms.composer", "sms.text.settings.mixin"]

    sms_estimate_note = fields.Text("Cost Estimate", compute="_compute_sms_estimate")
    sms_estimate_cost = fields.Float("Estimated Cost", digits=(16, 2), compute="_compute_sms_estimate")
    sms_estimate_currency = fields.Char("Estimate Currency", compute="_compute_sms_estimate")
    sms_estimate_segments = fields.Integer("Estimated Segments", compute="_compute_sms_estimate")
    sms_cost_available = fields.Boolean("Cost Known", compute="_compute_sms_estimate")
    sms_estimate_cost_display = fields.Char("Cost", compute="_compute_sms_estimate")
    sms_estimate_warning = fields.Text("Warning", compute="_compute_sms_estimate")
    sms_target_guardians = fields.Boolean(
        "Send to Their Guardians",
        help="Send the text to the parents / guardians of the selected people instead of to the people themselves.",
    )
    sms_guardian_count = fields.Integer("Guardians", compute="_compute_sms_guardian_counts")
    sms_guardian_valid_count = fields.Integer("Guardians Reachable", compute="_compute_sms_guardian_counts")
    sms_can_target_guardians = fields.Boolean("Can Target Guardians", compute="_compute_sms_guardian_counts")

    @api.depends("body", "res_model", "res_id", "res_ids", "composition_mode", "mass_use_blacklist",
                 "mass_sms_allow_unsubscribe", "mailing_id")
    def _compute_sms_estimate(self):
        for composer in self:
            # As the mailing form: exact up to ESTIMATE_EXACT_LIMIT recipients, sampled (and said so) above; Send
            # counts them all (action_send_sms).
            estimate = (composer._get_sms_cost_estimate(
                sample_size=mailing_mailing_estimate.ESTIMATE_EXACT_LIMIT)
                        if composer.composition_mode != "numbers" else None)
            if not estimate:
                composer.update({"sms_estimate_note": False, "sms_estimate_cost": 0.0,
                                 "sms_estimate_currency": False, "sms_estimate_segments": 0,
                                 "sms_cost_available": False, "sms_estimate_cost_display": False,
                                 "sms_estimate_warning": False})
                continue
            mailings = self.env["mailing.mailing"]
            check = mailings._sms_send_check(estimate)
            composer.update({
                "sms_estimate_note": mailings._sms_estimate_summary(estimate),
                "sms_estimate_cost": estimate["cost"] or 0.0,
                "sms_estimate_currency": estimate["currency"],
                "sms_estimate_segments": estimate["segments"],
                "sms_cost_available": estimate["cost_available"],
                "sms_estimate_cost_display": composer._sms_estimate_cost_display(estimate),
                "sms_estimate_warning": "\n".join(filter(None, [check["block"], *check["warnings"]])) or False,
            })

    @api.depends("res_model", "res_id", "res_ids")
    def _compute_res_ids_count(self):
        for composer in self:
            composer.res_ids_count = len(parse_res_ids(composer.res_ids)) if composer.res_ids else 0

    @api.depends("res_model", "res_id", "res_ids", "composition_mode", "number_field_name", "sanitized_numbers")
    def _compute_recipients(self):  # pylint: disable=missing-return
        """Stock's valid / invalid counts, set-based on the mass composer of a phone-mixin model.

        Stock formats every record's number in Python (about 20 s at 100,000 records). A record whose stored
        ``phone_sanitized`` is set has a valid number by stock's own rule (the mixin computes it from the same
        fields, in the same order); only the others go through stock's check (its partner fallback included).
        """
        counted = self.filtered(lambda composer: composer._sms_counts_from_sanitized())
        super(SmsComposer, self - counted)._compute_recipients()
        for composer in counted:
            records = composer._get_records()
            with_number = records.with_context(active_test=False).search(
                [("id", "in", records.ids), ("phone_sanitized", "!=", False)], order="id")
            others = records - with_number
            info = others._sms_get_recipients_info(partner_fallback=True) if others else {}
            others_valid = sum(1 for value in info.values() if value and value["sanitized"])
            composer.recipient_valid_count = len(with_number) + others_valid
            composer.recipient_invalid_count = len(others) - others_valid

    def _sms_counts_from_sanitized(self):
        self.ensure_one()
        if self.composition_mode != "mass" or self.number_field_name or not self.res_ids:
            return False
        model = self.env.get(self.res_model) if self.res_model else None
        field = model._fields.get("phone_sanitized") if model is not None else None
        return bool(field and field.store and isinstance(model, self.pool["mail.thread.phone"]))

    def _get_records(self):
        if self.res_model and self.res_ids:
            return self.env[self.res_model].browse(parse_res_ids(self.res_ids)).with_context(mail_notify_author=True)
        return super()._get_records()

    def _sms_estimate_cost_display(self, estimate):
        text = self.env["africastalking.rate"]._format_cost(estimate["cost"] or 0.0, estimate["currency"])
        return _("about %s", text) if estimate.get("approximate") else text

    def _get_sms_cost_estimate(self, sample_size=None):
        """The mailing estimate applied to this composer's recipients and text (see mailing.mailing); ``sample_size``
        as there (None: every recipient rendered and priced)."""
        self.ensure_one()
        if not self.res_model or not self.body or self.res_model not in self.env:
            return None
        records = self._get_records()
        if not records:
            return None
        return self.mailing_id._get_sms_cost_estimate(
            res_ids=records.ids, res_model=self.res_model, body=self.body,
            allow_unsubscribe=self.composition_mode == "mass" and self.mailing_id and self.mass_sms_allow_unsubscribe,
            use_blacklist=self.composition_mode == "mass" and self.mass_use_blacklist,
            sample_size=sample_size,
        )

    def action_send_sms(self):
        """Guardians first (they are the real recipients), then: a mass send leaves only when AT credit and the
        user's budget cover its estimate."""
        if self.sms_target_guardians and self.composition_mode != "numbers":
            self._sms_switch_to_guardians()
        # A server action (an automation) keeps stock's behaviour and reports instead (ir.actions.server)
        automated = self.env.context.get(AUTOMATED_SEND_KEY)
        if not automated:
            self._sms_check_parts_cap()
        if self.composition_mode == "mass":
            estimate = self._get_sms_cost_estimate()
            mailings = self.env["mailing.mailing"]
            # An automation is not refused here (that would undo the change that triggered it): the ledger's
            # reservation fails its SMS with the reason instead (sms.sms._sms_spend_reserve).
            problem = estimate and not automated and (mailings._sms_send_check(estimate)["block"]
                                                      or mailings._sms_credit_problem(estimate))
            if problem:
                raise UserError(problem)
        # A server action sends through a composer too: it said so already.
        composer = self.with_context(**{ORIGIN_CONTEXT_KEY: self.env.context.get(ORIGIN_CONTEXT_KEY) or "composer"})
        result = super(SmsComposer, composer).action_send_sms()
        if result is False and self.composition_mode == "comment" and self.comment_single_recipient:
            return self._sms_single_queued_notification()
        return result

    def _sms_single_queued_notification(self):
        """Stock closes the composer silently: say which number the SMS goes to, and where a failure shows."""
        field = self.env[self.res_model]._fields.get(self.number_field_name or "")
        number = self.recipient_single_number_itf or self.recipient_single_number
        message = _("SMS to %(recipient)s on %(number)s (%(field)s) is on its way. If it fails, you are told here "
                    "and the reason shows on the contact's Sent SMS tab.",
                    recipient=self.recipient_single_description or number, number=number,
                    field=field.string if field else _("number"))
        return notification(message, "info", title=_("SMS queued"),
                            next_action={"type": "ir.actions.act_window_close"})

    def _sms_check_parts_cap(self):
        """The parts cap of Settings › SMS, on the text as written (every mode, numbers included)."""
        cap = self.env.company.sms_segments_cap
        if not cap or not self.body:
            return
        text = smart_encode(self.body) if self.env.company.sms_smart_encoding else self.body
        parts = analyze(text).segments
        if parts > cap:
            raise UserError(_("The text needs %(parts)s parts per SMS; the limit set in Settings › SMS is %(cap)s. "
                              "Shorten the text.", parts=parts, cap=cap))

    @api.depends("res_model", "res_id", "res_ids", "sms_target_guardians")
    def _compute_sms_guardian_counts(self):
        for composer in self:
            composer.sms_can_target_guardians = composer.res_model == "res.partner"
            people_ids = composer._sms_selected_partner_ids()
            if not people_ids:
                composer.sms_guardian_count = composer.sms_guardian_valid_count = 0
                continue
            # Counted in SQL: the guardians of 100,000 selected people are not read one by one. The same guardians
            # as _sms_selected_partners().guardian_ids (active, readable; an id deleted since has none) and its
            # _sms_guardians() (a valid number, not blacklisted).
            # (Blacklisted ones are counted and subtracted: stock's search of "not blacklisted" lists every
            # partner id.)
            guardians = [("id", "in", composer._sms_guardian_ids_of(people_ids))]
            with_number = guardians + [("phone_sanitized", "!=", False)]
            partners = self.env["res.partner"]
            composer.sms_guardian_count = partners.search_count(guardians)
            composer.sms_guardian_valid_count = partners.search_count(with_number) - partners.search_count(
                with_number + [("phone_sanitized_blacklisted", "=", True)])

    def _sms_guardian_ids_of(self, people_ids):
        """Ids of the guardians of ``people_ids`` (any: the counts apply the rules), the selection sent once."""
        self.env["res.partner"].flush_model(["guardian_ids"])
        self.env.cr.execute(SQL("SELECT DISTINCT guardian_id FROM res_partner_guardian_rel WHERE ward_id = ANY(%s)",
                                id_array(people_ids)))
        return [row[0] for row in self.env.cr.fetchall()]

    def _sms_selected_partners(self):
        return self.env["res.partner"].browse(self._sms_selected_partner_ids()).exists()

    def _sms_selected_partner_ids(self):
        self.ensure_one()
        if self.res_model != "res.partner":
            return []
        if self.res_ids:
            return list(parse_res_ids(self.res_ids))
        return [self.res_id] if self.res_id else []

    def _sms_switch_to_guardians(self):
        """Turn this composer into a plain mass composer on the guardians of the selected people.

        Rendering ("Dear {{ object.name }}" is the guardian), blacklist, chatter log and any check of the mass send
        then apply to the guardians, the real recipients.
        """
        self.ensure_one()
        guardians = self._sms_selected_partners()._sms_guardians()
        if not guardians:
            raise UserError(_("None of the selected people has a guardian with a valid, opted-in mobile number."))
        self.write({
            "res_ids": repr(guardians.ids),
            "res_id": False,
            "composition_mode": "mass",
            "mass_keep_log": True,
            "sms_target_guardians": False,
        })

    def _get_optout_record_ids(self, records, recipients_info):
        """Mailings skip contacts flagged "do not SMS for mailings" (single SMS still go)."""
        res = super()._get_optout_record_ids(records, recipients_info)
        if self.composition_mode == "mass" and self.mailing_id:
            numbers = self.env["res.partner"]._sms_no_mailing_numbers()
            if numbers:
                res += [record_id for record_id, info in recipients_info.items()
                        if info and info.get("sanitized") in numbers]
        return res

    def _prepare_body_values(self, records):
        bodies = super()._prepare_body_values(records)
        if self.env.company.sms_smart_encoding:
            bodies = {res_id: smart_encode(body or "") for res_id, body in bodies.items()}
        return bodies

    def _action_send_sms_numbers(self):
        if self.env.company.sms_smart_encoding and self.body:
            self.body = smart_encode(self.body)
        return super()._action_send_sms_numbers()

    def action_sms_check_balance(self):
        self.check_access_rights("read")
        self.check_access_rule("read")
        account = self.env.company._get_africastalking_account_or_raise()
        # Found with sudo(): checked (SMS Marketing or administrator, own company) with the caller's rights.
        return account.with_env(self.env).action_check_balance()
