from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.keywords import CONFIRMATION_WORDS, DEFAULT_KEYWORDS, normalize_keyword, normalize_sender


class SmsKeyword(models.Model):
    """A word people text to the company's short code or sender id, and what Odoo then does (its actions).

    Matched as the STOP / START / HELP words are: the whole message, with case, accents, punctuation and outer
    spaces ignored, must equal the word. The built-in words always win and cannot be taken by a keyword.
    """

    _name = "sms.keyword"
    _description = "SMS Keyword"
    _order = "name, id"

    name = fields.Char("Keyword", required=True,
                       help="The word people send, e.g. JOIN or KLABU. Case, accents and punctuation are ignored.")
    normalized = fields.Char("Matched As", compute="_compute_normalized", store=True, index=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    short_code = fields.Char(
        "Short Code / Sender",
        help="Only SMS sent to this short code or sender id (the 'to' of the incoming SMS) match. Empty: any of "
        "the company's numbers; a keyword for the exact short code wins over one for any number.",
    )
    short_code_normalized = fields.Char(compute="_compute_normalized", store=True, index=True)
    action_ids = fields.One2many("sms.keyword.action", "keyword_id", string="Actions", copy=True)
    double_opt_in = fields.Boolean(
        "Double Opt-in",
        help="A join only counts once the number answers YES (or NDIO) to a confirmation SMS within the "
        "confirmation window (Settings). On for every keyword when the company setting is on.",
    )
    confirmation_en = fields.Text(
        "Confirmation (English)",
        default="Reply YES to confirm you want to receive SMS from %(list)s.",
        help="The confirmation SMS of a double opt-in; %(list)s is the list's name.",
    )
    confirmation_sw = fields.Text(
        "Confirmation (Swahili)",
        default="Jibu NDIO kuthibitisha unataka kupokea SMS za %(list)s.",
    )
    subscription_list_id = fields.Many2one(
        "mailing.list", "Premium Subscription List", ondelete="restrict",
        help="Africa's Talking premium subscriptions of this short code and keyword (subscription notifications, "
        "'addition' / 'deletion') subscribe or unsubscribe the number to this list.",
    )
    inbound_ids = fields.One2many("africastalking.inbound", "sms_keyword_id", string="Received", readonly=True)
    inbound_count = fields.Integer("Received SMS", compute="_compute_inbound_count")

    _sql_constraints = [
        ("word_unique", "unique (company_id, normalized, short_code_normalized)",
         "This keyword already exists for this short code in this company."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        keywords = super().create(vals_list)
        keywords.subscription_list_id._sms_check_keyword_target()
        return keywords

    def write(self, vals):
        result = super().write(vals)
        if vals.get("subscription_list_id"):
            self.subscription_list_id._sms_check_keyword_target()
        return result

    @api.depends("name", "short_code")
    def _compute_normalized(self):
        for keyword in self:
            keyword.normalized = normalize_keyword(keyword.name or "")
            # '' and NULL are both "any number": one value so that the unique constraint sees duplicates.
            keyword.short_code_normalized = normalize_sender(keyword.short_code) or "*"

    def _compute_inbound_count(self):
        counts = dict(self.env["africastalking.inbound"]._read_group(
            [("sms_keyword_id", "in", self.ids)], ["sms_keyword_id"], ["__count"]))
        for keyword in self:
            keyword.inbound_count = counts.get(keyword, 0)

    @api.constrains("name", "company_id")
    def _check_not_builtin(self):
        for keyword in self:
            word = keyword.normalized
            if not word:
                raise ValidationError(_("A keyword needs at least one letter or digit."))
            builtin = keyword.company_id._sms_keywords()
            for action, words in DEFAULT_KEYWORDS.items():
                builtin[action] = (*builtin.get(action, ()), *words)
            for action, words in builtin.items():
                if word in {normalize_keyword(w) for w in words}:
                    raise ValidationError(_(
                        "“%(word)s” is a built-in %(action)s word: it always opts out, in or answers with help, so "
                        "a keyword cannot use it. Choose another word.",
                        word=word, action=action.upper()))
            if word in CONFIRMATION_WORDS:
                raise ValidationError(_(
                    "“%s” confirms a double opt-in and cannot be a keyword. Choose another word.", word))

    @api.model
    def _match(self, company, text, to):
        """The active keyword of ``company`` equal to ``text`` for the short code ``to``: the one of that short code
        first, else the one for any number; empty when none."""
        word = normalize_keyword(text) if isinstance(text, str) and len(text) <= 160 else ""
        if not word or not company:
            return self.browse()
        candidates = self.search([
            ("company_id", "=", company.id), ("normalized", "=", word),
            ("short_code_normalized", "in", [normalize_sender(to) or "*", "*"]),
        ])
        return candidates.sorted(lambda keyword: keyword.short_code_normalized == "*")[:1]

    def _double_opt_in_required(self):
        self.ensure_one()
        return self.double_opt_in or self.company_id.sudo().sms_double_opt_in

    def _confirmation_texts(self, mailing_list):
        """The confirmation SMS (English, Swahili) with the list's name; a broken placeholder leaves it as typed."""
        self.ensure_one()
        texts = []
        for text in (self.confirmation_en, self.confirmation_sw):
            try:
                texts.append((text or "") % {"list": mailing_list.name})
            except (KeyError, ValueError, TypeError):
                texts.append(text or "")
        return texts

    def action_view_inbound(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Received: %s", self.name),
            "res_model": "africastalking.inbound",
            "view_mode": "tree,form",
            "domain": [("sms_keyword_id", "=", self.id)],
        }
