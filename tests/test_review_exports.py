"""Acceptance review: a wizard's record is its author's. Odoo 17 gives any user with the model's access rights every
transient record by id, so the spending export an SMS manager made (every team's spending, in its stored file) or an
approval note being written must not be readable by another marketing user over JSON-RPC or /web/content."""

import base64

from odoo import Command
from odoo.tests import tagged

from .common import AfricasTalkingHttpCase
from .test_sms_team_lists import TestSmsTeamListsRpc


@tagged("post_install", "-at_install")
class TestReviewWizardOwnership(AfricasTalkingHttpCase):

    _call = TestSmsTeamListsRpc._call
    assertRefused = TestSmsTeamListsRpc.assertRefused
    assertAllowed = TestSmsTeamListsRpc.assertAllowed

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_marketing.password = "marketing_mary"
        cls.user_manager = cls.env["res.users"].create({
            "name": "Manager Maggie", "login": "review_maggie", "password": "review_maggie",
            "groups_id": [Command.set([cls.env.ref("base.group_user").id,
                                       cls.env.ref("sms_africastalking.group_sms_manager").id])]})
        cls.env["sms.team"].create({"name": "Finance Secret Team", "member_ids": [
            Command.set([cls.user_manager.id])]})

    def test_spending_export_is_its_authors(self):
        export = self.env["sms.spend.export"].with_user(self.user_manager).create({"file_format": "csv"})
        url = export.action_export()["url"]
        self.assertTrue(export.file)
        self.authenticate("marketing_mary", "marketing_mary")
        self.assertFalse(self.assertAllowed("sms.spend.export", "search", [("id", "=", export.id)]))
        answer = self.assertRefused("sms.spend.export", "read", export.ids, ["file", "file_name"])
        self.assertNotIn(export.file.decode(), str(answer))
        response = self.url_open(url)
        self.assertNotEqual(response.status_code, 200)
        self.assertNotIn(b"Date", response.content[:200])
        self.assertRefused("sms.spend.export", "write", export.ids, {"file_format": "xlsx"})
        # The author still downloads it.
        self.authenticate("review_maggie", "review_maggie")
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, base64.b64decode(export.file))

    def test_approval_wizard_is_its_authors(self):
        mailing = self.create_sms_mailing(subject="Open day")
        wizard = self.env["sms.mailing.approval"].with_user(self.user_manager).create({
            "mailing_id": mailing.id, "decision": "refuse", "note": "Too many recipients for the budget"})
        self.authenticate("marketing_mary", "marketing_mary")
        answer = self.assertRefused("sms.mailing.approval", "read", wizard.ids, ["note"])
        self.assertNotIn("Too many recipients", str(answer))
        self.assertRefused("sms.mailing.approval", "action_confirm", wizard.ids)

    def test_older_wizards_are_their_authors(self):
        """The contact import keeps the uploaded file (names and numbers of a whole school), the broadcast its text
        and the check its findings: another marketing user reads none of them by id."""
        colleague = self.env["res.users"].create({
            "name": "Colleague Carol", "login": "review_carol", "password": "review_carol",
            "groups_id": [Command.set([self.env.ref("base.group_user").id,
                                       self.env.ref("mass_mailing.group_mass_mailing_user").id])]})
        csv_file = base64.b64encode(b"Name,Mobile\nPupil One,0712345678\n")
        upload = self.env["sms.contact.import"].with_user(colleague).create({"file": csv_file,
                                                                             "filename": "pupils.csv"})
        staff = self.env["mailing.list"].create({"name": "Staff"})
        broadcast = self.env["sms.broadcast"].with_user(colleague).create({
            "name": "Meeting", "body": "Staff meeting at 4 pm", "mailing_list_ids": [Command.set(staff.ids)]})
        self.authenticate("marketing_mary", "marketing_mary")
        answer = self.assertRefused("sms.contact.import", "read", upload.ids, ["file", "filename"])
        self.assertNotIn("pupils.csv", str(answer))
        self.assertFalse(self.assertAllowed("sms.contact.import", "search", [("id", "=", upload.id)]))
        answer = self.assertRefused("sms.broadcast", "read", broadcast.ids, ["body"])
        self.assertNotIn("Staff meeting", str(answer))
        # The author still works with them.
        self.authenticate("review_carol", "review_carol")
        self.assertEqual(self.assertAllowed("sms.contact.import", "read", upload.ids, ["filename"])[0]["filename"],
                         "pupils.csv")
