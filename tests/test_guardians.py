"""Send to "the guardians of" selected people, from the composer and from SMS mailings."""

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestGuardians(AfricasTalkingCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        ke = cls.env.ref("base.ke").id
        cls.mother = Partner.create({"name": "Mama Amina", "mobile": "0712 000 111", "country_id": ke})
        cls.father = Partner.create({"name": "Baba Amina", "mobile": "+254712000222", "country_id": ke})
        cls.uncle = Partner.create({"name": "Uncle without phone"})
        cls.aunt = Partner.create({"name": "Aunt opted out", "mobile": "+254712000333", "country_id": ke})
        cls.env["phone.blacklist"]._add(["+254712000333"])
        cls.amina = Partner.create({"name": "Amina", "mobile": "+254799000001", "country_id": ke,
                                    "guardian_ids": [Command.set((cls.mother | cls.father).ids)]})
        cls.baraka = Partner.create({"name": "Baraka", "country_id": ke,
                                     "guardian_ids": [Command.set((cls.mother | cls.uncle | cls.aunt).ids)]})
        cls.students = cls.amina | cls.baraka

    def test_guardian_relation(self):
        self.assertEqual(self.mother.ward_ids, self.students)
        self.assertEqual(self.students._sms_guardians(), self.mother | self.father)
        with self.assertRaises(ValidationError):
            self.amina.guardian_ids = [Command.link(self.amina.id)]

    def test_composer_targets_guardians(self):
        composer_form = Form(self.env["sms.composer"].with_user(self.user_marketing).with_context(
            active_model="res.partner", active_ids=self.students.ids, default_composition_mode="mass"))
        composer_form.body = "Dear {{ object.name }}, the school closes on Friday."
        composer_form.sms_target_guardians = True
        self.assertEqual((composer_form.sms_guardian_valid_count, composer_form.sms_guardian_count), (2, 4))
        composer = composer_form.save()
        composer.action_send_sms()
        self.run_sms_queue()
        self.assertSentOnce("+254712000111", "Dear Mama Amina, the school closes on Friday.")
        self.assertSentOnce("+254712000222", "Dear Baba Amina, the school closes on Friday.")
        self.assertEqual(self.simulator.stats()["accepted"], 2,
                         "no SMS to the students, the opted-out or the phoneless")
        self.assertIn("the school closes on Friday", self.mother.message_ids[0].body)

    def test_composer_single_person_guardians(self):
        composer = self.env["sms.composer"].with_context(
            active_model="res.partner", active_id=self.amina.id, default_res_id=self.amina.id,
        ).create({"body": "Amina was absent today", "sms_target_guardians": True})
        self.assertEqual(composer.composition_mode, "comment")
        composer.action_send_sms()
        self.run_sms_queue()
        self.assertSentOnce("+254712000111", "Amina was absent today")
        self.assertSentOnce("+254712000222", "Amina was absent today")
        self.assertEqual(self.simulator.count("+254799000001"), 0)

    def test_composer_without_reachable_guardian(self):
        lonely = self.env["res.partner"].create({"name": "No guardian", "mobile": "+254799000009"})
        composer = self.env["sms.composer"].with_context(
            active_model="res.partner", active_ids=lonely.ids, default_composition_mode="mass",
        ).create({"body": "Hello", "sms_target_guardians": True})
        with self.assertRaisesRegex(UserError, "guardian"):
            composer.action_send_sms()

    def test_mailing_targets_guardians(self):
        mailing = self.env["mailing.mailing"].with_user(self.user_marketing).create({
            "subject": "Closing day",
            "mailing_type": "sms",
            "body_plaintext": "Dear {{ object.name }}, pick-up is at noon.",
            "mailing_model_id": self.env["ir.model"]._get_id("res.partner"),
            "mailing_domain": repr([("id", "in", self.students.ids)]),
            "sms_target_guardians": True,
        })
        self.assertEqual(mailing.sms_guardian_valid_count, 2)
        self.assertEqual(mailing.total, 2)
        self.send_mailing(mailing)
        self.assertSentOnce("+254712000111", "Dear Mama Amina, pick-up is at noon.")
        self.assertSentOnce("+254712000222", "Dear Baba Amina, pick-up is at noon.")
        self.assertEqual(self.simulator.stats()["accepted"], 2)
        self.assertEqual(set(mailing.mailing_trace_ids.mapped("res_id")), set((self.mother | self.father).ids))
        # Sending again reaches nobody twice.
        self.simulator.reset()
        mailing.action_send_sms()
        self.run_sms_queue()
        self.assertNothingSent()

    def test_mailing_without_guardians_targets_people(self):
        mailing = self.env["mailing.mailing"].create({
            "subject": "Direct", "mailing_type": "sms", "body_plaintext": "Hi",
            "mailing_model_id": self.env["ir.model"]._get_id("res.partner"),
            "mailing_domain": repr([("id", "in", self.students.ids)]),
        })
        self.assertEqual(mailing._get_recipients(), sorted(self.students.ids))
