"""The import wizard in a real browser: upload, mapping, preview, import, rejected rows."""

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestContactImportTour(HttpCase):

    def test_contact_import_tour(self):
        self.env.company.country_id = self.env.ref("base.ke")
        mailing_list = self.env["mailing.list"].create({"name": "Tour parents"})
        self.start_tour("/web", "sms_africastalking_contact_import", login="admin")
        contacts = mailing_list.contact_ids
        self.assertEqual(sorted(contacts.mapped("mobile")), ["+254712345678", "+254723456789"])
        self.assertEqual(contacts.filtered(lambda c: c.mobile == "+254712345678").name, "Amina Otieno")
