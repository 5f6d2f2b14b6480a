"""17.0.1.1.0: encrypt the stored plaintext API keys, replace callback secrets by their keyed hashes, and drop
the plaintext columns. The callback URLs pasted at Africa's Talking keep working: the hash is of the same secret.
"""

import logging

from odoo.addons.sms_africastalking.models.africastalking_account import _binding_values, _secret_box
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'africastalking_account' "
               "AND column_name IN ('api_key', 'callback_secret')")
    columns = {row[0] for row in cr.fetchall()}
    if not columns:
        return
    box = _secret_box()  # pre-migrate.py made sure there is one when any plaintext is stored
    cr.execute(SQL(
        "SELECT id, environment, api_url, username, %s, %s FROM africastalking_account",
        SQL.identifier("api_key") if "api_key" in columns else SQL("NULL"),
        SQL.identifier("callback_secret") if "callback_secret" in columns else SQL("NULL"),
    ))
    for account_id, environment, api_url, username, api_key, secret in cr.fetchall():
        cr.execute(
            "UPDATE africastalking_account SET api_key_encrypted = COALESCE(%s, api_key_encrypted), "
            "callback_secret_hash = COALESCE(%s, callback_secret_hash) WHERE id = %s",
            (box.encrypt(api_key, _binding_values(account_id, environment, api_url, username)) if api_key else None,
             box.hash_secret(secret) if secret else None, account_id))
    for column in columns:
        cr.execute(SQL("ALTER TABLE africastalking_account DROP COLUMN %s", SQL.identifier(column)))
    _logger.info("Africa's Talking accounts: API keys encrypted, callback secrets hashed, plaintext columns dropped")
