"""Unsubscribe links cannot be guessed (issue 15, item 8): signed tokens; old 3-character codes expire."""

import re
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..controllers import main as controllers_main
from ..models.mailing_trace import LEGACY_LINK_DAYS, UNSUBSCRIBE_TOKEN_SIZE
from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestUnsubscribeTokens(AfricasTalkingHttpCase):

    def setUp(self):
        super().setUp()
        self.patch(controllers_main, "_legacy_code_lookups", controllers_main._AttemptLimiter(
            controllers_main.LEGACY_CODE_LOOKUPS, controllers_main.LEGACY_CODE_WINDOW_SECONDS))
        self.mailing = self.create_sms_mailing(body="Exams start Monday", sms_allow_unsubscribe=True)
        self.send_mailing(self.mailing)

    def _trace(self, number):
        return self.mailing.mailing_trace_ids.filtered(lambda t: t.sms_number == number)

    def _page(self, code):
        self.env.flush_all()
        return self.url_open("/sms/%s/%s" % (self.mailing.id, code), allow_redirects=False)

    def _unsubscribe(self, code, typed):
        page = self._page(code)
        self.assertEqual(page.status_code, 200)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = self.url_open("/sms/%s/unsubscribe/%s" % (self.mailing.id, code),
                                 data={"sms_number": typed, "csrf_token": token}, allow_redirects=False)
        self.env.invalidate_all()
        return response

    def _opted_out(self, number):
        contact = self.mailing_list.contact_ids.filtered(lambda c: c.mobile == number)
        return bool(contact.subscription_ids.filtered("opt_out"))

    def test_links_carry_signed_tokens(self):
        codes = self.mailing.mailing_trace_ids.mapped("sms_code")
        self.assertEqual({len(code) for code in codes}, {UNSUBSCRIBE_TOKEN_SIZE})
        self.assertEqual(len(set(codes)), len(codes), "one token per trace")
        for code in codes:
            self.assertEqual(self.env["mailing.trace"]._sms_unsubscribe_code_kind(code), "signed")
        for message in self.simulator.messages:
            self.assertIn("/sms/%s/%s" % (self.mailing.id, self._trace(message["number"]).sms_code),
                          message["text"])

    def test_guessing_fails(self):
        code = self._trace("+254722000001").sms_code
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
        forged = [code[:-1] + next(c for c in alphabet if c != code[-1]),  # one character off
                  "A" * UNSUBSCRIBE_TOKEN_SIZE, code[:8], "zzz", "abc"]
        for guess in forged:
            with self.subTest(guess=guess):
                self.assertIn(self._page(guess).status_code, (302, 303))
        self.assertFalse(self._opted_out("+254722000001"))

    def test_valid_token_opts_out_only_that_number(self):
        code = self._trace("+254722000001").sms_code
        response = self._unsubscribe(code, "0722 000 001")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(self._opted_out("+254722000001"))
        # The token of one number cannot opt out another number of the same mailing.
        response = self._unsubscribe(code, "0722 000 002")
        self.assertIn("o_sms_optout_error", response.text)
        self.assertEqual([number for number in ("+254722000000", "+254722000002", "+254722000003")
                          if self._opted_out(number)], [])

    def test_old_link_works_until_it_expires_and_is_rate_limited(self):
        trace = self._trace("+254722000001")
        trace.sms_code = "aB3"  # a link of a mailing sent before the tokens
        self.assertEqual(self._unsubscribe("aB3", "0722000001").status_code, 200)
        self.assertTrue(self._opted_out("+254722000001"))

        other = self._trace("+254722000002")
        other.sms_code = "Zz9"
        self.env.flush_all()
        self.env.cr.execute("UPDATE mailing_trace SET create_date = %s WHERE id = %s",
                            (fields.Datetime.now() - timedelta(days=LEGACY_LINK_DAYS + 1), other.id))
        self.env.invalidate_all()
        self.assertIn(self._page("Zz9").status_code, (302, 303), "an expired old link is refused")

        # Enumerating old codes from one address is cut off, even for a valid one.
        for guess in ("aa1", "aa2", "aa3", "aa4", "aa5", "aa6", "aa7", "aa8", "aa9"):
            self._page(guess)
        self.assertIn(self._page("aB3").status_code, (302, 303))
        self.assertEqual(self._page(self._trace("+254722000003").sms_code).status_code, 200,
                         "signed tokens are not limited")
