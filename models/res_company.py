from odoo import fields, models

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

    def _get_africastalking_account(self):
        """The account that sends this company's SMS: its first active one."""
        self.ensure_one()
        return self.env["africastalking.account"].sudo().search(
            [("company_id", "=", self.id)], order="sequence, id", limit=1
        )

    # ------------------------------------------------------------------
    # Inbound SMS keywords (STOP / START / HELP)
    # ------------------------------------------------------------------

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
