"""17.0.1.1.0: API keys encrypted at rest, callback secrets stored as keyed hashes (see post-migrate.py).

Checked before anything changes: an upgrade without a configured server key stops here with a clear message
rather than keep plaintext keys or drop them.
"""

from odoo.addons.sms_africastalking.models.africastalking_account import (
    SERVER_KEY_ENV,
    SERVER_KEY_OPTION,
    _secret_box,
)
from odoo.addons.sms_africastalking.tools.secret_box import MIN_KEY_LENGTH, SecretKeyMissing
from odoo.tools import SQL

PLAINTEXT_COLUMNS = ("api_key", "callback_secret")


def plaintext_columns(cr):
    cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'africastalking_account' "
               "AND column_name = ANY(%s)", (list(PLAINTEXT_COLUMNS),))
    return {row[0] for row in cr.fetchall()}


def migrate(cr, version):
    stored = []
    for column in plaintext_columns(cr):
        cr.execute(SQL("SELECT 1 FROM africastalking_account WHERE %s IS NOT NULL LIMIT 1", SQL.identifier(column)))
        if cr.fetchone():
            stored.append(column)
    if not stored:
        return
    try:
        _secret_box()
    except SecretKeyMissing:
        raise RuntimeError(
            "sms_africastalking: API keys and callback secrets are now stored encrypted / hashed. Set the "
            "environment variable %s or the option %s of the Odoo configuration file to a random string of at "
            "least %d characters before upgrading." % (SERVER_KEY_ENV, SERVER_KEY_OPTION, MIN_KEY_LENGTH)
        ) from None
