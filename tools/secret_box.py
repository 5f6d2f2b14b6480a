"""Encryption of API keys and keyed hashes of callback secrets, under a key from the server's configuration.

Plain Python (no Odoo import). The database holds only what this module produces: a Fernet token per API key and
an HMAC-SHA256 per callback secret. Without the server key neither is of any use, so a database dump, a restored
backup or a neutralized copy holds no usable credential.

Each API key is encrypted together with a *binding* (the account's id, environment, URL and username): a token
copied to another account, or an account whose endpoint was changed behind the form's back (plain SQL), no longer
decrypts, so the key can never be sent to an endpoint its administrator did not enter it for.
"""

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken

# The server key is any long random string; both working keys are derived from it, one per purpose.
MIN_KEY_LENGTH = 32
_ENCRYPTION_LABEL = b"sms_africastalking/api-key/v1"
_HASH_LABEL = b"sms_africastalking/callback-secret/v1"


class SecretKeyMissing(Exception):
    """No usable server key is configured."""


class SecretUnusable(Exception):
    """A stored token does not decrypt under this key and binding."""


class SecretBox:
    """Encrypts, decrypts and hashes with the keys derived from one server key.

    Never stored on a record or returned by a model method: Odoo's template expressions may call any method
    whose name has no double underscore, so whatever holds this object must stay out of their reach.
    """

    def __init__(self, server_key):
        server_key = (server_key or "").strip()
        if len(server_key) < MIN_KEY_LENGTH:
            raise SecretKeyMissing(
                "no key of at least %d characters is configured" % MIN_KEY_LENGTH if server_key else
                "no key is configured")
        material = server_key.encode()
        fernet_key = hmac.new(material, _ENCRYPTION_LABEL, hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(fernet_key))
        self._hash_key = hmac.new(material, _HASH_LABEL, hashlib.sha256).digest()

    def encrypt(self, value, binding):
        """A token of ``value`` that decrypts only with ``binding`` (a list of strings)."""
        payload = json.dumps({"value": value, "binding": list(binding)}, separators=(",", ":"))
        return self._fernet.encrypt(payload.encode()).decode()

    def decrypt(self, token, binding):
        """The value of ``token``; SecretUnusable when it was made by another key or for another binding."""
        try:
            payload = json.loads(self._fernet.decrypt((token or "").encode()))
        except (InvalidToken, ValueError):
            raise SecretUnusable("the token was not made with this key") from None
        if not isinstance(payload, dict) or payload.get("binding") != list(binding):
            raise SecretUnusable("the token was made for another account or endpoint")
        return payload.get("value")

    def hash_secret(self, secret):
        return hmac.new(self._hash_key, (secret or "").encode(), hashlib.sha256).hexdigest()

    def secret_matches(self, secret, stored_hash):
        """Constant-time comparison of ``secret`` with a stored hash."""
        if not secret or not stored_hash:
            return False
        return hmac.compare_digest(self.hash_secret(secret).encode(), stored_hash.encode())
