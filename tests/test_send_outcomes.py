"""Each answer Africa's Talking can give ends in the right Odoo state, and nothing is ever sent twice."""

import socket

from odoo.tests import tagged

from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestSendOutcomes(AfricasTalkingCase):

    def _queue_sms(self, number="+254711000001", body="Exam at 08:00", count=1):
        return self.env["sms.sms"].sudo().create([{"number": number if count == 1 else "+2547110001%02d" % index,
                                                    "body": body} for index in range(count)])

    def _assertOutcome(self, sms, state, failure_type=False):
        self.assertEqual([(s.state, s.failure_type) for s in sms], [(state, failure_type)] * len(sms))

    def test_accepted_records_at_facts(self):
        sms = self._queue_sms(body="x" * 200)  # two parts
        self.run_sms_queue()
        self._assertOutcome(sms, "pending")
        message = self.env["africastalking.message"].search([("sms_uuid", "=", sms.uuid)])
        self.assertEqual((message.state, message.parts, message.currency), ("pending", 2, "KES"))
        self.assertAlmostEqual(message.cost, 1.6)
        self.assertTrue(message.at_message_id)

    def test_insufficient_balance_mid_request(self):
        sms = self._queue_sms(body="Holiday notice", count=3)
        # Spent elsewhere (AT's dashboard, another system) after the ledger reserved: AT refuses mid-request
        self.simulator.set_balance(1.6)  # two of three messages
        self.run_sms_queue()
        self.assertEqual(sorted(sms.mapped("state")), ["error", "pending", "pending"])
        failed = sms.filtered(lambda s: s.state == "error")
        self.assertEqual(failed.failure_type, "sms_credit")
        self.assertEqual(self.simulator.stats()["accepted"], 2)

    def test_invalid_number(self):
        sms = self._queue_sms(number="12")
        valid = self._queue_sms(number="+254711000002")
        self.run_sms_queue()
        self._assertOutcome(sms, "error", "sms_number_format")
        self._assertOutcome(valid, "pending")
        self.assertSentOnce("+254711000002")

    def test_number_rejected_by_at(self):
        self.simulator.add_number_rule("+254711000001", 403)
        sms = self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "error", "sms_number_format")

    def test_blacklisted_by_network(self):
        self.simulator.add_number_rule("+254711000001", 406)
        sms = self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "error", "sms_blacklist")
        self.assertEqual(sms.at_failure_reason, "UserInBlacklist")

    def test_wrong_api_key(self):
        self.account.api_key = "wrong"
        sms = self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "error", "sms_acc")
        self.assertNothingSent()

    def test_read_timeout_is_unknown_and_never_resent(self):
        self.account.timeout = 1
        self.simulator.hang_seconds = 2
        self.simulator.inject_fault("timeout")  # AT accepted, the answer never came
        sms = self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "unknown")
        self.run_sms_queue()
        self.assertEqual(self.simulator.count("+254711000001"), 1, "an unknown outcome is never resent")
        message = self.env["africastalking.message"].search([("sms_uuid", "=", sms.uuid)])
        self.assertEqual(message.state, "unknown")

    def test_server_error_is_unknown(self):
        self.simulator.inject_fault("http_500")
        sms = self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "unknown")
        self.run_sms_queue()
        self.assertLessEqual(self.simulator.count("+254711000001"), 1)

    def test_connection_reset_is_unknown(self):
        self.simulator.inject_fault("reset")
        sms = self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "unknown")

    def test_connection_refused_is_server_error(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free_port = probe.getsockname()[1]
        self.account.api_url = "http://127.0.0.1:%d" % free_port
        sms = self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "error", "sms_server")
        self.account.api_url = self.simulator.url
        sms.resend_failed()
        self.run_sms_queue()
        self.assertSentOnce("+254711000001")

    def test_invalid_sender_id(self):
        self.simulator.invalid_sender_ids.add("ODOOTEST")
        sms = self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "error", "sms_acc")
        self.assertEqual(sms.at_failure_reason, "InvalidSenderId")

    def test_same_number_twice_in_one_batch(self):
        sms = self._queue_sms() | self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "pending")
        self.assertEqual(self.simulator.count("+254711000001"), 2, "two SMS, two sends, matched one to one")
        self.assertEqual(len(set(self.env["africastalking.message"].search(
            [("sms_uuid", "in", sms.mapped("uuid"))]).mapped("at_message_id"))), 2)

    def test_claimed_sms_are_skipped_by_a_second_dispatcher(self):
        sms = self._queue_sms(count=2)
        claimed = sms[0]._africastalking_claim()
        self.assertEqual(claimed, sms[0])
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["accepted"], 1, "a claimed SMS belongs to its dispatcher")
        self.assertEqual(sms[0].state, "process")

    def test_interrupted_dispatch_becomes_unknown(self):
        sms = self._queue_sms()
        sms._africastalking_claim()
        self.env.cr.execute("UPDATE sms_sms SET at_claim_date = at_claim_date - interval '2 hours' WHERE id = %s",
                            (sms.id,))
        sms.invalidate_recordset()
        self.run_sms_queue()
        self._assertOutcome(sms, "unknown")
        self.assertNothingSent()

    def test_unknown_outcome_without_report_becomes_resendable(self):
        """Two days without a report: an error a person may resend; nothing is resent by itself."""
        self.simulator.inject_fault("http_500", after_processing=False)  # AT never had it
        sms = self._queue_sms()
        self.run_sms_queue()
        self._assertOutcome(sms, "unknown")
        self.env.cr.execute("UPDATE sms_sms SET at_claim_date = at_claim_date - interval '3 days' WHERE id = %s",
                            (sms.id,))
        sms.invalidate_recordset()
        self.run_sms_queue()
        self._assertOutcome(sms, "error", "sms_server")
        self.assertIn("No delivery report", sms.at_failure_reason)
        self.assertNothingSent()
        sms.resend_failed()
        self.run_sms_queue()
        self.assertSentOnce("+254711000001")
