"""Conversations under real timing: several SMS of one new number posted at once to Odoo's real inbound webhook
(committed data, one server thread per request) make one thread that counts each of them once."""

import threading
import uuid

import requests

from odoo.tests import TransactionCase, tagged

from . import chaos

NUMBER = "+254766000123"
PARALLEL = 8


@tagged("post_install", "-at_install")
class TestSmsConversationRealTiming(TransactionCase):

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = chaos.superuser_env(cr)
            self.account_id, self.url = chaos.committed_inbound_account(env, "Conversation timing")
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM africastalking_inbound WHERE account_id = %s", (self.account_id,))
            cr.execute("DELETE FROM sms_conversation WHERE number = %s", (NUMBER,))
            cr.execute("DELETE FROM africastalking_account WHERE id = %s", (self.account_id,))

    def test_simultaneous_sms_of_a_new_number_make_one_thread(self):
        barrier, answers = threading.Barrier(PARALLEL), []

        def post(index):
            form = {"date": "2026-12-01 10:00:00", "from": NUMBER, "id": "timing-%s" % uuid.uuid4().hex,
                    "linkId": "", "text": "Question %s" % index, "to": "22384", "networkCode": "63902"}
            barrier.wait(timeout=30)
            answers.append(requests.post(self.url, data=form, timeout=60).status_code)

        threads = [threading.Thread(target=post, args=(index,)) for index in range(PARALLEL)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        self.assertEqual(answers, [200] * PARALLEL)
        with self.registry.cursor() as cr:
            cr.execute("SELECT id, unread_count, state FROM sms_conversation WHERE number = %s", (NUMBER,))
            rows = cr.fetchall()
            self.assertEqual(len(rows), 1, "one thread for the number, however the requests interleave")
            conversation_id, unread, state = rows[0]
            self.assertEqual((unread, state), (PARALLEL, "open"), "each SMS counted once")
            cr.execute("SELECT count(*), count(conversation_id) FILTER (WHERE conversation_id = %s) "
                       "FROM africastalking_inbound WHERE account_id = %s", (conversation_id, self.account_id))
            self.assertEqual(cr.fetchone(), (PARALLEL, PARALLEL))
