import csv
import io

from werkzeug.exceptions import BadRequest, Forbidden

from odoo import _, http
from odoo.http import content_disposition, request

from ..tools.contact_files import write_safe_csv_row

# One number has a short history; a request for more numbers than a contact has is not this export.
MAX_EXPORT_NUMBERS = 5


class SmsConsentController(http.Controller):

    @http.route("/sms_africastalking/consent.csv", type="http", auth="user", methods=["GET"])
    def sms_consent_export(self, **_kwargs):
        """The consent history of one number (or a contact's few numbers), as CSV, for SMS Marketing users: read
        with the user's own rights, so record rules (companies) apply."""
        if not request.env.user.has_group("mass_mailing.group_mass_mailing_user"):
            raise Forbidden()
        raw_numbers = request.httprequest.args.getlist("number")
        if not raw_numbers or len(raw_numbers) > MAX_EXPORT_NUMBERS:
            raise BadRequest()
        numbers = [request.env.user._phone_format(number=number) or number for number in raw_numbers]
        Consent = request.env["sms.consent"]
        records = Consent.search(Consent._history_domain(numbers), order="date, id")
        output = io.StringIO()
        writer = csv.writer(output)
        selections = {name: dict(Consent._fields[name]._description_selection(request.env))
                      for name in ("consent", "scope", "source")}
        write_safe_csv_row(writer, [_("Date (UTC)"), _("Number"), _("Consent"), _("Scope"), _("Mailing List"),
                                    _("Source"), _("Evidence"), _("Incoming SMS"), _("AT Message ID"), _("By User"),
                                    _("Company")])
        for record in records:
            write_safe_csv_row(writer, [
                record.date.isoformat(sep=" "), record.number, selections["consent"][record.consent],
                selections["scope"][record.scope], record.list_name or "", selections["source"][record.source],
                record.evidence or "", record.inbound_id.id or "", record.inbound_id.sudo().at_message_id or "",
                record.user_id.sudo().name or "", record.company_id.sudo().name or "",
            ])
        filename = "consent-%s.csv" % "-".join(number.lstrip("+") for number in numbers)
        return request.make_response(output.getvalue().encode("utf-8-sig"), headers=[
            ("Content-Type", "text/csv; charset=utf-8"), ("Content-Disposition", content_disposition(filename)),
        ])
