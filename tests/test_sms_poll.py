"""SMS polls (issue #19): votes counted per answer from the mailing's recipients, repeated and late votes, the
graph and the export, access per role."""

import csv
import io
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged

from .common import AfricasTalkingHttpCase
from .test_sms_consent import JsonRpcMixin
from .test_sms_keywords import KeywordCaseMixin

STUDENTS = ["+254722000000", "+254722000001", "+254722000002", "+254722000003"]


@tagged("post_install", "-at_install")
class TestSmsPoll(JsonRpcMixin, KeywordCaseMixin, AfricasTalkingHttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_marketing.password = "marketing_mary"
        cls.portal = cls.env["res.users"].create({
            "name": "Pat Portal", "login": "pat_poll", "password": "pat_poll",
            "groups_id": [Command.set([cls.env.ref("base.group_portal").id])]})
        cls.internal = cls.env["res.users"].create({
            "name": "Ivy Internal", "login": "ivy_poll", "password": "ivy_poll",
            "groups_id": [Command.set([cls.env.ref("base.group_user").id])]})

    def setUp(self):
        super().setUp()
        self.mailing = self.create_sms_mailing(body="Parents' meeting: reply 1 for Saturday, 2 for Sunday.")
        self.poll = self.env["sms.poll"].with_user(self.user_marketing).create({
            "name": "Meeting day", "mailing_id": self.mailing.id, "window_hours": 48,
            "answer_ids": [Command.create({"code": "1", "name": "Saturday"}),
                           Command.create({"code": "2", "name": "Sunday"})],
        })
        self.saturday, self.sunday = self.poll.answer_ids

    def counts(self):
        return {answer.name: answer.vote_count for answer in self.poll.answer_ids}

    def vote_of(self, number):
        return self.env["sms.poll.vote"].search([("poll_id", "=", self.poll.id), ("number", "=", number)])

    def test_votes_counted_per_answer(self):
        self.sms_in(STUDENTS[0], "1")
        self.assertFalse(self.vote_of(STUDENTS[0]), "before the mailing is sent, a '1' is no vote")
        self.send_mailing(self.mailing)
        self.sms_in(STUDENTS[0], "1")
        self.sms_in(STUDENTS[1], " 2. ")
        inbound = self.sms_in(STUDENTS[2], "1!")
        self.assertEqual(inbound.sms_poll_answer_id, self.saturday)
        self.assertFalse(inbound.sms_keyword_id)
        stranger = self.sms_in("+254733000099", "2")
        self.assertFalse(stranger.sms_poll_answer_id, "a number the mailing was not sent to does not vote")
        self.sms_in(STUDENTS[3], "maybe 1")  # not an answer code: an ordinary message
        self.assertEqual(self.counts(), {"Saturday": 2, "Sunday": 1})
        self.assertEqual(self.mailing.sms_poll_vote_count, 3)
        self.assertEqual(self.vote_of(STUDENTS[1]).trace_id.sms_number, STUDENTS[1])

    def test_repeated_votes_last_answer_wins(self):
        self.send_mailing(self.mailing)
        self.sms_in(STUDENTS[0], "1")
        self.sms_in(STUDENTS[0], "2")
        self.sms_in(STUDENTS[0], "2")
        vote = self.vote_of(STUDENTS[0])
        self.assertEqual(len(vote), 1, "one vote per number")
        self.assertEqual((vote.answer_id, vote.change_count, vote.ignored_count), (self.sunday, 1, 1))
        self.assertEqual(self.counts(), {"Saturday": 0, "Sunday": 1})

    def test_repeated_votes_first_answer_counts(self):
        self.poll.vote_rule = "first"
        self.send_mailing(self.mailing)
        self.sms_in(STUDENTS[0], "1")
        second = self.sms_in(STUDENTS[0], "2")
        vote = self.vote_of(STUDENTS[0])
        self.assertEqual((vote.answer_id, vote.change_count, vote.ignored_count), (self.saturday, 0, 1))
        self.assertEqual(self.counts(), {"Saturday": 1, "Sunday": 0})
        self.assertFalse(second.sms_keyword_id)

    def test_late_votes_not_counted(self):
        self.send_mailing(self.mailing)
        trace = self.mailing.mailing_trace_ids.filtered(lambda t: t.sms_number == STUDENTS[0])
        # That number's SMS left 49 hours ago: the 48-hour window is closed for it, open for the others.
        past = fields.Datetime.now() - timedelta(hours=49)
        self.env.flush_all()
        self.env.cr.execute("UPDATE mailing_trace SET sent_datetime = %s, create_date = %s WHERE id = %s",
                            (past, past, trace.id))
        self.env.invalidate_all()
        late = self.sms_in(STUDENTS[0], "1")
        self.sms_in(STUDENTS[1], "1")
        self.assertFalse(late.sms_poll_answer_id)
        self.assertFalse(self.vote_of(STUDENTS[0]))
        self.assertEqual(self.counts(), {"Saturday": 1, "Sunday": 0})
        self.assertIn("1", late.conversation_id.last_message_preview, "a late answer is an ordinary message")

    def test_export_with_respondents_and_roles(self):
        self.send_mailing(self.mailing)
        self.sms_in(STUDENTS[0], "2")
        self.sms_in(STUDENTS[1], "1")
        url = self.poll.action_export_votes()["url"]
        self.authenticate("marketing_mary", "marketing_mary")
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        self.assertEqual(rows[0][:4], ["Number", "Contact", "Answer Code", "Answer"])
        self.assertEqual([row[0:4] for row in rows[1:]], [
            [STUDENTS[1], "", "1", "Saturday"], [STUDENTS[0], "", "2", "Sunday"]])
        for login in ("ivy_poll", "pat_poll"):
            with self.subTest(login=login):
                self.authenticate(login, login)
                self.assertEqual(self.url_open(url).status_code, 403)
                self.assertIn("error", self.call_kw("sms.poll.vote", "search_read", [[], ["number"]]))
                self.assertIn("error", self.call_kw("sms.poll", "create", [{"name": "x",
                                                                             "mailing_id": self.mailing.id}]))

    def test_marketing_user_reads_votes_never_writes_them(self):
        self.send_mailing(self.mailing)
        self.sms_in(STUDENTS[0], "1")
        vote = self.vote_of(STUDENTS[0]).with_user(self.user_marketing)
        self.assertEqual(vote.answer_id, self.saturday)
        with self.assertRaises(AccessError):
            vote.write({"answer_id": self.sunday.id})
        with self.assertRaises(AccessError):
            self.env["sms.poll.vote"].with_user(self.user_marketing).create({
                "poll_id": self.poll.id, "answer_id": self.sunday.id, "number": STUDENTS[1]})
        other = self.env["res.company"].create({"name": "Other School"})
        foreign = self.env["sms.poll"].create({"name": "Other", "mailing_id": self.create_sms_mailing().id,
                                               "company_id": other.id})
        self.assertFalse(self.env["sms.poll"].with_user(self.user_marketing).search([("id", "=", foreign.id)]))

    def test_duplicate_answer_codes_refused(self):
        from odoo.exceptions import ValidationError
        with self.assertRaises(ValidationError):
            self.poll.answer_ids = [Command.create({"code": "1.", "name": "Saturday again"})]

    def test_tour_poll_results(self):
        self.send_mailing(self.mailing)
        self.sms_in(STUDENTS[0], "1")
        self.sms_in(STUDENTS[1], "1")
        self.sms_in(STUDENTS[2], "2")
        self.start_tour("/web#model=mailing.mailing&view_type=form&id=%s" % self.mailing.id,
                        "sms_africastalking_poll_results_tour", login="marketing_mary")


@tagged("post_install", "-at_install")
class TestSmsKeywordDemo(TransactionCase):
    """The demo's keywords and poll (installed with the demo data, as `make test` and `make run` do)."""

    def setUp(self):
        super().setUp()
        if not self.env.ref("sms_africastalking.mailing_mailing_demo_sent", raise_if_not_found=False):
            self.skipTest("the addon was installed without its demo data")

    def test_demo_poll_votes_counted_through_the_inbound_processing(self):
        poll = self.env.ref("sms_africastalking.sms_poll_demo_fees")
        self.assertEqual({answer.name: answer.vote_count for answer in poll.answer_ids}, {"Yes": 2, "No": 1})
        self.assertEqual(poll.mailing_id.sms_poll_vote_count, 3)
        self.assertTrue(all(vote.inbound_id.sms_poll_answer_id == vote.answer_id for vote in poll.vote_ids))

    def test_demo_keywords(self):
        drama = self.env.ref("sms_africastalking.sms_keyword_demo_drama")
        self.assertEqual(drama.action_ids.mapped("action_type"), ["list_join", "reply"])
