import logging
import math
import threading
import time
from collections import defaultdict, namedtuple
from contextlib import contextmanager
from datetime import timedelta

import psycopg2.errors

from odoo import _, api, fields, models
from odoo.addons.sms.models.sms_sms import SmsSms as SmsSmsBase
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.at_gateway import SendResult
from ..tools.bulk_sql import IntArray
from ..tools.client_actions import notification
from ..tools.outcomes import (
    ACCOUNT_SEND_STATES,
    NOT_CONFIGURED,
    SEND_STATE_FAILURE_TYPES,
    SUCCESS,
    UNKNOWN_OUTCOME,
    WRONG_NUMBER_FORMAT,
)
from ..tools.phone import is_e164, normalize_number
from ..tools.runtime import cron_time_limit
from .africastalking_account import open_gateway

# Where an SMS comes from; the entry points say it with the context key (or the value) when they create it.
ORIGIN_CONTEXT_KEY = "sms_at_origin"
SMS_ORIGINS = [
    ("mailing", "Mailing"),
    ("composer", "Composer / single SMS"),
    ("server_action", "Server / automated action"),
    ("alert", "Alert"),
    ("api", "API"),
    ("keyword", "Keyword reply"),
    ("conversation", "Conversation reply"),
    ("test", "Mailing test"),
    ("other", "Other"),
]

_logger = logging.getLogger(__name__)

DISPATCH_CONTEXT_KEY = "sms_africastalking_dispatch"
DISPATCH_BATCH_SIZE = 2000
# A batch also holds at most about this many requests to AT (a text's recipients go 500 per request): 8 rounds of
# the account's default 64 parallel requests. 2,000 personalised texts (2,000 requests) would take seconds per
# batch, and a second dispatcher (another cron worker or server) would find nothing left to claim while the first
# one still sends: 3,000 texts split 2,000 / 1,000 between two.
DISPATCH_BATCH_REQUESTS = 512
AT_RECIPIENTS_PER_REQUEST = 500
# The first batch of a run is this much smaller: its requests go out while there is nothing to write yet, and the
# next batch is claimed and sent while its answers are written (_WriteBackPipeline).
DISPATCH_FIRST_BATCH_DIVISOR = 4
# A round of requests: the account's default concurrency. Near the end of the queue a batch holds about half of the
# requests left, rounded up to whole rounds (_split_batch).
DISPATCH_ROUND_REQUESTS = 64
# The claimed ids as an array (evaluated once), not a semi-join: after Odoo's daily garbage collection autovacuum
# finds sms_sms empty, and with that estimate PostgreSQL ran the locking subquery once per SMS of the table (a claim
# of 2,000 took minutes once a 100,000 mailing was queued).
CLAIM_QUERY = """
    UPDATE sms_sms SET state = 'process', at_claim_date = now() at time zone 'UTC', at_claim_pid = pg_backend_pid()
     WHERE id = ANY(ARRAY(SELECT id FROM sms_sms
                           WHERE id = ANY(%s) AND state = 'outgoing' AND to_delete IS NOT TRUE
                           ORDER BY id FOR UPDATE SKIP LOCKED))
    RETURNING id
"""
# Set by the SMS queue cron: the time.monotonic() until which its run goes on with SMS queued since it began
# (dispatch_deadline); math.inf when the server sets no time limit.
DISPATCH_UNTIL_KEY = "sms_africastalking_dispatch_until"
# Share of Odoo's time limit of a cron job that one run of the SMS queue cron spends taking in newly queued SMS.
DISPATCH_TIME_SHARE = 0.5
# SMS looked up per round of a run (stock's _process_queue takes 10,000 per run).
DISPATCH_ROUND_SIZE = 10000
# A claim older than this whose dispatcher never wrote results was interrupted (process killed, crash).
STALE_CLAIM_MINUTES = 60
# An unknown outcome that no delivery report settled within this delay most likely never left AT: it becomes an
# error a person may resend (never automatically).
UNKNOWN_OUTCOME_HOURS = 48

# Attempts at writing AT's answers when a concurrent transaction wrote the same rows.
WRITE_BACK_ATTEMPTS = 5

# Percentage of each page of sms_sms filled by inserts: the rest takes the in-place updates of dispatch (init()).
# Each SMS is written twice on its way out (claimed, then accepted), each time as a whole new version of its row
# (with its header and line pointer): a quarter of the page leaves room for both, or the second update of most rows
# goes to another page, into all five indexes of the table (at 40 %: 56 % of the SMS of a 10,000 broadcast; at 30 %
# still 7 of every 11). The old versions cannot be pruned in between: the write-back of the previous batch still
# holds a snapshot older than the claim.
SMS_TABLE_FILLFACTOR = 25

_DispatchRow = namedtuple("_DispatchRow", "id uuid number body company_id")


def dispatch_deadline():
    """The ``time.monotonic()`` after which a run of the SMS queue cron takes in no more SMS: half of the cron's
    time limit (cron_time_limit), so that a batch under way still ends well within it; math.inf without limit."""
    limit = cron_time_limit()
    return time.monotonic() + limit * DISPATCH_TIME_SHARE if limit else math.inf


