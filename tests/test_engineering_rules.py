"""Rules of how the addon sits in Odoo: bulk writes that fall back to the ORM, what uninstall leaves, log columns."""

from types import SimpleNamespace
from unittest.mock import patch

import psycopg2

from odoo.tests import tagged
from odoo.tools import mute_logger

from .. import uninstall_hook
from ..models.mailing_mailing_insert import PREPARED_COLUMNS
from ..models.mailing_trace import BUSY_INDEX, IAP_FAILURE_INDEX
from ..tools.bulk_sql import CopyPipe, constraint_modules, create_overrides, field_redefined_by, fields_sql_would_miss
from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestBulkInsertGuard(AfricasTalkingCase):

    def test_copy_is_used_with_the_modules_the_addon_depends_on(self):
        mailing = self.env["mailing.mailing"]
        known = mailing._africastalking_known_modules()
        self.assertTrue({"sms_africastalking", "mass_mailing_sms", "sms", "mass_mailing", "mail", "base"} <= known)
        for model_name, columns in PREPARED_COLUMNS.items():
            self.assertTrue(mailing._africastalking_sql_insert_possible(model_name, columns), model_name)
        self.assertTrue(mailing._africastalking_bulk_sql_possible())

    def test_what_the_guard_sees_beyond_the_known_modules(self):
        """The guard's checks find create overrides, constraints and fields; limited to unknown modules, none."""
        sms = self.env["sms.sms"]
        self.assertIn("sms_africastalking", {cls._module for cls in create_overrides(sms, lambda module: True)})
        self.assertFalse(create_overrides(sms, lambda module: module == "some_other_module"))
        self.assertIn("trace_status", [field.name for field in fields_sql_would_miss(self.env["mailing.trace"],
                                                                                      ["id", "model"])])
        self.assertEqual(fields_sql_would_miss(self.env["mailing.trace"], ["id", "model"], counts=lambda f: False),
                         [])
        self.assertIsInstance(constraint_modules(self.env["mailing.trace"]), set)

    def test_archive_notes_guard(self):
        """The keep-archives notes are copied with SQL with the known modules; a selection extended elsewhere
        (snailmail's message type) is no obstacle; mail.message hooked by a module beyond them is."""
        mailing = self.env["mailing.mailing"]
        self.assertTrue(mailing._africastalking_archive_sql_possible())
        message = self.env["mail.message"]
        self.assertFalse(field_redefined_by(message, message._fields["message_type"], lambda module: module != "mail"))
        self.assertTrue(field_redefined_by(message, message._fields["body"], lambda module: module == "mail"))
        known = mailing._africastalking_known_modules()
        with patch.object(type(mailing), "_africastalking_known_modules", lambda self: known - {"mail"}), \
                mute_logger("odoo.addons.sms_africastalking.models.mailing_mailing_insert"):
            self.assertFalse(mailing._africastalking_archive_sql_possible())

    def _prepare(self, mailing, count, sql):
        """Rows as the preparation builds them (ids drawn beforehand, a tracked link carrying the SMS id) for
        ``count`` SMS of ``mailing``, written with COPY or through the ORM. Returns the SMS and the context."""
        cr, uid, now = self.env.cr, self.env.uid, "2026-12-01 10:00:00"
        cr.execute("SELECT nextval('sms_sms_id_seq'), nextval('mailing_trace_id_seq'), nextval('sms_tracker_id_seq') "
                   "FROM generate_series(1, %s)", (count,))
        ids = cr.fetchall()
        partner = self.partners[0]
        link = "https://example.com/r/aB3"
        rows = {
            "sms.sms": [(sms_id, "%s-%s" % (sql, sms_id), partner.mobile, "Hi %s %s/s/%s" % (index, link, sms_id),
                         partner.id, mailing.id, "outgoing", self.env.company.id, False, uid, now, uid, now)
                        for index, (sms_id, _trace, _tracker) in enumerate(ids)],
            "mailing.trace": [(trace_id, "sms", "res.partner", partner.id, mailing.id, None, sms_id, partner.mobile,
                               "code%s" % index, "outgoing", None, uid, now, uid, now)
                              for index, (sms_id, trace_id, _tracker) in enumerate(ids)],
            "sms.tracker": [(tracker_id, "%s-%s" % (sql, sms_id), trace_id, uid, now, uid, now)
                            for sms_id, trace_id, tracker_id in ids],
        }
        context = SimpleNamespace(has_short_links=True, newest_trace_id=None)
        self.env.flush_all()
        bodies = mailing._africastalking_insert_prepared(rows, context, use_sql=sql)
        self.env.invalidate_all()
        sms = self.env["sms.sms"].search([("uuid", "=like", "%s-%%" % sql)], order="id")
        self.assertEqual(bodies, sms.mapped("body"))
        return sms, context

    def test_orm_fallback_stores_what_copy_stores(self):
        mailing = self.create_sms_mailing()
        read = {}
        for sql in (True, False):
            sms, context = self._prepare(mailing, 3, sql)
            self.assertEqual(len(sms), 3)
            traces = sms.sms_tracker_id.mailing_trace_id
            self.assertEqual(context.newest_trace_id, None if sql else max(traces.ids))
            for record in sms:
                self.assertTrue(record.body.endswith("/r/aB3/s/%d" % record.id), "the link names its own SMS")
                self.assertEqual(record.sms_tracker_id.mailing_trace_id.sms_id_int, record.id)
            read[sql] = [(s.number, s.body.split(" ")[1], s.partner_id, s.mailing_id, s.state, s.company_id,
                          s.to_delete, s.sms_tracker_id.mailing_trace_id.trace_status,
                          s.sms_tracker_id.mailing_trace_id.sms_code) for s in sms]
        self.assertEqual(read[True], read[False])
        self.assertEqual({row[7] for row in read[False]}, {"outgoing"})

    def test_copy_pipe_writes_in_order_and_raises_the_first_error(self):
        """The pipe's COPY statements run in the order given (a tracker after its trace), and a failed one is raised
        in the caller's thread at the end of the block (the transaction is then aborted, as after copy_rows)."""
        mailing = self.create_sms_mailing()
        cr, uid = self.env.cr, self.env.uid
        cr.execute("SELECT nextval('mailing_trace_id_seq'), nextval('sms_tracker_id_seq')")
        trace_id, tracker_id = cr.fetchone()
        partner = self.partners[0]
        with CopyPipe(cr) as pipe:
            pipe.put("mailing_trace", ("id", "trace_type", "model", "res_id", "mass_mailing_id", "trace_status",
                                       "create_uid"), [(trace_id, "sms", "res.partner", partner.id, mailing.id,
                                                        "outgoing", uid)])
            pipe.put("sms_tracker", ("id", "sms_uuid", "mailing_trace_id"), [(tracker_id, "pipe-1", trace_id)])
            # A statement runs in its turn, after the COPYs queued before it
            pipe.put_query("UPDATE sms_tracker SET sms_uuid = %s WHERE mailing_trace_id = %s", ("pipe-1b", trace_id))
        cr.execute("SELECT mailing_trace_id FROM sms_tracker WHERE sms_uuid = 'pipe-1b'")
        self.assertEqual(cr.fetchone()[0], trace_id)
        with self.assertRaises(psycopg2.errors.CheckViolation), mute_logger("odoo.sql_db"), cr.savepoint(), \
                CopyPipe(cr) as pipe:
            pipe.put_query("UPDATE mailing_trace SET res_id = 0 WHERE id = %s", (trace_id,))
            pipe.put("sms_tracker", ("sms_uuid",), [("pipe-3",)])
        with self.assertRaises(psycopg2.errors.CheckViolation), mute_logger("odoo.sql_db"), cr.savepoint(), \
                CopyPipe(cr) as pipe:
            pipe.put("mailing_trace", ("trace_type", "model", "res_id", "mass_mailing_id"),
                     [("sms", "res.partner", 0, mailing.id)])  # res_id 0: refused by stock's check
            for _index in range(3):
                pipe.put("sms_tracker", ("sms_uuid",), [("pipe-2",)])
        cr.execute("SELECT count(*) FROM sms_tracker WHERE sms_uuid = 'pipe-2'")
        self.assertEqual(cr.fetchone()[0], 0)


