"""Cancel stops everything not yet sent: during the preparation (later chunks are not prepared) and during the
dispatch (queued SMS are cancelled, a batch already handed to the gateway finishes exactly once)."""

import time

from odoo import Command, fields
from odoo.tests import tagged

from ..models import mailing_mailing_prepare
from .common import AfricasTalkingCase
from .test_scale import insert_list_contacts


class _CancelWhenReached(list):
    """Recipient ids that press Cancel when the preparation reaches the id at ``index``: the preparation reads its
    ids chunk by chunk, so ``index = PREPARE_FIRST_CHUNK_SIZE`` cancels between the first and the second chunk, as a
    user clicking Cancel while the cron prepares does."""

    def __init__(self, ids, index, cancel):
        super().__init__(ids)
        self.index, self.cancel = index, cancel

    def __iter__(self):
        for position, res_id in enumerate(super().__iter__()):
            if position == self.index:
                self.cancel()
            yield res_id


@tagged("post_install", "-at_install")
class TestMailingCancel(AfricasTalkingCase):
    def _outgoing(self, mailing):
        return self.env["sms.sms"].sudo().search_count([("mailing_id", "=", mailing.id), ("state", "=", "outgoing")])

    def _sending_mailing(self, mailing_list):
        """A mailing as the mass-mailing cron leaves it just before preparing: gated, queued, 'sending'."""
        mailing = self.create_sms_mailing(body="Graduation is on Friday.",
                                          contact_list_ids=[Command.set(mailing_list.ids)])
        mailing.action_put_in_queue()
        mailing.sudo().state = "sending"
        return mailing

    def _big_mailing(self, count=20000):
        mailing_list = self.env["mailing.list"].create({"name": "Whole university"})
        insert_list_contacts(self.env.cr, mailing_list.id, count)
        self.env.invalidate_all()
        self.simulator.set_balance(100000)
        return self._sending_mailing(mailing_list)

    def _prepare_and_cancel_after_first_chunk(self, mailing, cancel):
        recipients = mailing._get_remaining_recipients()
        self.assertEqual(len(recipients), 20000)
        chunk = min(mailing_mailing_prepare.PREPARE_FIRST_CHUNK_SIZE, mailing_mailing_prepare.PREPARE_CHUNK_SIZE)
        self.assertLess(chunk, 20000 // 2, "the test needs several chunks")
        start = time.monotonic()
        mailing.sudo()._africastalking_prepare(_CancelWhenReached(recipients, chunk, cancel))
        self.env.invalidate_all()
        return chunk, time.monotonic() - start

    def test_cancel_during_preparation_of_20000_recipients(self):
        mailing = self._big_mailing()
        cancel = mailing.with_user(self.user_marketing).action_cancel
        chunk, elapsed = self._prepare_and_cancel_after_first_chunk(mailing, cancel)
        self.assertEqual(mailing.state, "draft")
        traces = self.env["mailing.trace"].search([("mass_mailing_id", "=", mailing.id)])
        self.assertEqual(len(traces), chunk, "only the first chunk was prepared")
        self.assertEqual(set(traces.mapped("trace_status")), {"cancel"})
        self.assertEqual(self._outgoing(mailing), 0)
        self.assertIn("Cancelled during the preparation", mailing.message_ids[0].body)
        self.env["mailing.mailing"].sudo()._process_mass_mailing_queue()  # the queue does not take it up again
        self.run_sms_queue()
        self.assertNothingSent()
        self.assertEqual(self.env["mailing.trace"].search_count([("mass_mailing_id", "=", mailing.id)]), chunk)
        self.assertLess(elapsed, 120, "stopping does not wait for the whole mailing")

    def test_cancel_that_missed_the_prepared_chunk_still_stops_it(self):
        """A cancel whose snapshot began before the chunk being prepared committed does not see its SMS: the
        preparation cancels them when it sees the mailing cancelled."""
        mailing = self._big_mailing()

        def cancel_without_seeing_the_sms():
            mailing.sudo().write({"state": "draft", "sms_cancel_date": fields.Datetime.now()})

        chunk, _elapsed = self._prepare_and_cancel_after_first_chunk(mailing, cancel_without_seeing_the_sms)
        self.assertEqual(self._outgoing(mailing), 0)
        self.assertEqual(self.env["mailing.trace"].search_count([("mass_mailing_id", "=", mailing.id),
                                                                 ("trace_status", "=", "cancel")]), chunk)
        self.run_sms_queue()
        self.assertNothingSent()

    def test_cancel_during_dispatch_finishes_the_batch_in_flight_once(self):
        mailing = self._sending_mailing(self.mailing_list)
        mailing.sudo().action_send_sms()  # prepared, queued, not dispatched yet
        sms = self.env["sms.sms"].sudo().search([("mailing_id", "=", mailing.id)], order="id")
        self.assertEqual(len(sms), 4)
        # A dispatcher has claimed the first two and is talking to Africa's Talking...
        in_flight = sms[:2]._africastalking_claim()
        self.assertEqual(in_flight, sms[:2])
        # ... when the user presses Cancel (the button is there while the mailing is sending).
        mailing.with_user(self.user_marketing).action_cancel()
        self.assertEqual(mailing.state, "draft")
        self.assertEqual(sms[2:].mapped("state"), ["canceled", "canceled"])
        # The batch in flight finishes and is written back once.
        rows = in_flight._africastalking_dispatch_rows()
        results = []
        for account, account_rows in in_flight._africastalking_rows_by_account(rows).items():
            results += in_flight._africastalking_send_rows(account, account_rows)
        in_flight._africastalking_write_back(results)
        self.run_sms_queue()
        self.run_sms_queue()
        for record in sms[:2]:
            self.assertSentOnce(record.number)
        for record in sms[2:]:
            self.assertEqual(self.simulator.count(record.number), 0)
        self.assertEqual(self.simulator.stats()["accepted"], 2)
        statuses = sorted(mailing.mailing_trace_ids.mapped("trace_status"))
        self.assertEqual(statuses, ["cancel", "cancel", "pending", "pending"])

    def test_dispatcher_cancels_sms_of_a_cancelled_mailing(self):
        """SMS queued after the cancel's snapshot (a concurrent preparation) never leave: the dispatcher's claim
        sees the mailing cancelled. A Test SMS of the draft mailing still leaves."""
        mailing = self._sending_mailing(self.mailing_list)
        mailing.sudo().action_send_sms()
        # Cancelled, its queued SMS unseen
        mailing.sudo().write({"state": "draft", "sms_cancel_date": fields.Datetime.now()})
        test_sms = self.env["sms.sms"].sudo().create({"number": "+254799000001", "body": "Test of the mailing",
                                                      "mailing_id": mailing.id, "at_origin": "test"})
        self.run_sms_queue()
        self.assertEqual(self.simulator.stats()["accepted"], 1)
        self.assertSentOnce(test_sms.number, "Test of the mailing")
        self.assertEqual(set(mailing.mailing_trace_ids.mapped("trace_status")), {"cancel"})

    def test_send_now_after_a_cancel_sends(self):
        """A draft is no cancel mark: Send Now prepares and dispatches a mailing that stays in draft, and sending a
        cancelled mailing again sends it."""
        mailing = self._sending_mailing(self.mailing_list)
        mailing.action_cancel()
        self.assertTrue(mailing.sms_cancel_date)
        mailing.sms_force_send = True
        mailing.action_send_mail()
        self.run_sms_queue()
        self.assertFalse(mailing.sms_cancel_date)
        for contact in self.mailing_list.contact_ids:
            self.assertSentOnce(contact.mobile)

    def test_cancel_button_shown_while_sending(self):
        arch = self.env["mailing.mailing"].get_view(view_type="form")["arch"]
        self.assertIn("state not in ('in_queue', 'sending', 'to_approve')", arch)