def _batch_requests(left):
    """How many requests the next batch may hold when ``left`` are left: about half, in whole rounds, at most
    DISPATCH_BATCH_REQUESTS."""
    rounds = -(-left // (2 * DISPATCH_ROUND_REQUESTS))  # half of what is left, rounded up to whole rounds
    return min(DISPATCH_BATCH_REQUESTS, max(1, rounds) * DISPATCH_ROUND_REQUESTS)


class _DispatchRun(threading.local):
    """The gateways opened by the dispatch run of this thread, by account and sender (None outside a run)."""

    gateways = None


_dispatch_run = _DispatchRun()


@contextmanager
def _gateways_kept_open():
    """Within this block the dispatch of this thread opens each account's gateway once and keeps it for every
    batch: its sending threads and kept-alive connections to AT serve the whole run, instead of ``concurrency`` new
    threads and connections (and one decryption of the API key) per batch."""
    if _dispatch_run.gateways is not None:  # nested: the outer run closes them
        yield
        return
    _dispatch_run.gateways = {}
    try:
        yield
    finally:
        gateways, _dispatch_run.gateways = _dispatch_run.gateways, None
        for gateway in gateways.values():
            gateway.close()


class _KeptOpen:
    """A gateway of the dispatch run, used in a ``with`` block that must not close it."""

    def __init__(self, gateway):
        self.gateway = gateway

    def __enter__(self):
        return self.gateway

    def __exit__(self, *exc):
        return False


class SmsSms(models.Model):
    """Every outgoing SMS leaves through Africa's Talking, exactly once.

    Callers anywhere in Odoo (composer, chatter, server actions, mailings, resend) end in ``_send``. Interactive
    callers only queue: their SMS are handed to the SMS queue cron, triggered at once. The cron dispatches: it
    claims rows (``FOR UPDATE SKIP LOCKED``, state ``process``) and commits the claim before any HTTP request, so
    that neither a second worker nor a rollback after AT accepted can send a message again.
    """

    _inherit = "sms.sms"

    IAP_TO_SMS_FAILURE_TYPE = {**SmsSmsBase.IAP_TO_SMS_FAILURE_TYPE, **SEND_STATE_FAILURE_TYPES}

    state = fields.Selection(
        selection_add=[("unknown", "Unknown Outcome")],
        ondelete={"unknown": lambda records: records.write({"state": "error", "failure_type": "unknown"})},
    )
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index="btree_not_null")
    at_claim_date = fields.Datetime("Dispatch Claimed On", readonly=True, copy=False)
    # The PostgreSQL backend of the dispatcher that claimed the SMS: it keeps its connection until it has written
    # AT's answers, so a claim whose backend is gone was interrupted (process killed) and needs no hour to tell.
    at_claim_pid = fields.Integer("Dispatcher Backend", readonly=True, copy=False)
    at_failure_reason = fields.Char("Failure Reason", readonly=True, copy=False)
    # What sent it, for the cost analysis (africastalking.message.origin); mailings are known by their mailing.
    at_origin = fields.Selection(SMS_ORIGINS, "Origin", readonly=True, copy=False,
                                 default=lambda self: self.env.context.get(ORIGIN_CONTEXT_KEY))

    def init(self):  # pylint: disable=missing-return
        super().init()
        # An SMS row is updated twice on its way out (claimed, then accepted), on columns no index covers: with
        # room left on its page, PostgreSQL updates it in place (a "HOT" update) instead of writing a new row
        # version into every index of the table. A queue table: its rows are deleted once sent.
        self.env.cr.execute(SQL("ALTER TABLE sms_sms SET (fillfactor = %s)", SMS_TABLE_FILLFACTOR))

    # ------------------------------------------------------------------
    # Queue
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        # Every path that only queues (the composer's default mode, server and automated actions, mailings) wakes
        # the queue at once instead of waiting for its interval.
        if not self.env.context.get(DISPATCH_CONTEXT_KEY) and any(sms.state == "outgoing" for sms in records):
            records._africastalking_trigger_queue()
        return records

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False, auto_commit=False):
        # No super(): stock calls IAP inside the caller's transaction, which a rollback or a second worker would send
        # again; here only the queue sends, after committing its claim.
        if not self.env.context.get(DISPATCH_CONTEXT_KEY):
            # Only the queue sends: it can commit its claim before calling AT, an interactive transaction cannot.
            self._africastalking_trigger_queue()
            return
        self._africastalking_dispatch(unlink_failed=unlink_failed, unlink_sent=unlink_sent, auto_commit=auto_commit)

    def _africastalking_trigger_queue(self):
        self.env.ref("sms.ir_cron_sms_scheduler_action")._trigger()

    @api.model
    def _process_queue(self, ids=None):
        self._africastalking_recover_stale_claims()
        self._africastalking_expire_unknown_outcomes()
        context = {DISPATCH_CONTEXT_KEY: True}
        if not ids:
            # The cron's own run (not a dispatch of given SMS): it goes on with the SMS queued while it sends (a
            # mailing's preparation commits them chunk by chunk), within its time limit.
            context[DISPATCH_UNTIL_KEY] = dispatch_deadline()
        res = super(SmsSms, self.with_context(**context))._process_queue(ids=ids)
        if not ids and self.search_count([("state", "=", "outgoing"), ("to_delete", "!=", True)], limit=1):
            self._africastalking_trigger_queue()  # stock stops after 10,000 SMS per run; go on at once
        return res

    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        if not self.env.context.get(DISPATCH_CONTEXT_KEY):
            return super().send(unlink_failed=unlink_failed, unlink_sent=unlink_sent, auto_commit=auto_commit,
                                raise_exception=raise_exception)
        # Stock reads the state of every SMS (10,000 per run) to keep the outgoing ones: the claim does that.
        # ``auto_commit``: the one gate of every commit of the dispatch, decided by the cron as stock decides it
        # (``_process_queue``: true, except under test).
        if not auto_commit:
            with _gateways_kept_open():
                for batch_ids in self._split_batch():
                    self.browse(batch_ids)._send(unlink_failed=unlink_failed, unlink_sent=unlink_sent,
                                                 raise_exception=raise_exception, auto_commit=auto_commit)
            return None
        # Committing, AT's answers of a batch are written on a second cursor while this one claims and sends the
        # next batch: the database writes of one batch overlap the requests of the next one.
        _logger.debug("SMS dispatch: %d SMS to send in this run (thread CPU %.2f s)", len(self), time.thread_time())
        with _gateways_kept_open(), \
                _WriteBackPipeline(self.env, unlink_failed=unlink_failed, unlink_sent=unlink_sent) as pipeline:
            sms = self
            while sms:
                for batch_ids in sms._split_batch():
                    claimed, results = self.browse(batch_ids)._africastalking_claim_and_send(auto_commit=True)
                    _logger.debug("SMS dispatch: batch of %d SMS sent (%d claimed; thread CPU %.2f s)",
                                  len(batch_ids), len(claimed), time.thread_time())
                    if claimed:
                        pipeline.submit(claimed.ids, results)
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                sms = sms._africastalking_queued_meanwhile()
        _logger.debug("SMS dispatch: run ended (thread CPU %.2f s)", time.thread_time())
        return None

    def _africastalking_queued_meanwhile(self):
        """In a run of the SMS queue cron that sent ``self``: the next SMS to send, queued while it sent them (the
        next chunks of a mailing being prepared), while the run's time allows (DISPATCH_UNTIL_KEY); else none.

        The run goes on with its gateways, connections and write-back pipeline, the write-back of its last batch
        overlapping the claim of the next: a new run per 10,000 SMS (stock's) would wait for that write-back, read
        the whole queue again for interrupted claims and expired outcomes, and start with a small batch. The claim
        decides what is sent, as always; the run ends when a round brings no SMS it has not tried (those left are
        held by another dispatcher), and _process_queue calls the cron back while SMS are queued.
        """
        until = self.env.context.get(DISPATCH_UNTIL_KEY)
        if until is None or time.monotonic() >= until:
            return self.browse()
        self.env.cr.execute("SELECT id FROM sms_sms WHERE state = 'outgoing' AND to_delete IS NOT TRUE "
                            "ORDER BY id LIMIT %s", (DISPATCH_ROUND_SIZE,))
        queued = self.browse([row[0] for row in self.env.cr.fetchall()])
        return queued if queued - self else self.browse()

    def _split_batch(self):
        """Larger batches when dispatching: one claim, one commit and one write-back per 2,000 SMS, or per
        DISPATCH_BATCH_REQUESTS requests when the texts are personalised (a quarter of that for the first batch),
        while the gateway splits each text's recipients into requests of the account's size and sends them
        concurrently. Towards the end a batch holds at most about half of the requests left (in whole rounds of
        DISPATCH_ROUND_REQUESTS): dispatchers sharing the queue then finish together, instead of one sending a
        full last batch alone while the other has nothing left to claim."""
        if not self.env.context.get(DISPATCH_CONTEXT_KEY):
            yield from super()._split_batch()
            return
        size = int(self.env["ir.config_parameter"].sudo().get_param(
            "sms_africastalking.dispatch_batch_size", DISPATCH_BATCH_SIZE))
        self.flush_recordset(["body"])
        self.env.cr.execute("SELECT id, md5(COALESCE(body, '')) FROM sms_sms WHERE id = ANY(%s) ORDER BY id",
                            (IntArray(self.ids),))
        rows, texts = [], defaultdict(int)
        for sms_id, text in self.env.cr.fetchall():
            # True when this SMS opens a request: a new text, or one more request of recipients for a text
            rows.append((sms_id, texts[text] % AT_RECIPIENTS_PER_REQUEST == 0))
            texts[text] += 1
        left = sum(opens for _sms_id, opens in rows)
        batch, batch_requests = [], 0
        max_sms = max(1, size // DISPATCH_FIRST_BATCH_DIVISOR)
        max_requests = max(1, DISPATCH_BATCH_REQUESTS // DISPATCH_FIRST_BATCH_DIVISOR)
        for sms_id, opens in rows:
            # A batch ends when full, or before an SMS that would open one request too many (so a request's
            # recipients stay together)
            if len(batch) >= max_sms or (opens and batch and batch_requests >= max_requests):
                yield batch
                left -= batch_requests
                batch, batch_requests = [], 0
                max_sms, max_requests = size, _batch_requests(left)
            batch.append(sms_id)
            batch_requests += opens
        if batch:
            yield batch

    def resend_failed(self):
        # No super(): stock sends at once from the request (see _send) and counts the SMS it deleted as resent;
        # ours are queued again, with their trackers, and said to be queued.
        self.check_access_rights("write")
        self.check_access_rule("write")
        to_resend = self.filtered(lambda sms: sms.state == "error" and not sms.to_delete)
        to_resend._update_sms_state_and_trackers("outgoing")
        to_resend._africastalking_trigger_queue()
        return notification(_("%(count)s of the %(total)s selected SMS are queued for sending.",
                              count=len(to_resend), total=len(self)),
                            "success" if to_resend else "danger", title=_("Queued") if to_resend else _("Warning"))

    # ------------------------------------------------------------------
    # Dispatch
    # ------------------------------------------------------------------

    def _africastalking_dispatch(self, unlink_failed=False, unlink_sent=True, auto_commit=False):
        claimed, results = self._africastalking_claim_and_send(auto_commit=auto_commit)
        if claimed:
            claimed._africastalking_write_back(results, unlink_failed=unlink_failed, unlink_sent=unlink_sent,
                                               auto_commit=auto_commit)

    def _africastalking_claim_and_send(self, auto_commit=False):
        """Claim the SMS of ``self`` (committed with ``auto_commit``) and send them: ``(claimed SMS, results)``."""
        claimed = self._africastalking_claim(auto_commit=auto_commit)._africastalking_drop_cancelled_mailings()
        if not claimed:
            return claimed, []
        rows = claimed._africastalking_dispatch_rows()
        results = []
        for account, account_rows in self._africastalking_rows_by_account(rows).items():
            results += self._africastalking_send_rows(account, account_rows)
        return claimed, results

    def _africastalking_write_back(self, results, unlink_failed=False, unlink_sent=True, auto_commit=False):
        """Write AT's answers on a fresh snapshot, and again on a serialization failure: the claim is committed and
        the answers are in memory, so a conflict with a concurrent transaction never leaves the batch claimed.

        The fresh snapshot sees the delivery reports that arrived while AT answered (they wait in the report queue
        and are applied with the answers). Without ``auto_commit`` (tests), written in the claim's transaction.
        """
        if not auto_commit:
            self._africastalking_apply_results(results, unlink_failed=unlink_failed, unlink_sent=unlink_sent)
            return
        for attempt in range(1, WRITE_BACK_ATTEMPTS + 1):
            self.env.cr.commit()  # pylint: disable=invalid-commit  # only reads since the claim's commit
            try:
                self._africastalking_apply_results(results, unlink_failed=unlink_failed, unlink_sent=unlink_sent)
                return
            except psycopg2.errors.TransactionRollbackError:
                if attempt == WRITE_BACK_ATTEMPTS:
                    raise
                _logger.info("Writing AT's answers for %d SMS met a concurrent update; retrying", len(self))
                self.env.cr.rollback()
                time.sleep(0.1 * attempt)

    def _africastalking_claim(self, auto_commit=False):
        """Lock the still-outgoing SMS of ``self`` that no other worker holds, mark them ``process``, commit.

        Odoo's transactions are REPEATABLE READ: a row another worker claimed after our snapshot began cannot be
        locked (serialization failure). The queue therefore claims at the start of a fresh transaction, and starts
        again on that failure. Without ``auto_commit`` (tests), the claim stays in the caller's transaction.
        """
        if not self.ids:
            return self.browse()
        for attempt in range(3):
            if auto_commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit
            self.flush_recordset()
            try:
                # Expected when another worker claimed first: not an error to log. (mute_logger would swap the
                # logger's handlers, which is not thread-safe: two cron threads claiming at once left errors
                # logged, or the SQL logger muted for good.)
                self.env.cr.execute(CLAIM_QUERY, (IntArray(self.ids),), log_exceptions=False)
            except psycopg2.errors.SerializationFailure:
                if not auto_commit or attempt == 2:
                    raise
                self.env.cr.rollback()
                continue
            break
        claimed = self.browse(sorted(row[0] for row in self.env.cr.fetchall()))
        self.invalidate_recordset(["state", "at_claim_date"])
        if claimed and auto_commit:
            # The claim must be durable before AT can have the message
            self.env.cr.commit()  # pylint: disable=invalid-commit
        return claimed

    def _africastalking_dispatch_rows(self):
        """What sending needs of each SMS, read in one query: the ORM would cost more than the requests to AT."""
        self.flush_recordset(["uuid", "number", "body", "company_id"])
        self.env.cr.execute(
            "SELECT id, uuid, number, body, company_id FROM sms_sms WHERE id = ANY(%s) ORDER BY id",
            (IntArray(self.ids),))
        return [_DispatchRow(*row) for row in self.env.cr.fetchall()]

    def _africastalking_rows_by_account(self, rows):
        """``{account: rows}``: each SMS goes through the account of its company (or of the current one)."""
        rows_by_account, accounts = defaultdict(list), {}
        for row in rows:
            company_id = row.company_id or self.env.company.id
            if company_id not in accounts:
                accounts[company_id] = self.env["res.company"].browse(company_id)._get_africastalking_account()
            rows_by_account[accounts[company_id]].append(row)
        return rows_by_account

    def _africastalking_group_by_account(self):
        return {account: self.browse([row.id for row in rows]) for account, rows in
                self._africastalking_rows_by_account(self._africastalking_dispatch_rows()).items()}

    def _africastalking_send_with(self, account):
        """Send ``self`` through ``account`` and return one SendResult per SMS (keyed by uuid)."""
        return self._africastalking_send_rows(account, self._africastalking_dispatch_rows())

    def _africastalking_send_rows(self, account, rows):
        """Send the SMS of ``rows`` (see _africastalking_dispatch_rows) through ``account``; one result each."""
        if not account:
            return [SendResult(number=row.number, key=row.uuid, state=NOT_CONFIGURED,
                               failure_reason=(self.env["res.company"].browse(row.company_id)
                                               or self.env.company)._africastalking_no_account_message())
                    for row in rows]
        numbers = {row.id: self._africastalking_row_number(row) for row in rows}
        results = [SendResult(number=row.number, key=row.uuid, state=WRONG_NUMBER_FORMAT,
                              failure_reason=_("Invalid phone number"))
                   for row in rows if not numbers[row.id]]
        try:
            gateway = self._africastalking_open_gateway(account)
        except UserError as error:  # no usable API key: nothing leaves, each SMS says why
            results += [SendResult(number=row.number, key=row.uuid, state=NOT_CONFIGURED,
                                   failure_reason=str(error)) for row in rows if numbers[row.id]]
        else:
            with gateway as sender:
                results += sender._send_sms_batch(self._africastalking_outgoing_messages(rows, numbers))
        for result in results:
            result.account = account
        return results

    @api.model
    def _africastalking_open_gateway(self, account):
        """The gateway of ``account`` for a ``with`` block: the run's own during a dispatch run (kept open for its
        next batches), else a new one closed at the end of the block."""
        gateways = _dispatch_run.gateways
        if gateways is None:
            return open_gateway(account)
        # Keyed by what the gateway is made of besides the key: the sender differs with the traffic
        account = account.sudo()
        key = (account.id, account._africastalking_sender_id(), account._base_url(), account.username,
               account.timeout, account.max_recipients, account.concurrency)
        if key not in gateways:
            gateways[key] = open_gateway(account)
        return _KeptOpen(gateways[key])

    def _africastalking_row_number(self, row):
        number = (row.number or "").strip()
        return number if is_e164(number) else self.browse(row.id)._africastalking_number()

    def _africastalking_number(self):
        """The E.164 number AT needs, from the SMS's number (sanitized for mailings, raw for some chatter SMS)."""
        self.ensure_one()
        number = (self.number or "").strip()
        if is_e164(number):
            return number
        company = self.company_id or self.env.company
        country = self.partner_id.country_id or company.country_id
        return normalize_number(number, country.code).e164 or False

    @api.model
    def _africastalking_outgoing_messages(self, rows, numbers):
        """The SMS of ``rows`` in the shape of stock's ``_send``: one entry per text, with its numbers and uuids."""
        numbers_by_body = defaultdict(list)
        for row in rows:
            if numbers[row.id]:
                numbers_by_body[row.body or ""].append({"uuid": row.uuid, "number": numbers[row.id]})
        return [{"content": body, "numbers": recipients} for body, recipients in numbers_by_body.items()]

    def _africastalking_apply_results(self, results, unlink_failed=False, unlink_sent=True):
        """Write the outcome of each SMS, its tracker (notification / trace) and the AT message log.

        Only SMS still claimed by this dispatcher are written: one that the stale-claim recovery already marked
        "unknown outcome" (a dispatch slower than STALE_CLAIM_MINUTES) keeps that state and its log row; AT's
        delivery report settles it.
        """
        self.flush_recordset()
        by_state = defaultdict(list)
        for result in results:
            by_state[result.state].append(result)
        # Accepted SMS (all of them, most of the time) are locked and written by one statement; the others are
        # locked first, then written by the ORM. A concurrent update (the stale-claim recovery of another worker)
        # is retried by the caller.
        accepted = by_state.pop(SUCCESS, [])
        claimed_keys = set()
        if accepted:  # notifications of accepted SMS are updated with their status, in SQL
            claimed_keys = self.with_context(sms_skip_msg_notification=True)._africastalking_mark_accepted(
                accepted, unlink_sent)
        claimed_id_of = {}
        if by_state:
            self.env.cr.execute("SELECT uuid, id FROM sms_sms WHERE id = ANY(%s) AND state = 'process' FOR UPDATE",
                                (IntArray(self.ids),), log_exceptions=False)
            claimed_id_of = dict(self.env.cr.fetchall())
            claimed_keys |= claimed_id_of.keys()
        if len(claimed_keys) < len(results):
            late = [result for result in results if result.key not in claimed_keys]
            _logger.warning("%d AT answers came after their SMS were declared interrupted; kept as unknown outcome",
                            len(late))
            results = [result for result in results if result.key in claimed_keys]
        not_accepted = self.browse()
        for state, state_results in by_state.items():
            state_results = [result for result in state_results if result.key in claimed_id_of]
            if not state_results:
                continue
            sms = self.browse([claimed_id_of[result.key] for result in state_results])
            sms = sms.with_context(sms_skip_msg_notification=True)
            not_accepted |= sms
            if state == UNKNOWN_OUTCOME:
                sms.sms_tracker_id._action_update_from_sms_state("unknown")
                sms.write({"state": "unknown", "failure_type": False,
                           "at_failure_reason": state_results[0].failure_reason})
            else:
                sms._africastalking_write_failure(state, state_results, unlink_failed)
        self.env["africastalking.message"]._record_send_results(results)
        not_accepted.mail_message_id._notify_message_notification_update()

    def _africastalking_mark_accepted(self, results, unlink_sent):
        """Accepted by AT: SMS 'pending' ("Sent"), and so their notifications and traces, in set-based SQL.

        This is what ``sms.tracker._action_update_from_sms_state('pending')`` does record by record, with stock's
        rules (sms_tracker.py: NOTIFICATION_/TRACE_STATUSES_TO_IGNORE), for the one outcome that every message of
        a mailing has; AT's id, status, cost and parts are written onto the traces in the same
        statement. At thousands of SMS per batch the ORM path costs more than the requests to AT.

        Only the SMS of ``self`` still claimed ('process') are written, with their trackers: the statement locks
        and writes them at once (a lock of the batch's rows beforehand would write each row twice). Returns the
        uuids of the SMS written.
        """
        self.flush_recordset()
        for model in ("sms.tracker", "mail.notification", "mailing.trace"):
            self.env[model].flush_model()
        cr = self.env.cr
        sms_state = self.IAP_TO_SMS_STATE_SUCCESS[SUCCESS]  # 'pending' ("Sent")
        tracker = self.env["sms.tracker"]
        notification_status, trace_status = tracker._africastalking_statuses_from_sms_state(sms_state)
        trace_moves = tracker._africastalking_sql_trace_may_move(SQL("tr.trace_status"), trace_status)
        cr.execute(SQL(
            """
            WITH facts AS (
                SELECT * FROM unnest(%(uuids)s::varchar[], %(ids)s::varchar[], %(statuses)s::varchar[],
                                     %(costs)s::numeric[], %(currencies)s::varchar[], %(parts)s::int[])
                       AS f(sms_uuid, at_message_id, at_status, cost, currency, parts)
            ), sms AS (
                -- By arrays, not joined to the facts: with sms_sms believed empty (autovacuum's analysis after
                -- the daily garbage collection), a join compared every SMS with every result
                UPDATE sms_sms s
                   SET state = %(sms_state)s, failure_type = NULL, at_failure_reason = NULL,
                       to_delete = %(to_delete)s, write_uid = %(uid)s, write_date = now() at time zone 'UTC'
                 WHERE s.id = ANY(%(sms_ids)s) AND s.uuid = ANY(%(uuids)s) AND s.state = 'process'
             RETURNING s.uuid
            ), trackers AS (
                SELECT t.mail_notification_id, t.mailing_trace_id, f.*
                  FROM facts f
                  JOIN sms ON sms.uuid = f.sms_uuid
                  -- One index lookup per SMS: joined as a set, the planner scans every tracker ever written
                  CROSS JOIN LATERAL (SELECT mail_notification_id, mailing_trace_id FROM sms_tracker
                                       WHERE sms_uuid = f.sms_uuid LIMIT 1) t
            ), notifications AS (
                UPDATE mail_notification n
                   SET notification_status = %(notification_status)s, failure_type = NULL, failure_reason = NULL
                  FROM trackers t
                 WHERE n.id = t.mail_notification_id AND %(notification_moves)s
             RETURNING n.mail_message_id
            ), traces AS (
                -- every trace gets AT's facts; its status only moves as stock's rules allow
                UPDATE mailing_trace tr
                   SET trace_status = CASE WHEN %(trace_moves)s THEN %(trace_status)s ELSE tr.trace_status END,
                       failure_type = CASE WHEN %(trace_moves)s THEN NULL ELSE tr.failure_type END,
                       failure_reason = CASE WHEN %(trace_moves)s THEN NULL ELSE tr.failure_reason END,
                       sent_datetime = CASE WHEN %(trace_moves)s AND %(stamps_sent)s
                                            THEN COALESCE(tr.sent_datetime, now() at time zone 'UTC')
                                            ELSE tr.sent_datetime END,
                       at_message_id = t.at_message_id, at_status = t.at_status, at_cost = t.cost,
                       at_currency = t.currency, at_parts = t.parts
                  FROM trackers t
                 WHERE tr.id = t.mailing_trace_id
             RETURNING tr.id, tr.mass_mailing_id
            )
            SELECT (SELECT array_agg(uuid) FROM sms),
                   (SELECT array_agg(DISTINCT mail_message_id) FROM notifications),
                   -- one trace per mailing: enough to tell whether the mailing is done
                   (SELECT array_agg(id) FROM (SELECT DISTINCT ON (mass_mailing_id) id FROM traces
                                                WHERE mass_mailing_id IS NOT NULL) one_per_mailing)
            """,
            uuids=[result.key for result in results],
            ids=[result.message_id for result in results],
            statuses=[result.status or None for result in results],
            costs=[result.cost for result in results],
            currencies=[result.currency for result in results],
            parts=IntArray([result.parts for result in results]),
            notification_status=notification_status,
            notification_moves=tracker._africastalking_sql_notification_may_move(
                SQL("n.notification_status"), notification_status),
            trace_status=trace_status,
            trace_moves=trace_moves,
            stamps_sent=tracker._africastalking_sql_stamps_sent_datetime(trace_status),
            sms_state=sms_state,
            to_delete=bool(unlink_sent),
            uid=self.env.uid,
            sms_ids=IntArray(self.ids),
        ), log_exceptions=False)  # a concurrent update is retried by the caller (_africastalking_write_back)
        written, message_ids, trace_ids = cr.fetchone()
        tracker._africastalking_after_sql_update(message_ids, trace_ids, trace_status)
        return set(written or ())

    def _africastalking_write_failure(self, state, state_results, unlink_failed):
        failure_type = self.IAP_TO_SMS_FAILURE_TYPE.get(state, "unknown")
        reasons = {result.key: result.failure_reason for result in state_results}
        # Each recipient's own reason: one request refused with several codes has several reasons.
        for reason, sms in self.grouped(lambda s: reasons.get(s.uuid) or False).items():
            # The reason goes on the chatter's notification too (its failure dialog shows it), not only here.
            if failure_type == "unknown":
                sms.sms_tracker_id._action_update_from_provider_error(reason or state)
            else:
                sms.sms_tracker_id._action_update_from_sms_state("error", failure_type=failure_type,
                                                                 failure_reason=reason)
            sms.write({"state": "error", "failure_type": failure_type, "at_failure_reason": reason,
                       "to_delete": unlink_failed})
        self._africastalking_notify_authors_of_failure(reasons)
        if state in ACCOUNT_SEND_STATES:
            _logger.warning("Africa's Talking refused %d SMS: %s", len(self), state)

    def _africastalking_notify_authors_of_failure(self, reasons):
        """A single SMS (from a contact, the chatter or a composer) that failed: its author, who closed the
        composer before the queue sent it, gets a notification with the reason. Mailings have their statistics."""
        for sms in self.filtered(lambda s: s.mail_message_id and not s.mailing_id):
            author = sms.mail_message_id.author_id
            if not author.user_ids:
                continue
            recipient = sms.partner_id.display_name or sms.number
            self.env["bus.bus"]._sendone(author, "simple_notification", {
                "type": "danger", "sticky": True, "title": _("SMS not sent"),
                "message": _("The SMS to %(recipient)s (%(number)s) was not sent: %(reason)s",
                             recipient=recipient, number=sms.number,
                             reason=reasons.get(sms.uuid) or _("unknown error")),
            })

    @api.model
    def _africastalking_recover_stale_claims(self):
        """SMS claimed by a dispatcher that died before writing results: their fate is unknown, never resend.

        A claim is interrupted when its dispatcher's database connection is gone (the process was killed: found
        at once) or when it is older than STALE_CLAIM_MINUTES (any other interruption).
        """
        limit = fields.Datetime.now() - timedelta(minutes=STALE_CLAIM_MINUTES)
        self.flush_model(["state", "at_claim_date", "at_claim_pid"])
        # PostgreSQL snapshots pg_stat_activity once per transaction: without this, a dispatcher that died after
        # this transaction first read it would still count as alive.
        self.env.cr.execute("SELECT pg_stat_clear_snapshot()")
        self.env.cr.execute(
            """SELECT id FROM sms_sms
                WHERE state = 'process'
                  AND (at_claim_date < %s
                       OR at_claim_pid IS NOT NULL
                          AND at_claim_pid NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL))""",
            (limit,))
        stale = self.browse([row[0] for row in self.env.cr.fetchall()])
        if stale:
            _logger.warning("%d SMS were claimed but never answered (dispatcher interrupted): outcome unknown",
                            len(stale))
            stale.sms_tracker_id._action_update_from_sms_state("unknown")
            stale.write({"state": "unknown",
                         "at_failure_reason": _("Sending was interrupted; the delivery report will tell.")})
            # With the account they were sent through: the delivery report that settles them is the account's.
            results = [SendResult(number=sms.number, key=sms.uuid, state=UNKNOWN_OUTCOME,
                                  failure_reason="interrupted", account=account or None)
                       for account, sms_group in stale._africastalking_group_by_account().items()
                       for sms in sms_group]
            self.env["africastalking.message"]._record_send_results(results)
            # Reports that came for them while they were claimed waited: they can settle them now.
            self.env["africastalking.delivery.report"]._trigger_applier()

    @api.model
    def _africastalking_expire_unknown_outcomes(self):
        """Unknown outcomes without any delivery report after UNKNOWN_OUTCOME_HOURS: failed, so they can be resent.

        AT reports every message it sent (intermediate statuses within minutes): after two days without one, the
        message almost certainly never left. Nothing is resent here; the SMS only becomes resendable by a person.
        """
        limit = fields.Datetime.now() - timedelta(hours=UNKNOWN_OUTCOME_HOURS)
        expired = self.search([("state", "=", "unknown"), ("at_claim_date", "<", limit)])
        if not expired:
            return
        # What reports already said: an outcome a report spoke of (or could not be told apart from another one to
        # the same number) was accepted by AT; it never becomes "resend if needed".
        self.env["africastalking.message"].flush_model()
        self.env.cr.execute(
            """SELECT sms_uuid FROM africastalking_message
                WHERE sms_uuid = ANY(%s) AND (state != 'unknown' OR at_message_id IS NOT NULL
                                              OR at_status IS NOT NULL OR report_ambiguous)""",
            (expired.mapped("uuid"),))
        spoken_of = {row[0] for row in self.env.cr.fetchall()}
        expired = expired.filtered(lambda sms: sms.uuid not in spoken_of)
        if not expired:
            return
        reason = _("No delivery report within %s hours: most likely not sent. Resend it if needed.",
                   UNKNOWN_OUTCOME_HOURS)
        expired.sms_tracker_id._action_update_from_sms_state("error", failure_type="sms_server",
                                                             failure_reason=reason)
        expired.write({"state": "error", "failure_type": "sms_server", "at_failure_reason": reason})
        _logger.info("%d SMS with an unknown outcome and no report for %d hours marked failed", len(expired),
                     UNKNOWN_OUTCOME_HOURS)


class _WriteBackPipeline:
    """Writes AT's answers of one dispatch batch at a time, each in its own transaction on its own cursor, in a
    thread, while the dispatcher claims and sends the next batch (its claim already committed, as always).

    At most one batch is being written: ``submit`` first waits for the previous one. An error of a write-back is
    raised by the next ``submit`` (after that batch's answers are written too: they are known, and left unwritten
    their SMS would wait an hour as "claimed") or at the end, as the sequential dispatch raises it.
    """

    def __init__(self, env, unlink_failed=False, unlink_sent=True):
        self.registry, self.uid, self.context, self.su = env.registry, env.uid, dict(env.context), env.su
        self.options = {"unlink_failed": unlink_failed, "unlink_sent": unlink_sent}
        self.dbname = env.cr.dbname
        self._thread = None
        self._error = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        error = self._wait()
        if error is not None and exc is None:
            raise error

    def submit(self, sms_ids, results):
        error = self._wait()
        self._thread = threading.Thread(target=self._write_back, args=(sms_ids, results),
                                        name="sms-dispatch-write-back", daemon=True)
        self._thread.start()
        if error is not None:
            self._wait()
            raise error

    def _wait(self):
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        return error

    def _write_back(self, sms_ids, results):
        thread = threading.current_thread()
        thread.dbname, thread.uid = self.dbname, self.uid  # as Odoo's own threads, for the log
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, self.uid, self.context, su=self.su)
                moved = {}  # one record per account (the results of an account share its record)
                for result in results:  # records of the dispatcher's environment, read here on this cursor
                    account = result.account
                    if account:
                        if id(account) not in moved:
                            moved[id(account)] = (account, account.with_env(env))  # kept alive: ids stay unique
                        result.account = moved[id(account)][1]
                env["sms.sms"].browse(sms_ids)._africastalking_write_back(results, auto_commit=True,
                                                                         **self.options)
            _logger.debug("SMS dispatch: answers of %d SMS written (thread CPU %.2f s)", len(sms_ids),
                          time.thread_time())
        except Exception as error:  # noqa: BLE001 - raised in the dispatcher's thread (submit / the end)
            self._error = error
