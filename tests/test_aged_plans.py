"""A mailing's reads stay lookups of its own recipients on a database that holds a year of lists.

The benchmark's aged database (10 earlier mailings of 100,000) showed the preparation and the estimate reading every
contact and every subscription of every list ever imported: the duplicate lookup joined its ids to the contacts in a
merge join over the whole primary key, and lists' members were found by scanning all subscriptions (Odoo's only
index there leads with the contact). These tests ask PostgreSQL for the plans of the statements the preparation
runs, on a contact table many times the mailing's size, with fresh statistics as autovacuum keeps them.
"""
import json
from contextlib import contextmanager
from unittest.mock import patch

from odoo import Command
from odoo.sql_db import Cursor
from odoo.tests import tagged
from odoo.tools import SQL

from ..models.recipient_rules import RecipientRules
from ..models.sms_sms import CLAIM_QUERY, DISPATCH_BATCH_SIZE
from ..tools.at_callbacks import DeliveryReport
from .common import AfricasTalkingCase

# Contacts of the earlier lists: many times the mailing's, as a school's database after a year
EARLIER_CONTACTS = 100000
MAILING_CONTACTS = 1500
WATCHED_TABLES = ("mailing_contact", "mailing_subscription")
# Messages of earlier mailings, all delivered when autovacuum analyzed the log; then a new mailing's, still open
DELIVERED_MESSAGES = 20000
OPEN_MESSAGES = 500


