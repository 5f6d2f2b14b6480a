import logging
import time

import psycopg2.errors

from odoo import api, fields, models

from ..tools.at_callbacks import DeliveryReport
from ..tools.runtime import is_testing

_logger = logging.getLogger(__name__)

APPLY_BATCH_SIZE = 10000
# The webhook wakes the applier at most once a second per process; the applier, once its queue is empty, keeps
# looking a little longer than that, so a report that did not wake it (throttled) is still applied by this run.
TRIGGER_INTERVAL_SECONDS = 1.0
LINGER_SECONDS = 1.5
# Where the time of the last wake-up is kept: on the database's registry (one per database and process), so that a
# report of one database never holds back the applier of another one served by the same process.
LAST_TRIGGER_ATTRIBUTE = "_africastalking_applier_triggered_at"
# A report no message matches waits this long for its send's answer or its unknown outcome, then is dropped.
WAITING_DAYS = 7
# Consecutive serialization failures (another transaction wrote the same rows) after which a run gives up; the
# reports stay queued for the next run.
CONFLICT_ATTEMPTS = 5


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
    # No message has this AT id yet: the send's answer is not written (AT reports within a second, sometimes before
    # the dispatcher has written its batch), or the SMS's outcome is unknown. Kept here, never in the message log,
    # so that the dispatcher's insert of its messages can never conflict with a report.
    waiting = fields.Boolean(readonly=True)

    def init(self):
        # Waiting reports are few; they are looked up by AT id when a send's answer is written.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS africastalking_delivery_report_waiting_idx "
            "ON africastalking_delivery_report (message_id) WHERE waiting"
        )

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
        now, registry = time.monotonic(), self.env.registry
        if now - getattr(registry, LAST_TRIGGER_ATTRIBUTE, float("-inf")) < TRIGGER_INTERVAL_SECONDS:
            return  # a run woken less than a second ago is still looking (LINGER_SECONDS)
        setattr(registry, LAST_TRIGGER_ATTRIBUTE, now)
        cron = self.env.ref("sms_africastalking.ir_cron_africastalking_apply_delivery_reports", False)
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _cron_apply(self, limit=None, linger=LINGER_SECONDS, auto_commit=None):
        """Apply queued reports in batches (commit per batch when ``auto_commit``); return how many were applied.

        ``linger``: seconds to keep looking once the queue is empty (the cron; 0 for a one-off drain). Waiting
        reports whose message is now known are taken again at every look. ``auto_commit``: as stock's SMS queue
        decides it (true, except under test) unless given.
        """
        if auto_commit is None:
            auto_commit = not is_testing()
        applied, idle_since, conflicts = 0, time.monotonic(), 0
        self._drop_expired_waiting()
        while True:
            try:
                count = self._apply_one_batch(min(APPLY_BATCH_SIZE, limit - applied) if limit else APPLY_BATCH_SIZE)
            except psycopg2.errors.TransactionRollbackError:
                # Another transaction wrote the same rows (a dispatcher's batch, another applier): the batch is
                # rolled back with its DELETE, so its reports are queued again; try again on a fresh snapshot.
                conflicts += 1
                if not auto_commit or conflicts >= CONFLICT_ATTEMPTS:
                    raise
                _logger.info("Delivery reports met a concurrent update; retrying (%d)", conflicts)
                self.env.cr.rollback()
                time.sleep(0.1 * conflicts)
                continue
            conflicts = 0
            if not count:
                if not auto_commit or time.monotonic() - idle_since > linger:
                    break
                self.env.cr.commit()  # pylint: disable=invalid-commit  # a fresh snapshot sees new reports
                time.sleep(0.25)
                continue
            idle_since = time.monotonic()
            applied += count
            if auto_commit:
                # Batch cron, never under test
                self.env.cr.commit()  # pylint: disable=invalid-commit
            if limit and applied >= limit:
                break
        return applied

    def _apply_one_batch(self, size):
        """Take and apply one batch: new reports, else waiting reports that may match now. Returns how many new
        reports were taken, or how many waiting ones were applied (0: nothing to do now)."""
        batch = self._take_batch(size)
        is_new = bool(batch)
        if not is_new:
            batch = self._take_matching_waiting(size)
        waiting = []
        for account_id, reports in batch.items():
            waiting += self._apply_account_batch(account_id, reports)
        self._keep_waiting(waiting)
        taken = sum(len(reports) for reports in batch.values())
        return taken if is_new else taken - len(waiting)

    def _apply_account_batch(self, account_id, reports):
        """Apply one account's reports in bulk; if that fails, one by one, dropping (and logging) only the bad ones.
        Returns the reports that matched no message yet (``(account_id, report)`` pairs).

        Reports are already validated, so a failure is a bug or an inconsistent database: retrying the same oldest
        batch at every run would block every later report of every account.
        """
        account = self.env["africastalking.account"].browse(account_id).exists()
        if not account:
            return []
        waiting = self._apply_in_savepoint(account, reports)
        if waiting is not None:
            return [(account_id, report) for report in waiting]
        kept = []
        for report in reports:
            waiting = self._apply_in_savepoint(account, [report])
            if waiting is None:
                _logger.error("Delivery report %s of account %s could not be applied and was dropped",
                              report.message_id, account_id)
            else:
                kept += [(account_id, report) for report in waiting]
        return kept

    def _apply_in_savepoint(self, account, reports):
        """The reports left waiting, or None when applying failed."""
        try:
            with self.env.cr.savepoint():
                return self.env["africastalking.message"]._apply_delivery_reports(account, reports)
        except psycopg2.errors.TransactionRollbackError:
            raise  # a concurrent update, not a bad report: the caller retries the whole batch
        except Exception:  # noqa: BLE001 - isolated and reported by the caller
            _logger.exception("Applying %d delivery reports of account %s failed", len(reports), account.id)
            self.env.invalidate_all()
            return None

    _BATCH_COLUMNS = "id, account_id, message_id, status, phone_number, network_code, failure_reason, retry_count, " \
                     "received_at"

    # Both takes delete the rows they locked by their physical address (ctid): a locked row cannot move before the
    # same statement deletes it, and a TID scan deletes 10,000 rows in about half the time of 10,000 lookups of
    # their ids in the primary key.

    def _take_batch(self, size):
        """Remove the oldest queued reports (not held by another applier) and return them by account."""
        self.env.cr.execute(
            """
            WITH taken AS (
                DELETE FROM africastalking_delivery_report
                 WHERE ctid = ANY(ARRAY(SELECT ctid FROM africastalking_delivery_report WHERE waiting IS NOT TRUE
                                         ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED))
             RETURNING id, account_id, message_id, status, phone_number, network_code, failure_reason, retry_count,
                       received_at)
            SELECT * FROM taken ORDER BY id
            """,
            (size,),
        )
        return self._batch_by_account(self.env.cr.fetchall())

    def _take_matching_waiting(self, size):
        """Remove the waiting reports that a message now answers: its AT id was written, or an unknown outcome of
        the account to that number appeared (an interrupted or unanswered send). Both lookups are indexed."""
        self.env.cr.execute(
            """
            WITH taken AS (
                DELETE FROM africastalking_delivery_report
                 WHERE ctid = ANY(ARRAY(SELECT w.ctid FROM africastalking_delivery_report w
                               WHERE w.waiting AND (
                                     EXISTS (SELECT 1 FROM africastalking_message m
                                              WHERE m.at_message_id = w.message_id)
                                  OR EXISTS (SELECT 1 FROM africastalking_message m
                                              WHERE m.state = 'unknown' AND m.account_id = w.account_id
                                                AND m.number = w.phone_number AND m.at_message_id IS NULL
                                                AND m.report_ambiguous IS NOT TRUE))
                               ORDER BY w.id LIMIT %s FOR UPDATE SKIP LOCKED))
             RETURNING id, account_id, message_id, status, phone_number, network_code, failure_reason, retry_count,
                       received_at)
            SELECT * FROM taken ORDER BY id
            """,
            (size,),
        )
        return self._batch_by_account(self.env.cr.fetchall())

    @staticmethod
    def _batch_by_account(rows):
        """``rows`` in the order the reports came (by id)."""
        batch = {}
        for row in rows:
            _id, account_id, message_id, status, number, network, reason, retry, received_at = row
            batch.setdefault(account_id, []).append(DeliveryReport(
                message_id=message_id, status=status, phone_number=number, network_code=network or "",
                failure_reason=reason or "", retry_count=retry or 0, received_at=received_at))
        return batch

    def _keep_waiting(self, waiting):
        """Queue again, as waiting, reports that matched no message (``(account_id, report)`` pairs)."""
        if not waiting:
            return
        self.env.cr.execute(
            """
            INSERT INTO africastalking_delivery_report
                   (account_id, message_id, status, phone_number, network_code, failure_reason, retry_count,
                    received_at, waiting)
            SELECT *, true FROM unnest(%s::int[], %s::varchar[], %s::varchar[], %s::varchar[], %s::varchar[],
                                       %s::varchar[], %s::int[], %s::timestamp[])
            """,
            tuple(list(column) for column in zip(*[
                (account_id, r.message_id, r.status, r.phone_number, r.network_code or None, r.failure_reason or None,
                 r.retry_count, r.received_at or fields.Datetime.now()) for account_id, r in waiting], strict=True)),
        )

    @api.model
    def _waiting_reports(self, message_ids):
        """The waiting reports for these AT ids, by account (read only: the applier removes them)."""
        if not message_ids:
            return {}
        self.env.cr.execute(
            "SELECT id, account_id, message_id, status, phone_number, network_code, failure_reason, retry_count, "
            "received_at FROM africastalking_delivery_report WHERE waiting AND message_id = ANY(%s) ORDER BY id",
            (list(message_ids),))
        return self._batch_by_account(self.env.cr.fetchall())

    @api.model
    def _drop_expired_waiting(self):
        self.env.cr.execute(
            "DELETE FROM africastalking_delivery_report WHERE waiting AND received_at < "
            "now() at time zone 'UTC' - make_interval(days => %s) RETURNING message_id", (WAITING_DAYS,))
        dropped = self.env.cr.fetchall()
        if dropped:
            _logger.warning("%d delivery reports matched no message for %d days and were dropped (first: %s)",
                            len(dropped), WAITING_DAYS, dropped[0][0])
