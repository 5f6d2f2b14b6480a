"""Mailings of any size: no recipient cap, chunked preparation that resumes, exactly once under two dispatchers."""

import logging
import threading
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api
from odoo.addons.sms.tools.sms_tools import sms_content_to_rendered_html
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .. import uninstall_hook
from ..models import mailing_mailing_prepare
from ..models.sms_sms import SMS_TABLE_FILLFACTOR
from ..simulator.at_simulator import ATSimulator
from ..tools.at_gateway import SendResult
from ..tools.outcomes import SUCCESS
from . import chaos
from .common import SIM_API_KEY, SIM_USERNAME, AfricasTalkingCase


def insert_list_contacts(cr, list_id, count, first_number=254700000000):
    """``count`` subscribed contacts with distinct Kenyan mobiles, written with SQL (the ORM would take minutes)."""
    cr.execute(
        """
        WITH contacts AS (
            INSERT INTO mailing_contact (name, mobile, phone_sanitized, email, create_date, write_date)
            SELECT 'Student ' || n, '+' || (%(first)s + n), '+' || (%(first)s + n), NULL,
                   now() at time zone 'UTC', now() at time zone 'UTC'
              FROM generate_series(1, %(count)s) n
         RETURNING id)
        INSERT INTO mailing_subscription (contact_id, list_id, opt_out, create_date, write_date)
        SELECT id, %(list_id)s, false, now() at time zone 'UTC', now() at time zone 'UTC' FROM contacts
        """,
        {"first": first_number, "count": count, "list_id": list_id},
    )


