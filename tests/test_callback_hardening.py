"""Hostile input on the Africa's Talking callback routes, over real HTTP (issue 15, item 5).

No input may give a 5xx (AT retries those forever); oversized bodies are refused before the form is parsed, even
when chunked; a duplicate inbound id is a quiet 200; refusals do not flood the log; unmatched reports expire.
"""

import http.client
import threading
import time
from datetime import timedelta
from urllib.parse import urlparse

from odoo import api, fields
from odoo.service.model import retrying
from odoo.tests import tagged

from ..controllers import main as controllers_main
from ..models.africastalking_delivery_report import WAITING_DAYS
from ..tools.at_callbacks import DeliveryReport, InboundMessage
from .common import AfricasTalkingCase, AfricasTalkingHttpCase

CONTROLLER_LOGGER = "odoo.addons.sms_africastalking.controllers.main"


@tagged("post_install", "-at_install")
class TestCallbackHostileInput(AfricasTalkingHttpCase):

    def setUp(self):
        super().setUp()
        # Each test starts with a fresh refusal log: the rate limit is per process.
        self.patch(controllers_main, "_refusals", controllers_main._RefusalLog(60))

    def _path(self, kind, secret=None):
        if secret:
            return "/sms_africastalking/%s/%s/%s" % (self.account.id, secret, kind)
        return self.account._callback_path(kind, self.callback_secret)

    def _raw(self, method, path, body=b"", headers=None, chunks=None, finish=True):
        """One request on a raw connection; ``chunks``: send the body chunked (unfinished if not ``finish``)."""
        self.env.flush_all()
        url = urlparse(self.base_url())
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
        self.addCleanup(connection.close)
        connection.putrequest(method, path)
        for name, value in (headers or {"Content-Type": "application/x-www-form-urlencoded"}).items():
            connection.putheader(name, value)
        if chunks is not None:
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            for chunk in chunks:
                connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if finish:
                connection.send(b"0\r\n\r\n")
        else:
            if "Content-Length" not in (headers or {}):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders()
            connection.send(body)
        response = connection.getresponse()
        response.read()
        self.env.invalidate_all()
        return response.status

    def _queued(self):
        self.env["africastalking.delivery.report"].flush_model()
        return self.env["africastalking.delivery.report"].sudo().search_count([("account_id", "=", self.account.id)])

    def _inbound_count(self):
        return self.env["africastalking.inbound"].sudo().search_count([("account_id", "=", self.account.id)])

    def test_nul_bytes_and_huge_integers_are_400_and_change_nothing(self):
        report = "id=ATXid_1&status=Success&phoneNumber=%2B254711000001&networkCode=63902"
        bodies = {
            "delivery": [report + "&retryCount=2147483648", report + "&retryCount=99999999999999999999",
                         report.replace("Success", "Succ%00ess"), report + "&failureReason=Deli%00very",
                         report.replace("ATXid_1", "ATX%00id_1"), report + "&extra%00name=1"],
            "inbound": ["from=%2B254711000001&text=STOP%00", "from=%2B2547110%0000001&text=Hello",
                        "id=AT%00X&from=%2B254711000001&text=Hi", "from=%2B254711000001&text=Hi&date=2024%00"],
            "optout": ["phoneNumber=%2B254711000001&senderId=ODOO%00TEST"],
        }
        for kind, forms in bodies.items():
            for body in forms:
                with self.subTest(kind=kind, body=body):
                    self.assertEqual(self._raw("POST", self._path(kind), body.encode()), 400)
        self.assertEqual(self._queued(), 0)
        self.assertEqual(self._inbound_count(), 0)
        self.assertFalse(self.env["phone.blacklist"].sudo().search([("number", "=", "+254711000001")]))

    def test_bad_encodings_and_content_types_never_5xx(self):
        cases = [
            (b"from=%FF%FE&text=%C3", "application/x-www-form-urlencoded"),
            (b"from=\xff\xfe\x00&text=\xc3", "application/x-www-form-urlencoded"),
            (b"from=%2B254711000001&text=ok", "application/x-www-form-urlencoded; charset=no-such-charset"),
            (b"--x\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\n\x00\r\n--x--\r\n",
             "multipart/form-data; boundary=x"),
            (b"--x\r\ngarbage", "multipart/form-data"),
            (b"--x\r\ngarbage", "multipart/form-data; boundary=x"),
            (b'{"from": "+254711000001", "text": "STOP"}', "application/json"),
            (b"\x00" * 100, "application/octet-stream"),
        ]
        for kind in ("delivery", "inbound", "optout", "subscription"):
            for body, content_type in cases:
                with self.subTest(kind=kind, body=body, content_type=content_type):
                    status = self._raw("POST", self._path(kind), body, headers={"Content-Type": content_type})
                    self.assertLess(status, 500)
        self.assertFalse(self.env["phone.blacklist"].sudo().search([("number", "=", "+254711000001")]))

    def test_chunked_body_over_the_limit_is_refused_before_parsing(self):
        # 20 KB sent, the rest never: the server must answer from the first 16 KB without waiting for the body.
        chunk = b"text=" + b"a" * 4091
        started = time.monotonic()
        status = self._raw("POST", self._path("inbound"), chunks=[b"from=%2B254711000001&", *[chunk] * 5],
                           finish=False)
        self.assertEqual(status, 413)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(self._inbound_count(), 0)

    def test_chunked_megabyte_of_fields_under_wrong_secret_is_refused(self):
        chunks = [b"&".join(b"f%d=1" % index for index in range(start, start + 1000))
                  for start in range(0, 100_000, 1000)]  # ~0.8 MB of tiny fields
        status = self._raw("POST", self._path("delivery", secret="wrong-secret"), chunks=chunks)
        self.assertEqual(status, 413)

    def test_declared_length_over_the_limit_is_refused_without_reading(self):
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(18_000_000)}
        started = time.monotonic()
        status = self._raw("POST", self._path("delivery", secret="wrong-secret"), b"a=1&" * 100, headers=headers)
        self.assertEqual(status, 413)
        self.assertLess(time.monotonic() - started, 10)

    def test_small_chunked_body_is_parsed(self):
        status = self._raw("POST", self._path("inbound"),
                           chunks=[b"id=ATXid_chunked&from=%2B2547", b"11000001&text=Habari"])
        self.assertEqual(status, 200)
        self.assertEqual(self.env["africastalking.inbound"].sudo().search(
            [("account_id", "=", self.account.id)]).mapped("text"), ["Habari"])

    def test_refusals_are_logged_rate_limited(self):
        with self.assertLogs(CONTROLLER_LOGGER, "WARNING") as logs:
            for _attempt in range(5):
                self.assertEqual(self._raw("POST", self._path("delivery", secret="wrong-secret"), b"id=1"), 403)
        self.assertEqual(len([line for line in logs.output if "wrong secret" in line]), 1, logs.output)
        self.assertEqual(controllers_main._refusals.state["secret"][1], 4, "the others are counted, not logged")