@tagged("post_install", "-at_install")
class TestAgedDatabasePlans(AfricasTalkingCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        earlier = cls.env["mailing.list"].create({"name": "Last year's parents"})
        cls.env["mailing.list"].flush_model()
        cr = cls.env.cr
        for list_id, first, count in ((earlier.id, 100000, EARLIER_CONTACTS),
                                      (cls.mailing_list.id, 500000, MAILING_CONTACTS)):
            cr.execute(
                """
                WITH contacts AS (
                    INSERT INTO mailing_contact (name, mobile, phone_sanitized, create_date, write_date)
                    SELECT 'Parent ' || n, '+254733' || n, '+254733' || n, now(), now()
                      FROM generate_series(%s, %s) n
                 RETURNING id)
                INSERT INTO mailing_subscription (contact_id, list_id, opt_out, create_date, write_date)
                SELECT id, %s, false, now(), now() FROM contacts
                """, (first, first + count - 1, list_id))
        cr.execute("ANALYZE mailing_contact")
        cr.execute("ANALYZE mailing_subscription")

    @contextmanager
    def _statements(self):
        """The statements run inside the block, as sent to PostgreSQL."""
        seen = []
        execute = Cursor.execute

        def spy(cr, query, params=None, log_exceptions=True):
            if isinstance(query, SQL):
                query, params = query.code, query.params
            seen.append(cr.mogrify(query, params).decode())
            return execute(cr, query, params, log_exceptions)

        with patch.object(Cursor, "execute", spy):
            yield seen

    def _full_reads(self, statement, tables):
        """The scans of ``tables`` in ``statement``'s plan that read the whole table or index (a sequential scan, or
        an index scan without a condition on its leading key)."""
        self.env.cr.execute("EXPLAIN (FORMAT JSON) " + statement)
        plan = self.env.cr.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        found = []

        def walk(node):
            if node.get("Relation Name") in tables:
                index = node.get("Index Name") or ""
                whole = node["Node Type"] == "Seq Scan" or (
                    "Index" in node["Node Type"] and not node.get("Index Cond")) or (
                    index == "mailing_subscription_unique_contact_list"
                    and not node.get("Index Cond", "").startswith("(contact_id"))
                if whole:
                    found.append("%s on %s %s" % (node["Node Type"], node["Relation Name"], index))
            for child in node.get("Plans", ()):
                walk(child)

        walk(plan[0]["Plan"])
        return found

    def test_preparation_reads_only_its_recipients(self):
        # An SMS manager's mailing, as the mass-mailing cron prepares it (a marketing user's adds their team rules to
        # the recipients query: mailing_mailing_audience.py)
        mailing = self.env["mailing.mailing"].create({
            "subject": "Term", "mailing_type": "sms", "body_plaintext": "Hi {{ object.name }}, the term starts soon.",
            "mailing_model_id": self.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.link(self.mailing_list.id)],
        })
        with self._statements() as statements:
            recipients = mailing._get_remaining_recipients()
            RecipientRules.for_mailing(mailing).dedupe_by_position(mailing._sms_first_positions(recipients))
        self.mailing_list.invalidate_recordset()
        self.assertEqual(len(recipients), len(self.mailing_list.contact_ids))
        selects = [statement for statement in statements
                   if statement.lstrip().upper().startswith(("SELECT", "DECLARE"))
                   and any(table in statement for table in WATCHED_TABLES)]
        self.assertTrue(any("min(r.position)" in statement for statement in selects), selects)
        for statement in selects:
            if statement.lstrip().upper().startswith("DECLARE"):
                statement = statement.split(" FOR ", 1)[1]
            # The recipients themselves may be read by a scan of the contacts when they are many of them (the
            # planner's choice); the duplicate lookup, given their ids, must look them up.
            tables = WATCHED_TABLES if "min(r.position)" in statement else ("mailing_subscription",)
            full_reads = self._full_reads(statement, tables)
            if full_reads:
                self.env.cr.execute("EXPLAIN " + statement)
                self.fail("%s in\n%s\n%s" % (full_reads, statement[:1500], "\n".join(
                    row[0] for row in self.env.cr.fetchall())))

    def _quadratic_joins(self, statement):
        """The nested loops of ``statement``'s plan that compare every row of one side with every row of the other
        (a join filter instead of an index lookup)."""
        self.env.cr.execute("EXPLAIN (FORMAT JSON) " + statement)
        plan = self.env.cr.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        found = []

        def walk(node):
            if node["Node Type"] == "Nested Loop" and node.get("Join Filter"):
                found.append(node["Join Filter"])
            for child in node.get("Plans", ()):
                walk(child)

        walk(plan[0]["Plan"])
        return found

    def test_reports_find_open_messages_when_statistics_say_none_is_open(self):
        """Autovacuum analyzed the message log after the last mailing was delivered: PostgreSQL believes no message
        is open. The next mailing's reports must still be matched by one index lookup each (the former statement
        compared each report with each message found: half a minute per batch at 100,000)."""
        cr = self.env.cr
        batches = ((0, DELIVERED_MESSAGES, "delivered"), (DELIVERED_MESSAGES, OPEN_MESSAGES, "pending"))
        for first, count, state in batches:
            cr.execute(
                """
                INSERT INTO africastalking_message (account_id, company_id, number, at_message_id, state, cost,
                                                    currency, parts, create_date, write_date)
                SELECT %s, %s, '+254711' || lpad(n::text, 6, '0'), 'ATXid_aged_' || n, %s, 0.8, 'KES', 1, now(), now()
                  FROM generate_series(%s, %s) n
                """, (self.account.id, self.account.company_id.id, state, first, first + count - 1))
            if state == "delivered":
                cr.execute("ANALYZE africastalking_message")
        reports = [DeliveryReport(message_id="ATXid_aged_%d" % n, status="Success",
                                  phone_number="+254711%06d" % n)
                   for n in range(DELIVERED_MESSAGES, DELIVERED_MESSAGES + OPEN_MESSAGES)]
        with self._statements() as statements:
            self.env["africastalking.message"]._apply_delivery_reports(self.account, reports)
        updates = [statement for statement in statements if "UPDATE africastalking_message" in statement]
        self.assertTrue(updates, "the reports are applied by an UPDATE of the log")
        for statement in updates:
            cr.execute("EXPLAIN " + statement)
            plan = "\n".join(row[0] for row in cr.fetchall())
            self.assertEqual(self._quadratic_joins(statement), [], plan)
        cr.execute("SELECT count(*) FROM africastalking_message WHERE at_message_id LIKE 'ATXid_aged_%%' "
                   "AND state = 'delivered'")
        self.assertEqual(cr.fetchone()[0], DELIVERED_MESSAGES + OPEN_MESSAGES)

    def test_claim_locks_by_ids_when_the_queue_was_analyzed_empty(self):
        """Odoo's daily garbage collection empties sms_sms and autovacuum then analyzes it: the next mailing's SMS
        are claimed while PostgreSQL still believes the table empty. The claim must look its SMS up by id (the
        former semi-join ran its locking subquery once per SMS of the table: minutes per batch at 100,000)."""
        cr = self.env.cr
        cr.execute("DELETE FROM sms_sms")
        cr.execute("ANALYZE sms_sms")
        cr.execute("""
            INSERT INTO sms_sms (uuid, number, body, state, create_date, write_date)
            SELECT md5('aged-claim-' || n), '+254711' || lpad(n::text, 6, '0'), 'Term starts', 'outgoing', now(), now()
              FROM generate_series(1, %s) n RETURNING id""", (DELIVERED_MESSAGES // 4,))
        ids = sorted(row[0] for row in cr.fetchall())[:DISPATCH_BATCH_SIZE]
        statement = cr.mogrify(CLAIM_QUERY, (ids,)).decode()
        self.assertEqual(self._quadratic_joins(statement), [], statement[:300])
        self.assertEqual(len(self.env["sms.sms"].browse(ids)._africastalking_claim()), len(ids))
