"""One phone normaliser (tools.phone.normalize_number) for the whole addon, agreeing with stock's phone_sanitized.

The addon's lookups (blacklist, list contacts, the estimate) compare what it normalises with ``phone_sanitized``,
which stock computes with ``_phone_format``: wherever stock finds a valid number, both must give the same E.164.
"""

from odoo.tests import tagged

from ..tools.phone import normalize_number
from .common import AfricasTalkingCase

# Spellings people type, in Kenya and abroad; None: stock finds no valid number either.
SPELLINGS = [
    ("0712 345 678", "+254712345678"),
    ("+254 712-345-678", "+254712345678"),
    ("254712345678", "+254712345678"),
    ("00254712345678", "+254712345678"),
    ("(0712) 345678", "+254712345678"),
    ("0772 123 456", "+254772123456"),
    ("+256 772 123456", "+256772123456"),
    ("+44 20 7946 0958", "+442079460958"),
    ("0712 34", None),
    ("+254 12345", None),
]


@tagged("post_install", "-at_install")
class TestOnePhoneNormaliser(AfricasTalkingCase):
    def test_normaliser_agrees_with_stock_phone_sanitized(self):
        kenya = self.env.ref("base.ke")
        for raw, e164 in SPELLINGS:
            with self.subTest(raw=raw):
                self.assertEqual(normalize_number(raw, "KE").e164, e164)
                self.assertEqual(self.env["res.partner"]._phone_format(number=raw, country=kenya) or None, e164)

    def test_api_blacklist_and_test_send_read_numbers_alike(self):
        """A number typed three ways reaches one E.164 in the API, the blacklist and the test-send wizard."""
        api = self.env["sms.africastalking.api"]
        targets, rejected = api._resolve_recipients(["0712 345 678", "+254712345678", "254 712 345 678"],
                                                    self.env.company)
        self.assertEqual([target["number"] for target in targets], ["+254712345678"])
        self.assertEqual(len(rejected), 2, "the other two spellings are the same number: duplicates")
        self.env["phone.blacklist"]._africastalking_block(["0712 345 678"], "page")
        self.assertTrue(self.env["phone.blacklist"].search([("number", "=", "+254712345678")]))
        wizard = self.env["mailing.sms.test"].new({})
        self.assertEqual(wizard._sanitize_test_number("0712-345-678"), "+254712345678")
        self.assertFalse(wizard._sanitize_test_number("not a number"))
