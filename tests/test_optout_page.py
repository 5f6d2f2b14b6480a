"""The SMS unsubscribe page, over real HTTP: the number is typed in a POST form, never shown or in a URL."""

import re

from odoo.tests import tagged

from .common import AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestOptOutPage(AfricasTalkingHttpCase):

    def _send(self, **values):
        mailing = self.create_sms_mailing(body="Exams start Monday", sms_allow_unsubscribe=True, **values)
        self.send_mailing(mailing)
        return mailing

    def _trace(self, mailing, number):
        return mailing.mailing_trace_ids.filtered(lambda t: t.sms_number == number)

    def _open_page(self, mailing, trace):
        url = "/sms/%s/%s" % (mailing.id, trace.sms_code)
        sent = next(m["text"] for m in self.simulator.messages if m["number"] == trace.sms_number)
        self.assertIn(url, sent, "the SMS carries the link")
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        token = re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)
        return url, token

    def _unsubscribe(self, mailing, trace, typed):
        _url, token = self._open_page(mailing, trace)
        self.env.flush_all()
        response = self.url_open("/sms/%s/unsubscribe/%s" % (mailing.id, trace.sms_code),
                                 data={"sms_number": typed, "csrf_token": token})
        self.env.invalidate_all()
        return response

    def assertNumberNotShown(self, response, *numbers):
        for number in numbers:
            self.assertNotIn(number, response.text)
            self.assertNotIn(number, response.url)

    def test_link_page_has_no_number(self):
        mailing = self._send()
        trace = self._trace(mailing, "+254722000001")
        for message in self.simulator.messages:
            link = re.search(r"https?://\S+/sms/\S+", message["text"]).group(0)
            self.assertNotIn(message["number"].lstrip("+"), link)
        url, _token = self._open_page(mailing, trace)
        response = self.url_open(url)
        self.assertNumberNotShown(response, "254722000001", "0722000001")

    def test_opt_out_from_list(self):
        mailing = self._send()
        trace = self._trace(mailing, "+254722000001")
        response = self._unsubscribe(mailing, trace, "0722 000 001")
        self.assertEqual(response.status_code, 200)
        self.assertIn("Students", response.text)
        self.assertNumberNotShown(response, "254722000001", "0722 000 001", "722000001")
        contact = self.mailing_list.contact_ids.filtered(lambda c: c.mobile == "+254722000001")
        self.assertTrue(contact.subscription_ids.opt_out)
        self.assertFalse(self.env["phone.blacklist"].search([("number", "=", "+254722000001")]),
                         "a mailing on lists opts out of the lists, not of every SMS")
        other = self.mailing_list.contact_ids.filtered(lambda c: c.mobile == "+254722000002")
        self.assertFalse(other.subscription_ids.opt_out)

    def test_opt_out_blacklists_without_lists(self):
        mailing = self.create_sms_mailing(
            body="Fees reminder", sms_allow_unsubscribe=True, contact_list_ids=False,
            mailing_model_id=self.env["ir.model"]._get_id("res.partner"),
            mailing_domain=repr([("id", "in", self.partners.ids)]))
        self.send_mailing(mailing)
        trace = self._trace(mailing, "+254711000002")
        response = self._unsubscribe(mailing, trace, "+254711000002")
        self.assertIn("no longer receive", response.text)
        self.assertNumberNotShown(response, "254711000002")
        entry = self.env["phone.blacklist"].search([("number", "=", "+254711000002")])
        self.assertEqual(entry.africastalking_block, "page")

    def test_wrong_number_changes_nothing(self):
        mailing = self._send()
        trace = self._trace(mailing, "+254722000001")
        for typed in ("0722000002", "hello", ""):
            response = self._unsubscribe(mailing, trace, typed)
            self.assertIn("o_sms_optout_error", response.text)
            self.assertNumberNotShown(response, "254722000002", "0722000002", "254722000001")
        self.assertFalse(self.mailing_list.contact_ids.subscription_ids.filtered("opt_out"))

    def test_number_in_url_is_refused(self):
        mailing = self._send()
        trace = self._trace(mailing, "+254722000001")
        response = self.url_open("/sms/%s/unsubscribe/%s?sms_number=%%2B254722000001" % (mailing.id, trace.sms_code))
        self.assertEqual(response.status_code, 405)
        self.assertFalse(self.mailing_list.contact_ids.subscription_ids.filtered("opt_out"))

    def test_wrong_code_redirects(self):
        mailing = self._send()
        response = self.url_open("/sms/%s/zzz" % mailing.id, allow_redirects=False)
        self.assertIn(response.status_code, (302, 303))