@tagged("post_install", "-at_install")
class TestInboundConcurrentDuplicate(AfricasTalkingCase):
    """Two posts of one inbound id in two real transactions at once (committed data, cleaned up afterwards)."""

    def test_concurrent_duplicate_is_ignored_without_error(self):
        registry = self.env.registry
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            account = env["africastalking.account"].create({
                "name": "Concurrency", "environment": "custom", "api_url": "http://127.0.0.1:9/",
                "username": "concurrency", "api_key": "concurrency-key", "active": False,
            })
            account_id = account.id
        self.addCleanup(self._cleanup, account_id)
        message = InboundMessage(message_id="ATXid_race", from_number="+254711000001", text="Hello")
        results = {}

        def second_post():
            # As the HTTP layer runs a callback: retried on a fresh snapshot after a serialization failure.
            with registry.cursor() as cr2:
                cr2.execute("SET lock_timeout = '10s'")
                env2 = api.Environment(cr2, api.SUPERUSER_ID, {})

                def post():
                    return env2["africastalking.inbound"]._process_inbound_message(
                        env2["africastalking.account"].browse(account_id), message).ids

                results["second"] = retrying(post, env2)

        with self.assertNoLogs("odoo.sql_db", "ERROR"), registry.cursor() as cr1:
            env1 = api.Environment(cr1, api.SUPERUSER_ID, {})
            first = env1["africastalking.inbound"]._process_inbound_message(
                env1["africastalking.account"].browse(account_id), message)
            self.assertTrue(first)
            thread = threading.Thread(target=second_post)
            thread.start()
            time.sleep(1)  # the second post now waits on the unique index for the first transaction
            self.assertTrue(thread.is_alive(), "the second post waits for the first one's transaction")
            cr1.commit()
            thread.join(20)
        self.assertEqual(results, {"second": []}, "the retry found the id taken and did nothing")

    def _cleanup(self, account_id):
        with self.env.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            inbounds = env["africastalking.inbound"].search([("account_id", "=", account_id)])
            # The thread the committed SMS opened (sms.conversation) would count as unread in later tests.
            conversations = inbounds.conversation_id
            inbounds.unlink()
            conversations.unlink()
            env["africastalking.account"].with_context(active_test=False).browse(account_id).unlink()


@tagged("post_install", "-at_install")
class TestUnmatchedReportExpiry(AfricasTalkingCase):

    def test_unmatched_reports_expire(self):
        """Reports for ids no send ever wrote wait in the report queue (bounded): dropped after WAITING_DAYS."""
        queue = self.env["africastalking.delivery.report"]
        for message_id in ("ATXid_old", "ATXid_recent"):
            queue._enqueue(self.account.id, _report(message_id))
        queue._cron_apply(linger=0)  # matches no message: both wait
        waiting = queue.search([("account_id", "=", self.account.id), ("waiting", "=", True)])
        self.assertEqual(sorted(waiting.mapped("message_id")), ["ATXid_old", "ATXid_recent"])
        self.env.flush_all()
        self.env.cr.execute("UPDATE africastalking_delivery_report SET received_at = %s WHERE message_id = %s",
                            (fields.Datetime.now() - timedelta(days=WAITING_DAYS, hours=1), "ATXid_old"))
        queue.invalidate_model()
        queue._cron_apply(linger=0)
        waiting = queue.search([("account_id", "=", self.account.id), ("waiting", "=", True)])
        self.assertEqual(waiting.mapped("message_id"), ["ATXid_recent"])


def _report(message_id):
    return DeliveryReport(message_id=message_id, status="Success", phone_number="+254711000001")
