"""SMS teams: who may manage them, company consistency, thresholds."""

from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import AfricasTalkingCase


@tagged("post_install", "-at_install")
class TestSmsTeam(AfricasTalkingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team = cls.env["sms.team"].create({
            "name": "ICT Office",
            "member_ids": [Command.link(cls.user_marketing.id)],
            "mailing_list_ids": [Command.link(cls.mailing_list.id)],
            "approval_recipients_threshold": 1000,
        })

    def test_list_knows_its_team(self):
        self.assertEqual(self.mailing_list.sms_team_ids, self.team)
        self.assertEqual(self.team.mailing_list_count, 1)
        self.assertEqual(self.team.member_count, 1)

    def test_marketing_user_reads_but_does_not_manage_teams(self):
        team = self.team.with_user(self.user_marketing)
        self.assertEqual(team.name, "ICT Office")
        with self.assertRaises(AccessError):
            team.write({"approval_recipients_threshold": 0})
        with self.assertRaises(AccessError):
            self.env["sms.team"].with_user(self.user_marketing).create({"name": "Rogue team"})
        self.assertEqual(self.team.approval_recipients_threshold, 1000)

    def test_sms_manager_manages_teams(self):
        self.user_marketing.groups_id = [Command.link(self.env.ref("sms_africastalking.group_sms_manager").id)]
        self.team.with_user(self.user_marketing).write({"approval_cost_threshold": 500.0})
        self.assertEqual(self.team.approval_cost_threshold, 500.0)

    def test_negative_threshold_refused(self):
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.team.write({"approval_cost_threshold": -1})
            self.team.flush_recordset()

    def test_members_must_belong_to_the_company(self):
        other_company = self.env["res.company"].create({"name": "Other school"})
        with self.assertRaises(ValidationError):
            self.env["sms.team"].create({"name": "Other", "company_id": other_company.id,
                                         "member_ids": [Command.link(self.user_marketing.id)]})

    def test_team_of_another_company_invisible(self):
        other_company = self.env["res.company"].create({"name": "Other school"})
        other_team = self.env["sms.team"].create({"name": "Other", "company_id": other_company.id})
        visible = self.env["sms.team"].with_user(self.user_marketing).search([])
        self.assertIn(self.team, visible)
        self.assertNotIn(other_team, visible)
