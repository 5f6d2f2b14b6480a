from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools.keywords import DEFAULT_KEYWORDS, parse_keyword_config

# English first, Swahili second: the audience of a school or NGO in East Africa reads one or the other.
DEFAULT_REPLIES = {
    "stop": "You will no longer receive our SMS. Reply START to subscribe again. "
            "Hutapokea tena SMS zetu. Jibu ANZA kujiunga tena.",
    "start": "You are subscribed to our SMS again. Reply STOP to unsubscribe. "
             "Umejiunga tena na SMS zetu. Jibu SIMAMA kujiondoa.",
    "help": "Reply STOP to stop our SMS, START to receive them again. "
            "Jibu SIMAMA kusitisha SMS zetu, ANZA kuzipokea tena.",
}


class ResCompany(models.Model):
    _inherit = "res.company"

    sms_smart_encoding = fields.Boolean(
        "SMS Smart Encoding",
        help="Replace look-alike characters (curly quotes, dashes, ellipsis, odd spaces) by plain ones so that a "
        "message stays GSM-7 and fits 160 characters per part instead of 70.",
    )
    sms_at_first_message_text = fields.Char(
        "Text AT Adds to a First Bulk SMS",
        help="Africa's Talking appends opt-out instructions to the first bulk message a number receives from "
        "you; enter that text so estimates count it.",
    )
    sms_window_enabled = fields.Boolean("SMS Send Window")
    sms_window_start = fields.Float("Window Opens", default=8.0)
    sms_window_end = fields.Float("Window Closes", default=20.0)
    sms_segments_warn = fields.Integer(
        "Warn Above (Parts per SMS)", default=3,
        help="Sends whose text needs more parts per SMS than this ask for a confirmation that says so: each "
        "part is billed as one SMS. 0: no warning.",
    )
    sms_segments_cap = fields.Integer(
        "Block Above (Parts per SMS)", default=0,
        help="Sends whose text needs more parts per SMS than this are refused. 0: no limit.",
    )

    # Inbound SMS keywords (STOP / START / HELP) and the replies to them
    sms_keyword_stop = fields.Char(
        "STOP Keywords", default=lambda self: ", ".join(DEFAULT_KEYWORDS["stop"]),
        help="Inbound SMS equal to one of these words (comma-separated, case and spaces ignored) opt the number "
        "out of SMS mailings.",
    )
    sms_keyword_start = fields.Char(
        "START Keywords", default=lambda self: ", ".join(DEFAULT_KEYWORDS["start"]),
        help="Inbound SMS equal to one of these words opt the number back in.",
    )
    sms_keyword_help = fields.Char(
        "HELP Keywords", default=lambda self: ", ".join(DEFAULT_KEYWORDS["help"]),
        help="Inbound SMS equal to one of these words are answered with the help text.",
    )
    sms_reply_stop = fields.Char(
        "STOP Reply", default=lambda self: DEFAULT_REPLIES["stop"],
        help="Sent back after a STOP keyword. Empty: no answer.",
    )
    sms_reply_start = fields.Char(
        "START Reply", default=lambda self: DEFAULT_REPLIES["start"],
        help="Sent back after a START keyword. Empty: no answer.",
    )
    sms_reply_help = fields.Char(
        "HELP Reply", default=lambda self: DEFAULT_REPLIES["help"],
        help="Sent back after a HELP keyword. Empty: no answer.",
    )

    @api.constrains("sms_window_start", "sms_window_end")
    def _check_sms_window(self):
        for company in self:
            if not (0 <= company.sms_window_start < 24 and 0 < company.sms_window_end <= 24):
                raise ValidationError(_("The SMS send window must lie within one day (00:00 to 24:00)."))
            if company.sms_window_start >= company.sms_window_end:
                raise ValidationError(_("The SMS send window must open before it closes."))

    @api.constrains("sms_segments_warn", "sms_segments_cap")
    def _check_sms_segments_limits(self):
        for company in self:
            if company.sms_segments_warn < 0 or company.sms_segments_cap < 0:
                raise ValidationError(_("The limits of parts per SMS cannot be negative (0: no limit)."))

    def unlink(self):
        # The AT message log keeps its company without a foreign key (africastalking_message.LogReference)
        self.env["africastalking.message"].sudo()._forget_deleted("company_id", self.ids)
        return super().unlink()

    def _get_africastalking_account(self):
        """The account that sends this company's SMS: its first active one."""
        self.ensure_one()
        return self.env["africastalking.account"].sudo().search(
            [("company_id", "=", self.id)], order="sequence, id", limit=1
        )

    def _africastalking_no_account_message(self):
        """The one wording of "this company has no account to send with" (queue, composer, checks)."""
        self.ensure_one()
        return _("No Africa's Talking account is configured for %s.", self.name)

    def _get_africastalking_account_or_raise(self):
        """The sending account (found with sudo(), see above), or a UserError saying that none is configured."""
        account = self._get_africastalking_account()
        if not account:
            raise UserError(self._africastalking_no_account_message())
        return account

    def _sms_window_tz(self):
        return pytz.timezone(self.partner_id.tz or "UTC")

    def _sms_window_next_opening(self, now=None):
        """None when mailings may send now, else the UTC (naive) datetime at which the window opens next."""
        self.ensure_one()
        if not self.sms_window_enabled:
            return None
        tz = self._sms_window_tz()
        now_utc = now or fields.Datetime.now()
        local = pytz.utc.localize(now_utc).astimezone(tz)
        hours = local.hour + local.minute / 60 + local.second / 3600
        if self.sms_window_start <= hours < self.sms_window_end:
            return None
        day = local.date() if hours < self.sms_window_start else local.date() + timedelta(days=1)
        start_minutes = round(self.sms_window_start * 60)
        opening = tz.localize(datetime.combine(day, time(start_minutes // 60, start_minutes % 60)))
        return opening.astimezone(pytz.utc).replace(tzinfo=None)

    # ------------------------------------------------------------------
    # Inbound SMS keywords (STOP / START / HELP)
    # ------------------------------------------------------------------

    def _sms_keywords(self):
        """{'stop': (...), 'start': (...), 'help': (...)} as configured; the defaults for an emptied field."""
        self.ensure_one()
        company = self.sudo()
        return {
            action: parse_keyword_config(company["sms_keyword_%s" % action]) or DEFAULT_KEYWORDS[action]
            for action in ("stop", "start", "help")
        }

    def _sms_keyword_reply(self, action):
        self.ensure_one()
        return (self.sudo()["sms_reply_%s" % action] or "").strip()
