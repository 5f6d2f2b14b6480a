from markupsafe import Markup

from odoo import _, models

from ..models.sms_sms import DISPATCH_CONTEXT_KEY


class MailingSmsTest(models.TransientModel):
    """The mailing's "Test" button: send the rendered text to a few numbers through Africa's Talking now.

    Stock calls IAP directly and leaves its SMS ``outgoing`` (so the cron sends them a second time). Here the test
    SMS are created and dispatched in this transaction: nobody else can see them before they have their outcome.
    """

    _inherit = "mailing.sms.test"

    def action_send_sms(self):
        self.ensure_one()
        numbers = [number.strip() for number in self.numbers.splitlines() if number.strip()]
        sanitized = {number: self.env.user._phone_format(number=number) for number in numbers}
        invalid = [number for number, e164 in sanitized.items() if not e164]
        body = self._render_test_body()
        sms = self.env["sms.sms"].sudo().create([
            {"body": body, "number": e164, "mailing_id": self.mailing_id.id}
            for e164 in dict.fromkeys(filter(None, sanitized.values()))
        ])
        sms.with_context(**{DISPATCH_CONTEXT_KEY: True, "sms_africastalking_commit": False})._send(
            unlink_failed=True, unlink_sent=True)
        lines = []
        if invalid:
            lines.append(_("The following numbers are not correctly encoded: %s", ", ".join(invalid)))
        for record in sms:
            if record.state in ("pending", "sent"):
                lines.append(_("Test SMS successfully sent to %s", record.number))
            elif record.state == "unknown":
                lines.append(_("Test SMS to %s: Africa's Talking did not answer; the delivery report will tell "
                               "whether it left.", record.number))
            else:
                lines.append(_("Test SMS could not be sent to %(number)s: %(reason)s", number=record.number,
                               reason=record.at_failure_reason or dict(record._fields["failure_type"]
                                                                       ._description_selection(self.env))
                               .get(record.failure_type, _("An error occurred."))))
        if lines:
            self.mailing_id._message_log(
                body=Markup("<ul>%s</ul>") % Markup().join(Markup("<li>%s</li>") % line for line in lines))
        return True

    def _render_test_body(self):
        mailing = self.mailing_id
        record = self.env[mailing.mailing_model_real].search([], limit=1)
        body = mailing.body_plaintext
        if record:
            body = self.env["mail.render.mixin"]._render_template(
                body, mailing.mailing_model_real, record.ids)[record.id]
        return body
