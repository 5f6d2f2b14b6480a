from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


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

    @api.constrains("sms_window_start", "sms_window_end")
    def _check_sms_window(self):
        for company in self:
            if not (0 <= company.sms_window_start < 24 and 0 < company.sms_window_end <= 24):
                raise ValidationError(_("The SMS send window must lie within one day (00:00 to 24:00)."))
            if company.sms_window_start >= company.sms_window_end:
                raise ValidationError(_("The SMS send window must open before it closes."))

    def _get_africastalking_account(self):
        """The account that sends this company's SMS: its first active one."""
        self.ensure_one()
        return self.env["africastalking.account"].sudo().search(
            [("company_id", "=", self.id)], order="sequence, id", limit=1
        )

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
