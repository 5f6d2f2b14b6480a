"""One set of recipient rules (models/recipient_rules.py) for the estimate, the preparation, the API and alerts.

A rule added to EXCLUSIONS in that one place is counted by the estimate under its label, traced by the
preparation with its failure type and refused by the API with its reason: nothing else to edit.
"""

from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from ..models import mailing_mailing_prepare, recipient_rules
from ..models.recipient_rules import EXCLUSIONS, Exclusion, RecipientRules
from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestRecipientRules(AfricasTalkingCase):

    def test_first_rule_wins_and_the_first_record_of_a_number(self):
        rules = RecipientRules(self.env, opt_out_ids={7}, for_mailing=True)
        self.assertEqual(rules.exclusion(1, None, None), "missing")
        self.assertEqual(rules.exclusion(2, None, "0700"), "invalid")
        self.assertIsNone(rules.exclusion(3, "+254711000001"))
        self.assertEqual(rules.exclusion(4, "+254711000001", blacklisted=True), "blacklist",
                         "blacklisted before duplicate, in stock's order")
        self.assertEqual(rules.exclusion(7, "+254711000002"), "optout")
        self.assertEqual(rules.exclusion(8, "+254711000002"), "duplicate", "an excluded first record still counts")
        self.assertIsNone(RecipientRules(self.env, dedupe=False).exclusion(9, "+254711000001"))

    def test_dedupe_by_position_keeps_no_set_of_numbers(self):
        """Told the first position of each shared number, the rules find the same duplicates without remembering
        the numbers they saw; numbers traced before still count."""
        rules = RecipientRules(self.env, opt_out_ids={7}, seen_numbers={"+254711000009"}, for_mailing=True)
        rules.dedupe_by_position({"+254711000001": 0, "+254711000002": 2})
        self.assertIsNone(rules.exclusion(3, "+254711000001", position=0))
        self.assertEqual(rules.exclusion(4, "+254711000001", blacklisted=True, position=1), "blacklist")
        self.assertEqual(rules.exclusion(7, "+254711000002", position=2), "optout")
        self.assertEqual(rules.exclusion(8, "+254711000002", position=3), "duplicate",
                         "an excluded first record still counts")
        self.assertIsNone(rules.exclusion(5, "+254711000003", position=4))
        self.assertEqual(rules.exclusion(6, "+254711000009", position=5), "duplicate", "traced before")
        self.assertEqual(rules.seen_numbers, {"+254711000009"})

    def test_duplicates_across_chunks_by_position(self):
        """A number shared by recipients prepared in different chunks: the first (in the mailing's order) is sent,
        the later ones are duplicates, in the estimate and in the preparation alike."""
        contacts = self.env["mailing.contact"].create([
            {"name": "Shared %d" % index, "mobile": "+25471100%04d" % (index % 3),
             "list_ids": [Command.link(self.mailing_list.id)]} for index in range(9)])
        mailing = self.create_sms_mailing(body="Hi {{ object.name }}")
        recipients = mailing._get_remaining_recipients()
        first_positions = mailing._sms_first_positions(recipients)
        self.assertEqual(set(first_positions), set(contacts.mapped("phone_sanitized")))
        estimate = mailing._get_sms_cost_estimate()
        self.assertEqual(estimate["excluded"], {"duplicate": 6})
        with patch.object(mailing_mailing_prepare, "PREPARE_CHUNK_SIZE", 2):
            self.send_mailing(mailing)
        duplicates = mailing.mailing_trace_ids.filtered(lambda trace: trace.failure_type == "sms_duplicate")
        self.assertEqual(len(duplicates), 6)
        sent = {trace.res_id for trace in mailing.mailing_trace_ids} - set(duplicates.mapped("res_id"))
        for number, position in first_positions.items():
            self.assertIn(recipients[position], sent, number)

    def test_do_not_sms_is_for_mailings_only(self):
        number = "+254711000009"
        self.assertEqual(RecipientRules(self.env, do_not_sms_numbers={number}, for_mailing=True).exclusion(1, number),
                         "do_not_sms")
        self.assertIsNone(RecipientRules(self.env, do_not_sms_numbers={number}).exclusion(1, number))

    def test_a_rule_added_in_one_place_reaches_estimate_preparation_and_api(self):
        contacts = self.mailing_list.contact_ids.sorted("id")
        dead = contacts[1].phone_sanitized
        loaded = []

        def load(rules, numbers):
            loaded.append(set(numbers))
            return {dead} & numbers

        rule = Exclusion("dead", "sms_number_format", "dead", "dead numbers", "The number is dead.",
                         check=lambda rules, recipient: recipient.number in rules.data["dead"], load=load)
        with patch.object(recipient_rules, "EXCLUSIONS", [*EXCLUSIONS[:2], rule, *EXCLUSIONS[2:]]):
            mailing = self.create_sms_mailing(body="Hello")
            estimate = mailing._get_sms_cost_estimate()
            self.assertEqual((estimate["recipients"], estimate["excluded"]), (len(contacts) - 1, {"dead": 1}))
            self.assertIn("Excluded: 1 dead numbers.", mailing._sms_estimate_summary(estimate))
            self.send_mailing(mailing)
            trace = mailing.mailing_trace_ids.filtered(lambda t: t.res_id == contacts[1].id)
            self.assertEqual((trace.trace_status, trace.failure_type), ("cancel", "sms_number_format"))
            self.assertEqual(self.simulator.count(dead), 0)
            self.assertTrue(all(dead in numbers for numbers in loaded), "loaded once per batch, with its numbers")
            result = self.env["sms.africastalking.api"].send_sms([dead, "+254733000123"], "Hi")
            self.assertEqual(result["rejected"], [{"recipient": dead, "reason": "The number is dead."}])
            self.assertEqual(result["queued"], 1)

    def test_estimate_and_preparation_walk_the_same_rules(self):
        """A mailing whose audience meets every rule: the estimate's counts are the preparation's traces."""
        contacts = self.mailing_list.contact_ids.sorted("id")
        contacts[1].mobile = contacts[0].mobile
        self.env["phone.blacklist"].sudo()._add([contacts[2].mobile])
        self.mailing_list.subscription_ids.filtered(lambda s: s.contact_id == contacts[3]).opt_out = True
        self.mailing_list.contact_ids = [Command.create({"name": "No phone"})]
        mailing = self.create_sms_mailing(body="Hello")
        estimate = mailing._get_sms_cost_estimate()
        self.send_mailing(mailing)
        failures = {}
        for trace in mailing.mailing_trace_ids.filtered(lambda t: t.trace_status == "cancel"):
            failures[trace.failure_type] = failures.get(trace.failure_type, 0) + 1
        self.assertEqual(estimate["excluded"], {"duplicate": 1, "blacklist": 1, "optout": 1, "invalid": 1})
        self.assertEqual(failures, {"sms_duplicate": 1, "sms_blacklist": 1, "sms_optout": 1, "sms_number_missing": 1})
        self.assertEqual(estimate["recipients"], len(mailing.mailing_trace_ids.filtered(
            lambda t: t.trace_status != "cancel")))