@tagged("post_install", "-at_install")
class TestMailingScale(AfricasTalkingCase):

    def _big_list(self, count):
        mailing_list = self.env["mailing.list"].create({"name": "Whole university"})
        insert_list_contacts(self.env.cr, mailing_list.id, count)
        self.env.invalidate_all()
        return mailing_list

    def test_no_cap_at_20000_recipients(self):
        """Stock refuses above ~16,200 recipients (literal_eval of the id list) and the mailing stays queued."""
        mailing_list = self._big_list(20000)
        self.simulator.set_balance(100000)
        mailing = self.create_sms_mailing(body="Graduation is on Friday.",
                                          contact_list_ids=[Command.set(mailing_list.ids)])
        self.send_mailing(mailing)
        self.run_sms_queue()  # stock's queue takes 10,000 SMS per run; ours re-triggers, here we run it again
        stats = self.simulator.stats()
        self.assertEqual((stats["accepted"], stats["duplicates"]), (20000, 0))
        self.assertEqual(stats["send_requests"], 40, "one text: 500 recipients per request")
        self.env.invalidate_all()
        self.assertEqual(mailing.sent, 20000)
        self.assertEqual(mailing.state, "done")

    def test_dispatch_batches_hold_2000_sms_or_512_requests(self):
        """Identical texts: 2,000 SMS a batch (4 requests of 500 recipients). Personalised texts (one request each):
        512 a batch, so that a second dispatcher finds batches to claim until the end (issue #21). The first batch of
        a run is a quarter of that: its requests go out while nothing is being written yet. Towards the end a batch
        holds about half of the requests left, in whole rounds of 64, so that two dispatchers finish together."""
        sms = self.env["sms.sms"].with_context(sms_africastalking_dispatch=True)
        personalised = sms.create([{"number": "+2547300%05d" % index, "body": "Hi %d" % index}
                                   for index in range(1200)])
        self.assertEqual([len(batch) for batch in personalised._split_batch()],
                         [128, 512, 320, 128, 64, 48])
        broadcast = sms.create([{"number": "+2547400%05d" % index, "body": "Exams on Monday"}
                                for index in range(2600)])
        self.assertEqual([len(batch) for batch in broadcast._split_batch()], [500, 2000, 100])
        mixed = (personalised[:300] | broadcast[:2000]).sorted("id")
        self.assertEqual([len(batch) for batch in mixed._split_batch()], [128, 128, 2000, 44], "the 300 texts alone "
                         "are 300 requests, with 4 for the 2,000 numbers of the other text: 304, then 176 left")

    def test_dispatch_run_keeps_its_gateway_open_from_batch_to_batch(self):
        """The batches of one run share the gateway's sending threads and their kept-alive connections: at most
        the account's concurrency in connections for the whole run, not that many per batch (issue #21). (One more:
        the balance refresh that follows a run.)"""
        self.account.concurrency = 4
        self.env["sms.sms"].create([{"number": "+2547300%05d" % index, "body": "Hi %d" % index}
                                    for index in range(700)])  # 3 batches: 128, 512, 60 requests
        self.run_sms_queue()
        stats = self.simulator.stats()
        self.assertEqual((stats["send_requests"], stats["accepted"], stats["duplicates"]), (700, 700, 0))
        self.assertLessEqual(stats["connections"], 4 + 1)

    def test_sms_table_fillfactor_set_and_reset_on_uninstall(self):
        """Room for in-place updates of queued SMS; uninstalling gives the table PostgreSQL's default back."""
        def reloptions():
            self.env.cr.execute("SELECT reloptions FROM pg_class WHERE relname = 'sms_sms'")
            return self.env.cr.fetchone()[0]

        self.assertIn("fillfactor=%d" % SMS_TABLE_FILLFACTOR, reloptions())
        uninstall_hook(self.env)  # DDL is transactional: the test's rollback restores the option
        self.assertFalse(reloptions())

    def test_indexes_on_stock_tables_dropped_on_uninstall(self):
        """The indexes init() adds to stock's tables go with the addon."""
        def indexes():
            self.env.cr.execute("SELECT indexname FROM pg_indexes WHERE indexname = ANY(%s)",
                                (["mailing_subscription_list_contact_idx", "mailing_contact_phone_sanitized_idx"],))
            return {row[0] for row in self.env.cr.fetchall()}

        self.assertEqual(len(indexes()), 2)
        uninstall_hook(self.env)  # rolled back with the test
        self.assertEqual(indexes(), set())

    def test_claim_and_answer_update_each_sms_in_place(self):
        """The claim and the write-back each write a new version of every SMS: the fillfactor leaves room for both
        on the row's page, so that neither update writes into the table's indexes (a "HOT" update keeps the row on
        its page). In one transaction nothing is pruned in between, as in a dispatch run, where the write-back of
        the previous batch still holds a snapshot older than the claim."""
        def pages():
            self.env.flush_all()
            self.env.cr.execute("SELECT id, (ctid::text::point)[0] FROM sms_sms WHERE id = ANY(%s) ORDER BY id",
                                (sms.ids,))
            return self.env.cr.fetchall()

        sms = self.env["sms.sms"].create([
            {"number": "+2547500%05d" % index, "body": "Exams start on Monday at 08:00. Check the timetable on the "
                                                        "portal."} for index in range(200)])
        inserted = pages()
        claimed = sms._africastalking_claim()
        self.assertEqual(claimed, sms)
        written = claimed._africastalking_mark_accepted(
            [SendResult(number=s.number, key=s.uuid, state=SUCCESS, message_id="ATXid_%s" % s.uuid, status="Success")
             for s in claimed], unlink_sent=True)
        self.assertEqual(written, set(sms.mapped("uuid")))
        self.assertEqual(set(sms.mapped("state")), {"pending"})
        self.assertEqual(pages(), inserted)

    def test_prepare_rules_match_stock(self):
        """Blacklisted, opted-out, duplicate, invalid and missing numbers are cancelled with stock's reasons."""
        contacts = self.mailing_list.contact_ids.sorted("id")
        contacts[0].mobile = "not a phone"
        contacts[1].mobile = False
        self.env["phone.blacklist"].sudo().add(contacts[2].mobile)
        self.mailing_list.subscription_ids.filtered(lambda s: s.contact_id == contacts[3]).opt_out = True
        duplicate = self.env["mailing.contact"].create({"name": "Twin", "mobile": contacts[3].mobile,
                                                        "list_ids": [Command.link(self.mailing_list.id)]})
        first = self.env["mailing.contact"].create({"name": "Ok", "mobile": "+254733000001",
                                                    "list_ids": [Command.link(self.mailing_list.id)]})
        mailing = self.create_sms_mailing(body="Hi {{ object.name }}")
        estimate = mailing._get_sms_cost_estimate()
        self.assertEqual((estimate["recipients"], estimate["excluded"]), (
            1, {"invalid": 2, "blacklist": 1, "optout": 1, "duplicate": 1}), "the estimate applies the same rules")
        self.send_mailing(mailing)
        by_contact = {trace.res_id: (trace.trace_status, trace.failure_type) for trace in mailing.mailing_trace_ids}
        self.assertEqual(by_contact, {
            contacts[0].id: ("cancel", "sms_number_format"),
            contacts[1].id: ("cancel", "sms_number_missing"),
            contacts[2].id: ("cancel", "sms_blacklist"),
            contacts[3].id: ("cancel", "sms_optout"),
            duplicate.id: ("cancel", "sms_duplicate"),  # as stock: the first record of a number wins
            first.id: ("pending", False),
        })
        self.assertSentOnce(first.mobile, "Hi Ok")

    def test_preparation_resumes_without_duplicates(self):
        """A crash after some chunks were committed: the next run prepares only the recipients left."""
        mailing_list = self._big_list(30)
        mailing = self.create_sms_mailing(contact_list_ids=[Command.set(mailing_list.ids)])
        mailing.action_put_in_queue()
        remaining = mailing._get_remaining_recipients()
        self.env.flush_all()
        mailing.sudo()._africastalking_prepare_chunk(remaining[:12], mailing_mailing_prepare._PrepareContext(mailing))
        self.assertEqual(len(mailing.mailing_trace_ids), 12)
        mailing.sudo().action_send_sms()
        self.run_sms_queue()
        self.assertEqual(len(mailing.mailing_trace_ids), 30)
        self.assertEqual(len(set(mailing.mailing_trace_ids.mapped("res_id"))), 30)
        for contact in mailing_list.contact_ids:
            self.assertSentOnce(contact.mobile)
        self.assertEqual(self.simulator.stats()["duplicates"], 0, self.simulator.stats())

    def test_interleaved_preparations_skip_what_the_other_traced(self):
        """Two preparations of one mailing taking turns: each chunk skips the recipients the other one traced,
        also after a chunk of its own (when it would otherwise assume it is alone)."""
        mailing_list = self._big_list(30)
        mailing = self.create_sms_mailing(contact_list_ids=[Command.set(mailing_list.ids)]).sudo()
        mailing.action_put_in_queue()
        self.env.flush_all()
        remaining = mailing._get_remaining_recipients()
        first, second = (mailing_mailing_prepare._PrepareContext(mailing),
                         mailing_mailing_prepare._PrepareContext(mailing))
        for context, chunk in ((first, remaining[:10]), (first, remaining[10:15]), (second, remaining[:20]),
                               (first, remaining[15:30]), (second, remaining[20:30])):
            mailing._africastalking_prepare_chunk(mailing._africastalking_lock_untraced(chunk, context), context)
        self.assertEqual(sorted(mailing.mailing_trace_ids.mapped("res_id")), sorted(remaining))
        self.run_sms_queue()
        for contact in mailing_list.contact_ids:
            self.assertSentOnce(contact.mobile)

    def test_estimate_of_a_resumed_mailing_counts_traced_numbers_as_duplicates(self):
        """The estimate before a resumed run and the run itself treat a number already traced alike."""
        mailing_list = self._big_list(10)
        mailing = self.create_sms_mailing(contact_list_ids=[Command.set(mailing_list.ids)])
        mailing.action_put_in_queue()
        self.env.flush_all()
        remaining = mailing._get_remaining_recipients()
        mailing.sudo()._africastalking_prepare_chunk(remaining[:4], mailing_mailing_prepare._PrepareContext(mailing))
        traced = self.env["mailing.contact"].browse(remaining[0])
        twin = self.env["mailing.contact"].create({"name": "Twin", "mobile": traced.mobile,
                                                   "list_ids": [Command.link(mailing_list.id)]})
        estimate = mailing._get_sms_cost_estimate()
        self.assertEqual((estimate["recipients"], estimate["excluded"]), (6, {"duplicate": 1}))
        mailing.sudo().action_send_sms()
        twin_trace = mailing.mailing_trace_ids.filtered(lambda trace: trace.res_id == twin.id)
        self.assertEqual((twin_trace.trace_status, twin_trace.failure_type), ("cancel", "sms_duplicate"))

    def test_fast_rendering_equals_odoo_rendering(self):
        """Plain field paths are rendered without safe_eval, with exactly Odoo's result; anything else by Odoo."""
        partners = self.partners | self.env["res.partner"].create({"name": "No Phone", "ref": False})
        partners[0].parent_id = self.env["res.partner"].create({"name": "Kenyatta University", "is_company": True})
        templates = [
            "Hi {{ object.name }}",
            "{{ object.name }} of {{ object.parent_id.name }} ({{ object.ref }}) {{ object.parent_id }}",
            "Colour {{ object.color }} / {{ object.id }} / {{ object.active }}",
            "Upper {{ object.name.upper() }}",
            "Default {{ object.ref or 'none' }}",
        ]
        mailing = self.env["mailing.mailing"]
        for template in templates:
            expected = self.env["mail.render.mixin"]._render_template(template, "res.partner", partners.ids)
            self.assertEqual(mailing._africastalking_render(template, "res.partner", partners.ids), expected,
                             template)

    def test_remaining_recipients_as_stock_lists_them(self):
        """The recipients read from a server-side cursor are stock's: the domain's records in the model's order,
        less those the mailing traced (a resumed preparation)."""
        mailing_list = self._big_list(25)
        self.env["mailing.contact"].create({"name": "Aaron", "mobile": "+254733000009",
                                            "list_ids": [Command.link(mailing_list.id)]})
        mailing = self.create_sms_mailing(contact_list_ids=[Command.set(mailing_list.ids)])
        model = self.env["mailing.contact"]
        expected = model.search(mailing._parse_mailing_domain()).ids
        self.assertEqual(mailing._get_remaining_recipients(), expected)
        with patch.object(mailing_mailing_prepare, "RECIPIENTS_FETCH_SIZE", 4):
            self.assertEqual(mailing._get_remaining_recipients(), expected, "fetched in batches")
        mailing.sudo()._africastalking_prepare_chunk(expected[3:9], mailing_mailing_prepare._PrepareContext(mailing))
        self.assertEqual(mailing._get_remaining_recipients(), expected[:3] + expected[9:])

    def test_stale_statistics_are_refreshed_before_a_big_send(self):
        """A table PostgreSQL believes smaller than the recipients about to be read is analyzed first."""
        mailing_list = self._big_list(30)
        mailing = self.create_sms_mailing(contact_list_ids=[Command.set(mailing_list.ids)])
        self.env.cr.execute("SELECT count(*) FROM mailing_contact")
        count = self.env.cr.fetchone()[0]
        with patch.object(mailing_mailing_prepare, "STATISTICS_MIN_RECIPIENTS", 1):
            mailing._africastalking_fresh_statistics(10 ** 9)  # more than any estimate, whatever earlier tests left
        self.env.cr.execute("SELECT reltuples FROM pg_class WHERE relname = 'mailing_contact'")
        self.assertEqual(self.env.cr.fetchone()[0], count)

    def test_placeholder_columns_read_in_one_query(self):
        """``{{ object.<char/text/integer/selection field> }}`` placeholders are read with one query whatever the
        number of records, with Odoo's result (falsy values render as nothing)."""
        contacts = self.env["mailing.contact"].create([{"name": "Student %d" % index, "mobile": False}
                                                       for index in range(40)] + [{"name": False}])
        template = "Hi {{ object.name }} ({{ object.id }}), {{ object.mobile }}!"
        mailing = self.env["mailing.mailing"]
        self.assertEqual(mailing._africastalking_sql_render_fields("mailing.contact", ["object.name", "object.id"]),
                         ["name", "id"])
        self.assertIsNone(mailing._africastalking_sql_render_fields("res.partner", ["object.active"]))
        self.assertIsNone(mailing._africastalking_sql_render_fields("res.partner", ["object.parent_id.name"]))
        counts = []
        for records in (contacts[:3], contacts):
            self.env.invalidate_all()
            expected = self.env["mail.render.mixin"]._render_template(template, "mailing.contact", records.ids)
            self.env.invalidate_all()
            queries = self.env.cr.sql_log_count
            self.assertEqual(mailing._africastalking_render(template, "mailing.contact", records.ids), expected)
            counts.append(self.env.cr.sql_log_count - queries)
        self.assertEqual(counts[0], counts[1], "the query count does not grow with the records")

    def test_placeholder_columns_follow_record_rules(self):
        """A record the text's author may not read is refused as Odoo's renderer refuses it, not read with SQL."""
        other = self.env["res.company"].create({"name": "Other campus"})
        hidden = self.env["res.partner"].create({"name": "Hidden", "company_id": other.id})
        user = self.user_marketing
        ids = (self.partners[0] | hidden).ids
        outcomes = []
        for render in (self.env["mailing.mailing"].with_user(user)._africastalking_render,
                       self.env["mail.render.mixin"].with_user(user)._render_template):
            self.env.invalidate_all()
            try:
                with mute_logger("odoo.addons.mail.models.mail_render_mixin"):
                    outcomes.append(render("Hi {{ object.name }}", "res.partner", ids))
            except UserError:  # AccessError included: Odoo's renderer wraps it in its own UserError
                outcomes.append(UserError)
        self.assertEqual(outcomes, [UserError, UserError])
        self.assertEqual(self.env["mailing.mailing"].with_user(user)._africastalking_render(
            "Hi {{ object.name }}", "res.partner", ids[:1]), {ids[0]: "Hi %s" % self.partners[0].name})

    def test_keep_archives_logs_on_recipients(self):
        mailing = self.create_sms_mailing(body="Results are out", keep_archives=True)
        self.send_mailing(mailing)
        contact = self.mailing_list.contact_ids[0]
        logged = contact.message_ids.filtered(lambda m: m.message_type == "sms")
        self.assertEqual(len(logged), 1)
        self.assertIn("Results are out", logged.body)

    ARCHIVE_TEXTS = ["Results are out", "a < b & c > \"d\" 'e'\nline 2\r\nline 3 😀 é\u00a0", "  <b>not bold</b> &amp;",
                     "Go https://example.com/r/Ab3/s/12 now\n\nSTOP: https://example.com/sms/3/a?b=1&c=2", ""]
    # What differs between two batches of stock's _message_log_batch: the ids, the batch's message-id and time
    PER_BATCH = {"id", "res_id", "message_id", "date", "create_date", "write_date"}

    def _archive_rows(self, contacts):
        self.env.flush_all()
        self.env.cr.execute("SELECT * FROM mail_message WHERE model = 'mailing.contact' AND res_id = ANY(%s) "
                            "AND message_type = 'sms' ORDER BY id", [contacts.ids])
        names = [column.name for column in self.env.cr.description]
        return [dict(zip(names, row, strict=True)) for row in self.env.cr.fetchall()]

    def _log_archives(self, use_sql, texts):
        contacts = self.env["mailing.contact"].create([{"name": "Archive %s" % i} for i in range(len(texts))])
        mailing = self.create_sms_mailing(body="Results are out", keep_archives=True)
        mailing._africastalking_log_archives(contacts.ids, dict(zip(contacts.ids, texts, strict=True)), use_sql=use_sql)
        return contacts, self._archive_rows(contacts)

    def test_keep_archives_sql_rows_are_stock_rows(self):
        """The notes copied with SQL are, column by column, those stock's _message_log_batch creates."""
        self.assertTrue(self.env["mailing.mailing"]._africastalking_archive_sql_possible())
        orm_contacts, orm_rows = self._log_archives(False, self.ARCHIVE_TEXTS)
        sql_contacts, sql_rows = self._log_archives(True, self.ARCHIVE_TEXTS)
        self.assertEqual([row["res_id"] for row in orm_rows], orm_contacts.ids)
        self.assertEqual([row["res_id"] for row in sql_rows], sql_contacts.ids)
        for orm_row, sql_row in zip(orm_rows, sql_rows, strict=True):
            self.assertEqual({k: v for k, v in sql_row.items() if k not in self.PER_BATCH},
                             {k: v for k, v in orm_row.items() if k not in self.PER_BATCH})
        for rows in (orm_rows, sql_rows):  # one batch: one message-id, as stock gives
            self.assertEqual(len({row["message_id"] for row in rows}), 1)
        self.assertIn("&lt;b&gt;not bold", sql_rows[2]["body"])
        # No partner linked nor notified; the documents' chatter shows the notes (cache invalidated)
        self.env.cr.execute("SELECT count(*) FROM mail_message_res_partner_rel WHERE mail_message_id = ANY(%s)",
                            [[row["id"] for row in sql_rows]])
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.assertEqual(sql_contacts[1].message_ids.filtered(lambda m: m.message_type == "sms").body,
                         orm_contacts[1].message_ids.filtered(lambda m: m.message_type == "sms").body)

    def test_keep_archives_bodies_by_shape_are_sanitized(self):
        """Texts of one mailing differ by a name, a tracked link's SMS id, an opt-out code: the SQL copy sanitizes
        such texts once per shape (tools.archive_bodies), and stores for each what the ORM stores."""
        names = ["Student 12", "Amina Njeri", "Student 13", "Jean-Pierre O'Neil", "www", "https", "Ana", "",
                 "<b>Bo</b>", "a\n> quoted", "--\nsig", "javascript", "x.example.com/evil", "é", "Zoë", "42",
                 "Qz0x9zQ", "Student 14"]
        texts = ["Hello %s, results: https://example.com/r/Ab3/s/%d\nSTOP: https://example.com/sms/3/%s"
                 % (name, 100 + index, "c0De%d" % (index * 37)) for index, name in enumerate(names)]
        _orm_contacts, orm_rows = self._log_archives(False, texts)
        _sql_contacts, sql_rows = self._log_archives(True, texts)
        self.assertEqual([row["body"] for row in sql_rows], [row["body"] for row in orm_rows])
        self.assertIn("Hello Amina Njeri, results", sql_rows[1]["body"])

    def test_keep_archives_notes_written_with_the_batches(self):
        """The preparation copies the notes batch by batch with the SMS: one note per recipient, its body what the
        ORM stores for the text the recipient got (opt-out code, tracked link's SMS id and name included)."""
        mailing_list = self.env["mailing.list"].create({"name": "Archived", "contact_ids": [
            Command.create({"name": name, "mobile": "+2547110000%02d" % index})
            for index, name in enumerate(["Ann", "Bo Li", "O'Neil", "Ann", "<b>Eve</b>", "Zoë", "Kim 2"])]})
        mailing = self.create_sms_mailing(
            body="Hi {{ object.name }}, see https://school.example.com/results", keep_archives=True,
            sms_allow_unsubscribe=True, contact_list_ids=[Command.set(mailing_list.ids)])
        with patch.object(mailing_mailing_prepare, "COPY_BATCH_SIZE", 3):
            self.send_mailing(mailing)
        body_field = self.env["mail.message"]._fields["body"]
        for contact in mailing_list.contact_ids:
            sms = self.env["sms.sms"].search([("mailing_id", "=", mailing.id), ("number", "=", contact.mobile)])
            notes = contact.message_ids.filtered(lambda m: m.message_type == "sms")
            self.assertEqual(len(notes), 1)
            self.assertIn("/s/%d" % sms.id, sms.body)
            self.assertEqual(notes.body, body_field.convert_to_column(sms_content_to_rendered_html(sms.body), notes))

    def test_keep_archives_queries_do_not_grow_with_recipients(self):
        counts = []
        for size in (1, 3, 40):  # the first call reads what the ORM then caches (modules, subtype, author)
            contacts = self.env["mailing.contact"].create([{"name": "Archive %s" % i} for i in range(size)])
            mailing = self.create_sms_mailing(body="Results are out", keep_archives=True)
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            mailing._africastalking_log_archives(contacts.ids, dict.fromkeys(contacts.ids, "Results are out"))
            counts.append(self.env.cr.sql_log_count - before)
        self.assertEqual(counts[1], counts[2], "one INSERT whatever the number of recipients")
        self.assertLessEqual(counts[2], 4, "the ORM's message for the first recipient, then one INSERT ... SELECT")


