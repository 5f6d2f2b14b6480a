"""Delivery reports posted by Africa's Talking to the real webhook, over real HTTP."""

import re
import time

from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.tests import tagged

from ..models.africastalking_message import MESSAGE_TABLE_FILLFACTOR
from ..tools.at_callbacks import parse_delivery_report
from .common import AfricasTalkingCase, AfricasTalkingHttpCase


@tagged("post_install", "-at_install")
class TestDeliveryReports(AfricasTalkingHttpCase, CronMixinCase):

    def _post_report(self, secret=None, account=None, **form):
        account = account or self.account
        url = "/sms_africastalking/%s/%s/delivery" % (account.id, secret or self.callback_secret)
        self.env.flush_all()
        response = self.url_open(url, data=form, timeout=20)
        self.apply_queued_reports()
        return response

    def _report(self, message_id, status="Success", number="+254711000001", **extra):
        return {"id": message_id, "status": status, "phoneNumber": number, "networkCode": "63902", **extra}

    def _sent_message(self, number="+254711000001", body="Exam at 08:00"):
        sms = self.env["sms.sms"].sudo().create({"number": number, "body": body})
        self.run_sms_queue()
        return self.env["africastalking.message"].search([("sms_uuid", "=", sms.uuid)])

    def test_mailing_delivered_and_failed_through_webhook(self):
        self.simulator.add_delivery_rule("+254722000003", status="Failed", failure_reason="UserInBlackList")
        mailing = self.create_sms_mailing()
        self.send_mailing(mailing)
        traces = mailing.mailing_trace_ids
        self.assertEqual(set(traces.mapped("trace_status")), {"pending"})
        statuses = self.deliver_reports()
        self.assertEqual({status for _id, status in statuses}, {200})
        delivered = traces.filtered(lambda t: t.sms_number != "+254722000003")
        failed = traces - delivered
        self.assertEqual(set(delivered.mapped("trace_status")), {"sent"})
        self.assertEqual((failed.trace_status, failed.failure_type), ("bounce", "sms_not_allowed"))
        self.assertEqual(set(traces.mapped("at_status")), {"Success", "Failed"})
        self.assertEqual(delivered.mapped("at_network_code"), ["63902"] * 3)
        mailing.invalidate_recordset()
        self.assertEqual((mailing.delivered, mailing.bounced), (3, 1))
        self.assertEqual(mailing.state, "done")
        campaign_traces = self.env["mailing.trace"].search([("mass_mailing_id", "=", mailing.id),
                                                             ("trace_status", "=", "sent")])
        self.assertEqual(len(campaign_traces), 3)

    def test_report_is_queued_then_applied_in_bulk(self):
        """The webhook only queues (AT gets its 200 at once) and wakes the applier cron."""
        from ..models.africastalking_delivery_report import LAST_TRIGGER_ATTRIBUTE

        message = self._sent_message()
        setattr(self.env.registry, LAST_TRIGGER_ATTRIBUTE, 0.0)
        url = "/sms_africastalking/%s/%s/delivery" % (self.account.id, self.callback_secret)
        self.env.flush_all()
        with self.capture_triggers("sms_africastalking.ir_cron_africastalking_apply_delivery_reports") as capture:
            response = self.url_open(url, data=self._report(message.at_message_id), timeout=20)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(capture.records), 1)
        queued = self.env["africastalking.delivery.report"].sudo().search([])
        self.assertEqual(queued.mapped("message_id"), [message.at_message_id])
        message.invalidate_recordset()
        self.assertEqual(message.state, "pending", "not applied yet")
        self.assertEqual(self.env["africastalking.delivery.report"].sudo()._cron_apply(), 1)
        message.invalidate_recordset()
        self.assertEqual(message.state, "delivered")
        self.assertFalse(queued.exists())
        setattr(self.env.registry, LAST_TRIGGER_ATTRIBUTE, time.monotonic())  # as if woken just now
        with self.capture_triggers("sms_africastalking.ir_cron_africastalking_apply_delivery_reports") as again:
            self.url_open(url, data=self._report(message.at_message_id, status="Sent"), timeout=20)
        self.assertFalse(again.records, "woken less than a second ago: that run is still looking")

    def test_unformattable_number_does_not_block_the_queue(self):
        """A UserInBlacklist report for digits Odoo cannot format must not stop the other reports (it once did)."""
        message = self._sent_message()
        queue = self.env["africastalking.delivery.report"].sudo()
        queue._enqueue(self.account.id, parse_delivery_report(
            self._report("ATXid_odd", status="Failed", number="+123456", failureReason="UserInBlacklist")))
        queue._enqueue(self.account.id, parse_delivery_report(self._report(message.at_message_id)))
        self.assertEqual(queue._cron_apply(), 2)
        message.invalidate_recordset()
        self.assertEqual(message.state, "delivered")
        self.assertFalse(queue.search([("waiting", "=", False)]), "nothing is left to block later runs")
        self.assertFalse(self.env["phone.blacklist"].sudo().search([("number", "like", "123456")]))

    def test_chatter_notification_delivered(self):
        partner = self.partners[0]
        message = partner._message_sms("Fees reminder", partner_ids=partner.ids)
        self.run_sms_queue()
        self.deliver_reports()
        self.assertEqual(message.notification_ids.notification_status, "sent")

    def test_wrong_secret_is_refused_and_changes_nothing(self):
        message = self._sent_message()
        for secret in ("wrong", "x" * 43, self.callback_secret[:-1]):
            response = self._post_report(secret=secret, **self._report(message.at_message_id))
            self.assertEqual(response.status_code, 403)
            self.assertNotIn(message.at_message_id, response.text)
        self.assertEqual(message.state, "pending")

    def test_other_account_secret_cannot_touch_this_account(self):
        other = self.account.copy({"name": "Other company account", "company_id": self.env["res.company"].create(
            {"name": "Other school"}).id})
        message = self._sent_message()
        other_secret = other._generate_callback_secret()
        response = self._post_report(account=other, secret=self.callback_secret,
                                     **self._report(message.at_message_id))
        self.assertEqual(response.status_code, 403)
        response = self._post_report(account=other, secret=other_secret, **self._report(message.at_message_id))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(message.state, "pending", "another account's report never changes this account's SMS")

    def test_malformed_reports(self):
        message = self._sent_message()
        for form in ({"unrelated": "1"}, {"id": message.at_message_id},
                     self._report(message.at_message_id, status="Exploded"),
                     self._report("bad id with spaces"), self._report(message.at_message_id, number="not-a-number"),
                     self._report(message.at_message_id, retryCount="many")):
            response = self._post_report(**form)
            self.assertEqual(response.status_code, 400, form)
        self.assertEqual(message.state, "pending")

    def test_get_and_oversized_bodies_refused(self):
        message = self._sent_message()
        url = "/sms_africastalking/%s/%s/delivery" % (self.account.id, self.callback_secret)
        self.assertIn(self.url_open(url).status_code, (404, 405))
        response = self._post_report(**self._report(message.at_message_id, failureReason="x" * 20000))
        self.assertEqual(response.status_code, 413)
        self.assertEqual(message.state, "pending")

    def test_duplicate_and_reordered_reports(self):
        message = self._sent_message()
        final = self._report(message.at_message_id, status="Failed", failureReason="DeliveryFailure")
        for form in (final, final, self._report(message.at_message_id, status="Sent"),
                     self._report(message.at_message_id, status="Success")):
            self.assertEqual(self._post_report(**form).status_code, 200)
        self.assertEqual((message.state, message.at_status, message.failure_reason),
                         ("failed", "Failed", "DeliveryFailure"), "a final state never regresses")

    def test_unknown_id_is_kept(self):
        response = self._post_report(**self._report("ATXid_never_seen", status="Success"))
        self.assertEqual(response.status_code, 200, "AT retries anything else forever")
        self.apply_queued_reports()
        waiting = self.env["africastalking.delivery.report"].search([("message_id", "=", "ATXid_never_seen")])
        self.assertEqual((waiting.status, waiting.waiting), ("Success", True), "it waits for its message")
        self.assertFalse(self.env["africastalking.message"].search([("at_message_id", "=", "ATXid_never_seen")]),
                         "never in the message log, where the dispatcher's insert could meet it")

    def test_report_before_send_commits(self):
        """AT may report before the dispatcher's transaction has written the results: the report waits for them."""
        mailing = self.create_sms_mailing()
        mailing.action_put_in_queue()
        mailing.sudo().action_send_sms()
        sms = self.env["sms.sms"].sudo().search([("mailing_id", "=", mailing.id)])
        claimed = sms._africastalking_claim()
        # The dispatch, cut in two: AT has the messages, Odoo has not written the answer yet...
        results = claimed._africastalking_send_with(self.account)
        self.deliver_reports()
        ids = [result.message_id for result in results]
        waiting = self.env["africastalking.delivery.report"].search([("message_id", "in", ids)])
        self.assertEqual(set(waiting.mapped("waiting")), {True})
        self.assertEqual(set(waiting.mapped("message_id")), set(ids))
        self.assertEqual(set(mailing.mailing_trace_ids.mapped("trace_status")), {"outgoing"})
        # ... then the answer is written, and meets the reports.
        claimed._africastalking_apply_results(results)
        self.assertEqual(set(mailing.mailing_trace_ids.mapped("trace_status")), {"sent"})
        messages = self.env["africastalking.message"].search([("at_message_id", "in", ids)])
        self.assertEqual(len(messages), 4, "one row per message")
        self.assertEqual(set(messages.mapped("state")), {"delivered"})
        self.assertEqual(set(messages.mapped("sms_uuid")), set(sms.mapped("uuid")))
        # The applier takes the waiting reports again: applying them twice changes nothing, and empties the queue.
        self.apply_queued_reports()
        self.assertFalse(self.env["africastalking.delivery.report"].search([]))
        self.assertEqual(set(messages.mapped("state")), {"delivered"})

    def test_unknown_outcome_settled_by_report(self):
        self.account.timeout = 1
        self.simulator.hang_seconds = 2
        self.simulator.inject_fault("timeout")
        partner = self.partners[0]
        message = partner._message_sms("Exam card ready", partner_ids=partner.ids)
        self.run_sms_queue()
        sms_log = self.env["africastalking.message"].search([("number", "=", partner.mobile)])
        self.assertEqual((sms_log.state, sms_log.at_message_id), ("unknown", False))
        self.assertEqual(message.notification_ids.notification_status, "process")
        self.deliver_reports()
        self.assertEqual(sms_log.state, "delivered")
        self.assertTrue(sms_log.at_message_id)
        self.assertEqual(message.notification_ids.notification_status, "sent")


