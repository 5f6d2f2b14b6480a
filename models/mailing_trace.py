import hashlib
import hmac
import secrets
import string
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from .africastalking_message_network import network_display
from .mail_notification import AT_FAILURE_LABELS

# Unsubscribe links carry a signed token per trace instead of stock's 3-character code (238,328 values: 3,000
# guesses found valid codes). Token = random nonce + HMAC-SHA256 of it under the database secret, in base 62:
# a forged token is refused without a database query, and guessing one means guessing ~71 bits.
TOKEN_ALPHABET = string.digits + string.ascii_letters
UNSUBSCRIBE_NONCE_SIZE = 8
UNSUBSCRIBE_SIGNATURE_SIZE = 12
UNSUBSCRIBE_TOKEN_SIZE = UNSUBSCRIBE_NONCE_SIZE + UNSUBSCRIBE_SIGNATURE_SIZE
# Links of mailings sent before the signed tokens keep working for this many days after they were sent.
LEGACY_CODE_SIZE = 3
LEGACY_LINK_DAYS = 60
# Partial indexes on stock's table: created by init(), dropped by the addon's uninstall_hook.
BUSY_INDEX = "mailing_trace_sms_busy_idx"
IAP_FAILURE_INDEX = "mailing_trace_sms_iap_failure_idx"


def _base62(number, size):
    """The ``size`` lowest base-62 digits of ``number``, least significant first."""
    number %= len(TOKEN_ALPHABET) ** size  # the digits kept depend on nothing else; a small int divides faster
    chars = []
    for _index in range(size):
        number, digit = divmod(number, len(TOKEN_ALPHABET))
        chars.append(TOKEN_ALPHABET[digit])
    return "".join(chars)


class MailingTrace(models.Model):
    _inherit = "mailing.trace"

    # Recipients whose number cannot receive SMS (models/recipient_rules.py, "not_mobile"), recipients left out as
    # dead numbers (sms.number.suppression), and AT's words for stock's IAP failure labels (mail_notification.py)
    failure_type = fields.Selection(
        selection_add=[("sms_not_mobile", "Not a Mobile Number"), ("sms_dead_number", "Suppressed: Dead Number"),
                       *AT_FAILURE_LABELS],
        ondelete={"sms_not_mobile": "set null", "sms_dead_number": "set null"})

    # Stock sizes the opt-out link of its SMS length estimate with it, and draws codes of this size.
    CODE_SIZE = UNSUBSCRIBE_TOKEN_SIZE

    trace_status = fields.Selection(
        selection_add=[("unknown", "Unknown Outcome")],
        ondelete={"unknown": lambda traces: traces.write({"trace_status": "error"})},
    )
    at_message_id = fields.Char("AT Message ID", readonly=True)
    at_status = fields.Char("AT Status", readonly=True)
    at_cost = fields.Float("SMS Cost", digits=(16, 4), readonly=True)
    at_currency = fields.Char("Currency", readonly=True)
    at_parts = fields.Integer("SMS Parts", readonly=True)
    at_network_code = fields.Char("Network Code", readonly=True)
    # The mobile network: reported by AT, else guessed from the number's prefix.
    at_network_name = fields.Char("Network", compute="_compute_at_network_name")

    def init(self):  # pylint: disable=missing-return
        super().init()
        # "Is anything of this mailing still queued or being sent?" is asked after every dispatch batch and
        # delivery batch: a small partial index answers it without reading the mailing's other traces.
        self.env.cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS %s ON mailing_trace (mass_mailing_id) "
            "WHERE trace_status IN ('outgoing', 'process')", SQL.identifier(BUSY_INDEX)))
        # Stock's mailing form asks whether a trace failed for IAP credit or account (the exact failure types of
        # mass_mailing_sms' _compute_sms_has_iap_failure): without it, every opening reads all the mailing's traces.
        self.env.cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS %s ON mailing_trace (mass_mailing_id, failure_type) "
            "WHERE failure_type IN ('sms_acc', 'sms_credit')", SQL.identifier(IAP_FAILURE_INDEX)))

    @api.depends("at_network_code", "sms_number")
    def _compute_at_network_name(self):
        for trace in self:
            trace.at_network_name = network_display(trace.at_network_code, trace.sms_number)

    # ------------------------------------------------------------------
    # Unsubscribe tokens
    # ------------------------------------------------------------------

    @api.model
    def _get_random_code(self):
        # Stock draws 3 random characters: any of them can be guessed. Here, a signed token.
        return self._sms_unsubscribe_tokens(1)[0]

    @api.model
    def _sms_unsubscribe_tokens(self, count):
        """``count`` new signed tokens (see UNSUBSCRIBE_*), for the ``sms_code`` of new SMS traces."""
        return unsubscribe_tokens(self._sms_token_key(), count)

    @api.model
    def _sms_unsubscribe_code_kind(self, code):
        """'signed' for a token we issued, 'legacy' for a stock 3-character code, else False (refused)."""
        if not isinstance(code, str):
            return False
        if len(code) == LEGACY_CODE_SIZE and all(char in TOKEN_ALPHABET for char in code):
            return "legacy"
        if len(code) != UNSUBSCRIBE_TOKEN_SIZE:
            return False
        nonce, signature = code[:UNSUBSCRIBE_NONCE_SIZE], code[UNSUBSCRIBE_NONCE_SIZE:]
        return "signed" if hmac.compare_digest(signature, _signature(self._sms_token_key(), nonce)) else False

    @api.model
    def _sms_legacy_code_valid_since(self):
        return fields.Datetime.now() - timedelta(days=LEGACY_LINK_DAYS)

    @api.model
    def _sms_token_key(self):
        return self.env["ir.config_parameter"].sudo().get_param("database.secret").encode()


def unsubscribe_tokens(key, count):
    """``count`` new signed tokens under ``key`` (``_sms_token_key``); plain Python, no query."""
    # One uniform draw per nonce (as uniform as a draw per character, and 8x fewer): a 100,000-recipient mailing
    # draws 100,000 of them.
    space = len(TOKEN_ALPHABET) ** UNSUBSCRIBE_NONCE_SIZE
    nonces = (_base62(secrets.randbelow(space), UNSUBSCRIBE_NONCE_SIZE) for _token in range(count))
    return [nonce + _signature(key, nonce) for nonce in nonces]


def _signature(key, nonce):
    digest = hmac.digest(key, b"sms_africastalking.unsubscribe:" + nonce.encode(), hashlib.sha256)  # one C call
    return _base62(int.from_bytes(digest, "big"), UNSUBSCRIBE_SIGNATURE_SIZE)