@tagged("post_install", "-at_install")
class TestTwoDispatchers(TransactionCase):
    """Two SMS queue workers, each with its own database connection and commits, as two cron threads or servers.

    Their data is committed through separate cursors (and removed afterwards): the test's own transaction holds
    nothing they need, so no lock is shared with it.
    """

    COUNT = 600

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = ATSimulator(accounts={SIM_USERNAME: SIM_API_KEY}).start()
        cls.addClassCleanup(cls.simulator.stop)

    def setUp(self):
        super().setUp()
        self.simulator.reset()  # every test sends to the same numbers: counted once per test
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["ir.config_parameter"].set_param("sms_africastalking.dispatch_batch_size", "40")
            env["africastalking.account"].search([]).active = False
            account = env["africastalking.account"].create({
                "name": "Dispatch test", "environment": "custom", "api_url": self.simulator.url,
                "username": SIM_USERNAME, "api_key": SIM_API_KEY, "timeout": 5, "company_id": env.company.id})
            sms = env["sms.sms"].create([{"number": "+2547200%05d" % index, "body": "Hostel %d" % (index % 7),
                                          "company_id": env.company.id} for index in range(self.COUNT)])
            self.sms_ids, self.account_id = sms.ids, account.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            sms = env["sms.sms"].browse(self.sms_ids).exists()
            env["africastalking.message"].search([("sms_uuid", "in", sms.mapped("uuid"))]).unlink()
            sms.unlink()
            env["africastalking.account"].browse(self.account_id).unlink()
            env["africastalking.account"].search([("active", "=", False)]).active = True
            env["ir.config_parameter"].set_param("sms_africastalking.dispatch_batch_size", False)

    def test_two_dispatchers_send_each_sms_once(self):
        errors = []
        threads = [threading.Thread(target=self._committing_dispatcher(errors)) for _index in range(2)]
        # A claim that loses the race to the other worker is expected, never logged as a failed query
        with self.assertNoLogs("odoo.sql_db", level="ERROR"):
            for thread in threads:
                thread.start()
            for thread in threads:
                chaos.finish(thread)
        self.assertFalse(errors)
        sql_logger = logging.getLogger("odoo.sql_db")
        self.assertTrue(sql_logger.propagate and not any(isinstance(handler, mute_logger)
                                                         for handler in sql_logger.handlers),
                        "the SQL logger is left as it was")
        stats = self.simulator.stats()
        self.assertEqual((stats["accepted"], stats["duplicates"]), (self.COUNT, 0))
        numbers = {message["number"] for message in self.simulator.messages}
        self.assertEqual(len(numbers), self.COUNT, "every number received its SMS exactly once")
        with self.registry.cursor() as cr:
            cr.execute("SELECT state, count(*) FROM sms_sms WHERE id = ANY(%s) GROUP BY state", (self.sms_ids,))
            self.assertEqual(dict(cr.fetchall()), {"pending": self.COUNT})

    def _committing_dispatcher(self, errors):
        """A dispatcher for a thread of its own (a cron worker's: not the test's), running the SMS queue as its cron
        does on its own cursor; its exception lands in ``errors``."""
        def dispatcher():
            try:
                with self.registry.cursor() as cr:
                    api.Environment(cr, SUPERUSER_ID, {})["sms.sms"]._process_queue(ids=self.sms_ids)
            except Exception as exc:  # noqa: BLE001 - reported to the test thread
                errors.append(exc)

        return dispatcher

    def _dispatch_alone(self):
        """One committing dispatcher, as the SMS queue cron runs it."""
        errors = []
        thread = threading.Thread(target=self._committing_dispatcher(errors))
        thread.start()
        chaos.finish(thread)
        self.assertFalse(errors)

    def _states(self):
        with self.registry.cursor() as cr:
            cr.execute("SELECT state, count(*) FROM sms_sms WHERE id = ANY(%s) GROUP BY state", (self.sms_ids,))
            return dict(cr.fetchall())

    def test_answers_written_while_the_next_batch_is_sent(self):
        """A batch's answers are written on a cursor of their own while the dispatcher claims and sends the next
        batch (issue #21: the database writes overlap the requests); every SMS once, every answer logged."""
        SmsSms = self.registry["sms.sms"]
        write_back, writers = SmsSms._africastalking_write_back, set()

        def spy(records, *args, **kwargs):
            writers.add(threading.current_thread().name)
            return write_back(records, *args, **kwargs)

        with patch.object(SmsSms, "_africastalking_write_back", spy):
            self._dispatch_alone()
        self.assertEqual(writers, {"sms-dispatch-write-back"})
        self.assertEqual(self._states(), {"pending": self.COUNT})
        self.assertEqual((self.simulator.stats()["accepted"], self.simulator.stats()["duplicates"]), (self.COUNT, 0))
        with self.registry.cursor() as cr:
            cr.execute("SELECT count(*), count(DISTINCT sms_uuid) FROM africastalking_message m "
                       "JOIN sms_sms s ON s.uuid = m.sms_uuid WHERE s.id = ANY(%s)", (self.sms_ids,))
            self.assertEqual(cr.fetchone(), (self.COUNT, self.COUNT))

    def test_failed_write_back_stops_the_run_after_writing_the_batch_sent_meanwhile(self):
        """A write-back that fails stops the run as the sequential dispatch did; the batch sent meanwhile is written
        (its answers are known), only the failed batch stays claimed for the stale-claim recovery."""
        SmsSms = self.registry["sms.sms"]
        write_back, calls = SmsSms._africastalking_write_back, []

        def failing_first(records, *args, **kwargs):
            calls.append(len(records))
            if len(calls) == 1:
                raise RuntimeError("database gone")
            return write_back(records, *args, **kwargs)

        with patch.object(SmsSms, "_africastalking_write_back", failing_first), \
                mute_logger("odoo.addons.sms.models.sms_sms"):
            self._dispatch_alone()
        self.assertEqual(calls, [10, 40], "the first batch of a run is a quarter of the others")
        self.assertEqual(self._states(), {"process": 10, "pending": 40, "outgoing": self.COUNT - 50})
        self.assertEqual(self.simulator.stats()["duplicates"], 0)
