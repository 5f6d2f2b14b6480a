"""Acceptance review: poll answers and keywords of one number posted at the same moment to Odoo's real inbound
webhook (committed data, one server thread per request, as AT delivers them): every post is answered 200, one vote
per number counts every answer once, one double opt-in request and one confirmation SMS per join."""

import threading
import uuid
from datetime import timedelta

import requests

from odoo import Command, fields
from odoo.tests import TransactionCase, tagged

from . import chaos

NUMBER = "+254766000456"
PARALLEL = 4


@tagged("post_install", "-at_install")
class TestReviewInboundRealTiming(TransactionCase):

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            self.account_id, self.url = chaos.committed_inbound_account(env, "Inbound timing")
            mailing_list = env["mailing.list"].create({"name": "Timing list", "contact_ids": [
                Command.create({"name": "Timing contact", "mobile": NUMBER})]})
            self.list_id, self.contact_id = mailing_list.id, mailing_list.contact_ids.id
            self.join_list_id = env["mailing.list"].create({"name": "Timing club"}).id
            mailing = env["mailing.mailing"].create({
                "subject": "Timing poll", "mailing_type": "sms", "body_plaintext": "Reply 1 or 2",
                "mailing_model_id": env["ir.model"]._get_id("mailing.list"),
                "contact_list_ids": [Command.link(self.list_id)]})
            self.mailing_id = mailing.id
            env["mailing.trace"].create({
                "trace_type": "sms", "mass_mailing_id": mailing.id, "model": "mailing.contact",
                "res_id": self.contact_id, "sms_number": NUMBER, "trace_status": "sent",
                "sent_datetime": fields.Datetime.now()})
            self.poll_id = env["sms.poll"].create({
                "name": "Timing question", "mailing_id": mailing.id, "vote_rule": "last",
                "answer_ids": [Command.create({"code": "1", "name": "One"}),
                               Command.create({"code": "2", "name": "Two"})],
            }).id
            self.keyword_id = env["sms.keyword"].create({
                "name": "TIMINGJOIN", "double_opt_in": True,
                "action_ids": [Command.create({"action_type": "list_join", "mailing_list_id": self.join_list_id})]}).id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM sms_sms WHERE number = %s", (NUMBER,))
            cr.execute("DELETE FROM sms_spend WHERE account_id = %s", (self.account_id,))
            cr.execute("DELETE FROM sms_opt_in_request WHERE number = %s", (NUMBER,))
            cr.execute("DELETE FROM sms_consent WHERE number = %s", (NUMBER,))
            cr.execute("DELETE FROM sms_keyword WHERE id = %s", (self.keyword_id,))
            cr.execute("DELETE FROM sms_poll WHERE id = %s", (self.poll_id,))
            cr.execute("DELETE FROM mailing_trace WHERE mass_mailing_id = %s", (self.mailing_id,))
            cr.execute("DELETE FROM mailing_mailing WHERE id = %s", (self.mailing_id,))
            cr.execute("DELETE FROM mailing_list WHERE id IN %s", ((self.list_id, self.join_list_id),))
            cr.execute("DELETE FROM mailing_contact WHERE id = %s", (self.contact_id,))
            cr.execute("DELETE FROM africastalking_inbound WHERE account_id = %s", (self.account_id,))
            cr.execute("DELETE FROM sms_conversation WHERE number = %s", (NUMBER,))
            cr.execute("DELETE FROM africastalking_account WHERE id = %s", (self.account_id,))

    def _post_at_once(self, texts):
        barrier, answers = threading.Barrier(len(texts)), []

        def post(text):
            form = {"date": "2026-12-01 10:00:00", "from": NUMBER, "id": "timing-%s" % uuid.uuid4().hex,
                    "linkId": "", "text": text, "to": "22384", "networkCode": "63902"}
            barrier.wait(timeout=30)
            answers.append(requests.post(self.url, data=form, timeout=60).status_code)

        threads = [threading.Thread(target=post, args=(text,)) for text in texts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        return answers

    def test_simultaneous_answers_of_one_number_make_one_vote(self):
        answers = self._post_at_once(["1", "2", "1", "2"][:PARALLEL])
        self.assertEqual(answers, [200] * PARALLEL, "AT is told every answer arrived")
        with self.registry.cursor() as cr:
            cr.execute("SELECT count(*), sum(COALESCE(change_count, 0) + COALESCE(ignored_count, 0)) "
                       "FROM sms_poll_vote WHERE poll_id = %s", (self.poll_id,))
            self.assertEqual(cr.fetchone(), (1, PARALLEL - 1), "one vote; every later answer changed or repeated it")
            cr.execute("SELECT count(*) FROM africastalking_inbound WHERE account_id = %s "
                       "AND sms_poll_answer_id IS NOT NULL", (self.account_id,))
            self.assertEqual(cr.fetchone()[0], PARALLEL, "each answer SMS logged as a poll answer")

    def test_simultaneous_joins_of_one_number_ask_once(self):
        answers = self._post_at_once(["TIMINGJOIN"] * PARALLEL)
        self.assertEqual(answers, [200] * PARALLEL)
        with self.registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM sms_opt_in_request WHERE number = %s AND state = 'pending'", (NUMBER,))
            self.assertEqual(cr.fetchone()[0], 1, "one pending request")
            cr.execute("SELECT count(*) FROM sms_sms WHERE number = %s AND at_origin = 'keyword'", (NUMBER,))
            self.assertEqual(cr.fetchone()[0], 1, "one confirmation SMS")
            cr.execute("SELECT count(*) FROM sms_consent WHERE number = %s AND consent = 'requested'", (NUMBER,))
            self.assertEqual(cr.fetchone()[0], 1, "one consent record of the request")

    def test_simultaneous_yes_confirms_once(self):
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            env["sms.opt.in.request"].create({
                "number": NUMBER, "mailing_list_id": self.join_list_id, "keyword_id": self.keyword_id,
                "company_id": env.company.id, "deadline": fields.Datetime.now() + timedelta(hours=1)})
        answers = self._post_at_once(["YES", "YES", "NDIO", "YES"][:PARALLEL])
        self.assertEqual(answers, [200] * PARALLEL, "AT is told every SMS arrived")
        with self.registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM mailing_subscription sub JOIN mailing_contact c ON c.id = sub.contact_id "
                       "WHERE sub.list_id = %s AND c.mobile = %s AND NOT COALESCE(sub.opt_out, false)",
                       (self.join_list_id, NUMBER))
            self.assertEqual(cr.fetchone()[0], 1, "subscribed once")
            cr.execute("SELECT state FROM sms_opt_in_request WHERE number = %s", (NUMBER,))
            self.assertEqual(cr.fetchall(), [("confirmed",)])
