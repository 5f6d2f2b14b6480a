from markupsafe import Markup

from odoo import _, models

from ..tools.phone import normalize_number


class MailingSmsTest(models.TransientModel):
    """The mailing's "Test" button: the rendered text to a few numbers, through the SMS queue like every SMS.

    Stock calls IAP directly from the request and leaves its SMS ``outgoing`` (so the cron sends them a second
    time). Here they are queued and the queue is woken at once: an HTTP request that Odoo replays after a
    concurrency error cannot send them twice, and their outcome shows in the Sent SMS log seconds later.
    """

    _inherit = "mailing.sms.test"

    def action_send_sms(self):
        # No super(): stock calls IAP directly from the request and leaves its SMS queued, to be sent twice.
        self.ensure_one()
        numbers = [number.strip() for number in self.numbers.splitlines() if number.strip()]
        sanitized = {number: self._sanitize_test_number(number) for number in numbers}
        invalid = [number for number, e164 in sanitized.items() if not e164]
        valid = list(dict.fromkeys(filter(None, sanitized.values())))
        # A test is a send like the others: a number that opted out gets nothing (and costs nothing)
        blacklisted = set(self.env["phone.blacklist"].sudo().search([("number", "in", valid)]).mapped("number"))
        body = self._render_test_body()
        sms = self.env["sms.sms"].sudo().create([
            {"body": body, "number": e164, "mailing_id": self.mailing_id.id, "at_origin": "test"}
            for e164 in valid if e164 not in blacklisted
        ])
        sms._africastalking_trigger_queue()
        lines = []
        if invalid:
            lines.append(_("The following numbers are not correctly encoded: %s", ", ".join(invalid)))
        if blacklisted:
            lines.append(_("These numbers are blacklisted, not sent: %s",
                           ", ".join(number for number in valid if number in blacklisted)))
        if sms:
            lines.append(_("Test SMS queued for %s; its delivery shows in SMS Marketing > Reporting > Sent SMS.",
                           ", ".join(sms.mapped("number"))))
        if lines:
            self.mailing_id._message_log(
                body=Markup("<ul>%s</ul>") % Markup().join(Markup("<li>%s</li>") % line for line in lines))
        return True

    def _sanitize_test_number(self, number):
        """E.164 of a typed number: a local number (0712 ...) is read in the company's country first, then in
        the user's (stock reads it only in the user's, so a Kenyan office with a US-set user refused 07xx)."""
        company_country = self.env.company.country_id
        user_country = self.env.user.country_id or company_country
        return ((company_country and normalize_number(number, company_country.code).e164)
                or normalize_number(number, user_country.code).e164 or False)

    def _render_test_body(self):
        mailing = self.mailing_id
        record = self.env[mailing.mailing_model_real].search([], limit=1)
        body = mailing.body_plaintext
        if record:
            body = self.env["mail.render.mixin"]._render_template(
                body, mailing.mailing_model_real, record.ids)[record.id]
        return body