@tagged("post_install", "-at_install")
class TestDeliveryReportsInBulk(AfricasTalkingCase):
    """The applier's work per batch is set-based: how many reports (and which mix) a batch holds changes neither
    the number of queries nor what each report does."""

    def _sent_messages(self, count, first):
        sms = self.env["sms.sms"].sudo().create([{"number": "+2547110%05d" % (first + index), "body": "Exams"}
                                                 for index in range(count)])
        self.run_sms_queue()
        return self.env["africastalking.message"].search([("sms_uuid", "in", sms.mapped("uuid"))], order="id")

    def _queue(self, messages, network_opt_outs):
        """Per message: an intermediate report, its final one (the first ``network_opt_outs`` UserInBlacklist, the
        next one a dead number, the others Success) and AT's retry of the final one."""
        queue = self.env["africastalking.delivery.report"].sudo()
        for index, message in enumerate(messages):
            status, reason = ("Failed", "UserInBlacklist") if index < network_opt_outs else (
                ("Failed", "UserIsInactive") if index == network_opt_outs else ("Success", ""))
            for report_status, report_reason in (("Sent", ""), (status, reason), (status, reason)):
                queue._enqueue(self.account.id, parse_delivery_report({
                    "id": message.at_message_id, "status": report_status, "phoneNumber": message.number,
                    "networkCode": "63902", "failureReason": report_reason}))

    def _apply_counting_queries(self):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        applied = self.env["africastalking.delivery.report"].sudo()._cron_apply(linger=0)
        return applied, self.env.cr.sql_log_count - before

    def test_queries_do_not_grow_with_the_batch(self):
        small = self._sent_messages(4, 0)
        self._queue(small, network_opt_outs=1)
        applied, small_queries = self._apply_counting_queries()
        self.assertEqual(applied, 12)
        large = self._sent_messages(24, 100)
        self._queue(large, network_opt_outs=6)
        applied, large_queries = self._apply_counting_queries()
        self.assertEqual(applied, 72)
        # Six times the reports, six numbers blocked at the network instead of one: not one query more (the first
        # batch also warms the ORM's caches)
        self.assertLessEqual(large_queries, small_queries)
        for messages, opt_outs in ((small, 1), (large, 6)):
            messages.invalidate_recordset()
            self.assertEqual(messages.mapped("state"), ["failed"] * (opt_outs + 1) +
                             ["delivered"] * (len(messages) - opt_outs - 1))
            blocked = self.env["phone.blacklist"].search([("number", "in", messages[:opt_outs].mapped("number"))])
            self.assertEqual(set(blocked.mapped("africastalking_block")), {"network"})
            self.assertEqual(len(blocked), opt_outs)
            for entry in blocked:
                self.assertEqual(len(entry.message_ids.filtered(lambda m: "UserInBlacklist" in (m.body or ""))), 1)
            dead = self.env["sms.number.suppression"].search([("number", "=", messages[opt_outs].number)])
            self.assertEqual(dead.hard_failure_count, 1, "AT's retry of the final report counts once")

    def test_reports_update_messages_in_place(self):
        """No index of the message log involves a column a report writes, and its pages keep room: each report's
        update of its message is a HOT update (no new index entries), still found by the unknown-outcome lookup."""
        self.env.cr.execute("SELECT pg_get_indexdef(indexrelid) FROM pg_index "
                            "WHERE indrelid = 'africastalking_message'::regclass")
        written = re.compile(r"\b(state|at_status|network_code|failure_reason|report_date|write_date)\b")
        for (definition,) in self.env.cr.fetchall():
            self.assertNotRegex(definition.split(" USING ", 1)[1], written)
        self.env.cr.execute("SELECT reloptions FROM pg_class WHERE relname = 'africastalking_message'")
        self.assertIn("fillfactor=%d" % MESSAGE_TABLE_FILLFACTOR, self.env.cr.fetchone()[0])

        messages = self._sent_messages(6, 200)
        self._queue(messages, network_opt_outs=0)

        def updates():
            self.env.cr.execute("SELECT pg_stat_get_xact_tuples_updated(oid), pg_stat_get_xact_tuples_hot_updated(oid) "
                                "FROM pg_class WHERE relname = 'africastalking_message'")
            return self.env.cr.fetchone()

        updated, hot = updates()
        self.env["africastalking.delivery.report"].sudo()._cron_apply(linger=0)
        updated_after, hot_after = updates()
        self.assertEqual(updated_after - updated, len(messages), "one update per message (its strongest report)")
        self.assertEqual(hot_after - hot, len(messages), "every one in place")
        messages.invalidate_recordset()
        self.assertEqual(messages.mapped("state"), ["failed"] + ["delivered"] * (len(messages) - 1))
