import base64
import csv
import io

from dateutil.relativedelta import relativedelta
from openpyxl import Workbook

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.contact_files import spreadsheet_safe, write_safe_csv_row

PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


class SmsSpendExport(models.TransientModel):
    """SMS spending per team (or person) and period, for finance: an XLSX or CSV file of the SMS ledger.

    Read with the caller's rights: an SMS manager exports every team, a marketing user their own lines (and their
    managed teams'), as the ledger's record rules say."""

    _name = "sms.spend.export"
    _description = "Export SMS Spending"

    date_from = fields.Date("From", required=True,
                            default=lambda self: fields.Date.context_today(self).replace(month=1, day=1))
    date_to = fields.Date("To", required=True, default=fields.Date.context_today)
    period = fields.Selection([("month", "Month"), ("quarter", "Quarter"), ("year", "Year")], required=True,
                              default="month")
    group_by = fields.Selection([("team_id", "Team"), ("user_id", "Person")], "Per", required=True,
                                default="team_id")
    file_format = fields.Selection([("xlsx", "Excel (XLSX)"), ("csv", "CSV")], "Format", required=True,
                                   default="xlsx")
    file = fields.Binary(readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        if any(export.date_to < export.date_from for export in self):
            raise ValidationError(_("The export period must end after it starts."))

    def _header(self):
        return [dict(self._fields["group_by"]._description_selection(self.env))[self.group_by], _("Period"),
                _("From"), _("To"), _("Currency"), _("Sends"), _("SMS"), _("Segments"), _("Reserved"), _("Billed"),
                _("Released")]

    def _rows(self):
        """One row per (team or person, period, currency), in the caller's sight (record rules apply)."""
        self.ensure_one()
        spends = self.env["sms.spend"]
        spends.check_access_rights("read")
        domain = [("date", ">=", fields.Datetime.to_datetime(self.date_from)),
                  ("date", "<", fields.Datetime.to_datetime(self.date_to + relativedelta(days=1)))]
        groups = spends._read_group(
            domain, groupby=[self.group_by, "date:%s" % self.period, "currency"],
            aggregates=["__count", "sms_count:sum", "segments:sum", "amount_reserved:sum", "amount_billed:sum",
                        "amount_released:sum"],
            order="date:%s, %s" % (self.period, self.group_by))
        rows = []
        for owner, start, currency, count, sms, segments, reserved, billed, released in groups:
            start = fields.Date.to_date(start)
            end = start + relativedelta(months=PERIOD_MONTHS[self.period], days=-1)
            rows.append([owner.display_name if owner else _("None"), self._period_label(start), start, end,
                         currency or "", count, sms, segments, round(reserved, 2), round(billed, 2),
                         round(released, 2)])
        return rows

    def _period_label(self, start):
        if self.period == "year":
            return "%04d" % start.year
        if self.period == "quarter":
            return "%04d-Q%d" % (start.year, (start.month - 1) // 3 + 1)
        return "%04d-%02d" % (start.year, start.month)

    def _xlsx(self, rows):
        book = Workbook()
        sheet = book.active
        sheet.title = _("SMS Spending")[:31]
        sheet.append(self._header())
        for row in rows:
            # Text cells as typed, never formulas (a team may be named "=..."); numbers and dates stay numbers
            sheet.append([spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in row])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    def _csv(self, rows):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        write_safe_csv_row(writer, self._header())
        for row in rows:
            write_safe_csv_row(writer, [cell.isoformat() if hasattr(cell, "isoformat") else cell for cell in row])
        return buffer.getvalue().encode("utf-8-sig")  # Excel reads the accents of a UTF-8 CSV with its BOM

    def action_export(self):
        self.ensure_one()
        rows = self._rows()
        content = self._xlsx(rows) if self.file_format == "xlsx" else self._csv(rows)
        self.write({
            "file": base64.b64encode(content),
            "file_name": "sms_spending_%s_%s.%s" % (self.date_from, self.date_to, self.file_format),
        })
        return {
            "type": "ir.actions.act_url",
            "url": "/web/content/%s/%s/file/%s?download=true" % (self._name, self.id, self.file_name),
            "target": "self",
        }
