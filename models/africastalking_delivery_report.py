import logging
import time

from odoo import api, fields, models

from ..tools.at_callbacks import DeliveryReport
from ..tools.runtime import is_testing

_logger = logging.getLogger(__name__)

APPLY_BATCH_SIZE = 5000
# The webhook wakes the applier at most once a second per process; the applier, once its queue is empty, keeps
# looking a little longer than that, so a report that did not wake it (throttled) is still applied by this run.
TRIGGER_INTERVAL_SECONDS = 1.0
LINGER_SECONDS = 1.5
_last_trigger = {"at": 0.0}
# A report that matched no sent message is kept (as an africastalking.message without SMS) for the send whose
# results are not committed yet; that happens within minutes. After this many hours nothing can claim it any more
# (an unknown outcome is given up after the same 48 hours, sms_sms.UNKNOWN_OUTCOME_HOURS): autovacuum deletes it,
# so reports for ids Odoo never sent cannot pile up.
UNMATCHED_REPORT_HOURS = 48


class AfricasTalkingDeliveryReport(models.Model):
    """Delivery reports as received, waiting to be applied in bulk.

    AT posts one report per HTTP request and retries until it gets a 200: the webhook only authenticates,
    validates and inserts here (one statement), so it answers about as fast as any Odoo route can. A cron, woken by
    the webhook, applies what arrived to messages, notifications, traces and mailings in set-based batches.
    """

    _name = "africastalking.delivery.report"
    _description = "Africa's Talking Delivery Report (queue)"
    _order = "id"
    _log_access = False

    account_id = fields.Many2one("africastalking.account", required=True, ondelete="cascade", index=True)
    message_id = fields.Char("AT Message ID", required=True)
    status = fields.Char(required=True)
    phone_number = fields.Char(required=True)
    network_code = fields.Char()
    failure_reason = fields.Char()
    retry_count = fields.Integer()
    received_at = fields.Datetime(required=True, default=fields.Datetime.now)

    @api.model
    def _enqueue(self, account_id, report):
        """Queue one validated report with a single INSERT (called by the public webhook: no ORM, no sudo)."""
        self.env.cr.execute(
            """
            INSERT INTO africastalking_delivery_report
                   (account_id, message_id, status, phone_number, network_code, failure_reason, retry_count,
                    received_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, now() at time zone 'UTC')
            """,
            (account_id, report.message_id, report.status, report.phone_number, report.network_code or None,
             report.failure_reason or None, report.retry_count),
        )
        self._trigger_applier()

    @api.model
    def _trigger_applier(self):
        now = time.monotonic()
        if now - _last_trigger["at"] < TRIGGER_INTERVAL_SECONDS:
            return  # a run woken less than a second ago is still looking (LINGER_SECONDS)
        _last_trigger["at"] = now
        cron = self.env.ref("sms_africastalking.ir_cron_africastalking_apply_delivery_reports", False)
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _cron_apply(self, limit=None, linger=LINGER_SECONDS):
        """Apply queued reports in batches (commit per batch outside tests); return how many were applied.

        ``linger``: seconds to keep looking once the queue is empty (the cron; 0 for a one-off drain).
        """
        auto_commit = not is_testing()
        applied, idle_since = 0, time.monotonic()
        while True:
            batch = self._take_batch(min(APPLY_BATCH_SIZE, limit - applied) if limit else APPLY_BATCH_SIZE)
            if not batch:
                if not auto_commit or time.monotonic() - idle_since > linger:
                    break
                self.env.cr.commit()  # pylint: disable=invalid-commit  # a fresh snapshot sees new reports
                time.sleep(0.25)
                continue
            idle_since = time.monotonic()
            for account_id, reports in batch.items():
                self._apply_account_batch(account_id, reports)
                applied += len(reports)
            if auto_commit:
                # Batch cron, never under test
                self.env.cr.commit()  # pylint: disable=invalid-commit
            if limit and applied >= limit:
                break
        return applied

    def _apply_account_batch(self, account_id, reports):
        """Apply one account's reports in bulk; if that fails, one by one, dropping (and logging) only the bad ones.

        Reports are already validated, so a failure is a bug or an inconsistent database: retrying the same oldest
        batch at every run would block every later report of every account.
        """
        account = self.env["africastalking.account"].browse(account_id).exists()
        if not account or self._apply_in_savepoint(account, reports):
            return
        for report in reports:
            if not self._apply_in_savepoint(account, [report]):
                _logger.error("Delivery report %s of account %s could not be applied and was dropped",
                              report.message_id, account_id)

    def _apply_in_savepoint(self, account, reports):
        try:
            with self.env.cr.savepoint():
                self.env["africastalking.message"]._apply_delivery_reports(account, reports)
        except Exception:  # noqa: BLE001 - isolated and reported by the caller
            _logger.exception("Applying %d delivery reports of account %s failed", len(reports), account.id)
            self.env.invalidate_all()
            return False
        return True

    def _take_batch(self, size):
        """Remove the oldest queued reports (not held by another applier) and return them by account."""
        self.env.cr.execute(
            """
            DELETE FROM africastalking_delivery_report
             WHERE id IN (SELECT id FROM africastalking_delivery_report ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
         RETURNING id, account_id, message_id, status, phone_number, network_code, failure_reason, retry_count
            """,
            (size,),
        )
        batch = {}
        for row in sorted(self.env.cr.fetchall()):
            _id, account_id, message_id, status, number, network, reason, retry = row
            batch.setdefault(account_id, []).append(DeliveryReport(
                message_id=message_id, status=status, phone_number=number, network_code=network or "",
                failure_reason=reason or "", retry_count=retry or 0))
        return batch

    @api.autovacuum
    def _gc_unmatched_reports(self):
        """Delete early-report rows that no send claimed within UNMATCHED_REPORT_HOURS (see above)."""
        self.env["africastalking.message"].flush_model(["sms_uuid", "create_date"])
        self.env.cr.execute(
            """
            DELETE FROM africastalking_message
             WHERE sms_uuid IS NULL AND mailing_id IS NULL
               AND create_date < now() at time zone 'UTC' - make_interval(hours => %s)
            """,
            (UNMATCHED_REPORT_HOURS,),
        )
        if self.env.cr.rowcount:
            _logger.info("%d delivery reports matching no sent SMS for %d hours deleted", self.env.cr.rowcount,
                         UNMATCHED_REPORT_HOURS)
        self.env["africastalking.message"].invalidate_model()