@tagged("post_install", "-at_install")
class TestInstallTraces(AfricasTalkingCase):

    def _indexes_exist(self):
        self.env.cr.execute("SELECT indexname FROM pg_indexes WHERE indexname IN %s",
                            [(BUSY_INDEX, IAP_FAILURE_INDEX)])
        return {row[0] for row in self.env.cr.fetchall()}

    def test_uninstall_drops_the_indexes_on_stock_traces(self):
        self.assertEqual(self._indexes_exist(), {BUSY_INDEX, IAP_FAILURE_INDEX})
        uninstall_hook(self.env)  # DDL is transactional: the test's rollback restores it
        self.assertFalse(self._indexes_exist())

    def test_message_log_checks_no_foreign_key_of_company_account_or_ledger_line(self):
        """The write-back logs a message per recipient: PostgreSQL would check a foreign key per row and column.
        Company, account and ledger line come from rows that hold them under a foreign key (LogReference); the
        partner and the mailing keep theirs, and so do the sender and the conversation of a single SMS or a reply
        (empty on a mailing's messages: PostgreSQL checks no empty reference)."""
        self.env.cr.execute("""
            SELECT a.attname FROM pg_constraint c
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
             WHERE c.conrelid = 'africastalking_message'::regclass AND c.contype = 'f' ORDER BY a.attname""")
        self.assertEqual([row[0] for row in self.env.cr.fetchall()],
                         ["conversation_id", "mailing_id", "partner_id", "user_id"])

    def test_deleting_what_a_message_points_to_leaves_the_message_without_it(self):
        """What the foreign keys' ON DELETE SET NULL did, the deleting models do."""
        company = self.env["res.company"].create({"name": "Closed school"})
        account = self.env["africastalking.account"].create({
            "name": "Closed", "environment": "custom", "api_url": self.simulator.url, "username": "closed",
            "api_key": "closed-key", "company_id": company.id})
        spend = self.env["sms.spend"].create({"name": "Closed", "company_id": company.id})
        kept = self.env["africastalking.message"].create({
            "number": "+254711000002", "account_id": self.account.id, "company_id": self.env.company.id})
        message = self.env["africastalking.message"].create({
            "number": "+254711000001", "account_id": account.id, "company_id": company.id, "spend_id": spend.id})

        def references():
            self.env.flush_all()
            self.env.cr.execute("SELECT account_id, company_id, spend_id FROM africastalking_message WHERE id = %s",
                                (message.id,))
            return self.env.cr.fetchone()

        account.unlink()
        self.assertEqual(references(), (None, company.id, spend.id))
        spend.unlink()
        self.assertEqual(references(), (None, company.id, None))
        company.unlink()
        self.assertEqual(references(), (None, None, None))
        self.assertFalse(message.company_id)
        self.assertEqual((kept.account_id, kept.company_id), (self.account, self.env.company))

    def test_message_log_has_dates_without_user_columns(self):
        """Written in bulk by the queue's user: no create_uid / write_uid, so no foreign key to check per row, and
        nothing for init() to drop at each update."""
        self.env.cr.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                            "AND column_name IN ('create_uid', 'write_uid')", ("africastalking_message",))
        self.assertEqual(self.env.cr.fetchall(), [])
        message = self.env["africastalking.message"].create({"number": "+254711000001", "state": "pending"})
        self.assertTrue(message.create_date and message.write_date)
        self.assertNotIn("create_uid", self.env["africastalking.message"]._fields)
