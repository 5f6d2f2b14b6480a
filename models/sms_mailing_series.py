import logging
from datetime import datetime

import pytz

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools.recurrence import Recurrence, next_run, time_of_hours

_logger = logging.getLogger(__name__)

WEEKDAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SmsMailingSeries(models.Model):
    """A mailing that repeats: at each run its template mailing is copied and sent, so every run is a mailing of
    its own with its own statistics, linked to the series. A paused series skips its runs (none is caught up on
    resuming); a run that cannot leave (no credit, empty audience) is logged on the series and skipped too."""

    _name = "sms.mailing.series"
    _description = "Recurring SMS Mailing"
    _inherit = ["mail.thread"]
    _order = "state, next_run_date, id"

    name = fields.Char(required=True)
    mailing_id = fields.Many2one(
        "mailing.mailing", "Template Mailing", required=True, ondelete="restrict",
        domain=[("mailing_type", "=", "sms")],
        help="Each run sends a copy of this mailing (its text, lists and options); edit it to change the next runs.")
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    state = fields.Selection([("running", "Running"), ("paused", "Paused"), ("done", "Finished")],
                             default="running", required=True, readonly=True, tracking=True)
    frequency = fields.Selection(
        [("daily", "Every day"), ("weekly", "Every week"), ("monthly", "Every month"), ("dates", "On term dates")],
        default="weekly", required=True)
    run_time = fields.Float("At", default=8.0, required=True, help="Time of day in the company's time zone.")
    mon = fields.Boolean("Monday", default=True)
    tue = fields.Boolean("Tuesday")
    wed = fields.Boolean("Wednesday")
    thu = fields.Boolean("Thursday")
    fri = fields.Boolean("Friday")
    sat = fields.Boolean("Saturday")
    sun = fields.Boolean("Sunday")
    month_day = fields.Integer("Day of Month", default=1, help="A shorter month runs on its last day.")
    date_ids = fields.One2many("sms.mailing.series.date", "series_id", "Term Dates")
    until = fields.Date(help="No run after this day.")
    next_run_date = fields.Datetime("Next Run", readonly=True, copy=False)
    last_run_date = fields.Datetime("Last Run", readonly=True, copy=False)
    run_ids = fields.One2many("mailing.mailing", "sms_series_id", "Runs", readonly=True)
    run_count = fields.Integer("Runs Sent", compute="_compute_run_count")
    tz = fields.Char("Time Zone", compute="_compute_tz")

    @api.depends("run_ids")
    def _compute_run_count(self):
        counts = dict(self.env["mailing.mailing"]._read_group(
            [("sms_series_id", "in", self.ids)], ["sms_series_id"], ["__count"]))
        for series in self:
            series.run_count = counts.get(series, 0)

    @api.depends("company_id")
    def _compute_tz(self):
        for series in self:
            series.tz = series.company_id._sms_window_tz().zone

    @api.constrains("frequency", "mon", "tue", "wed", "thu", "fri", "sat", "sun", "month_day", "run_time",
                    "date_ids", "mailing_id")
    def _check_rule(self):
        for series in self:
            if series.mailing_id.mailing_type != "sms":
                raise ValidationError(_("A recurring mailing repeats an SMS mailing."))
            if not 0 <= series.run_time < 24:
                raise ValidationError(_("The time of day is between 00:00 and 23:59."))
            if series.frequency == "dates" and not series.date_ids:
                raise ValidationError(_("Give at least one term date."))
            try:
                series._recurrence()
            except ValueError:
                if series.frequency == "weekly":
                    raise ValidationError(_("Choose at least one day of the week.")) from None
                raise ValidationError(_("The day of the month is between 1 and 31.")) from None

    @api.model_create_multi
    def create(self, vals_list):
        series = super().create(vals_list)
        series._schedule_next(fields.Datetime.now())
        return series

    def write(self, vals):
        result = super().write(vals)
        rule_fields = {"frequency", "run_time", "month_day", "until", "date_ids", "company_id", *WEEKDAY_FIELDS}
        if rule_fields & set(vals) and not self.env.context.get("sms_series_scheduling"):
            self.filtered(lambda s: s.state == "running")._schedule_next(fields.Datetime.now())
        return result

    # ------------------------------------------------------------------
    # Schedule
    # ------------------------------------------------------------------

    def _recurrence(self):
        self.ensure_one()
        return Recurrence(
            frequency=self.frequency, at=time_of_hours(self.run_time),
            weekdays=frozenset(index for index, name in enumerate(WEEKDAY_FIELDS) if self[name]),
            month_day=self.month_day, dates=tuple(self.date_ids.mapped("date")), until=self.until)

    def _schedule_next(self, after_utc):
        """The first run strictly after ``after_utc``: missed runs are never caught up."""
        for series in self:
            tz = series.company_id._sms_window_tz()
            after_local = pytz.utc.localize(after_utc).astimezone(tz).replace(tzinfo=None)
            local = next_run(series._recurrence(), after_local)
            values = {"next_run_date": _to_utc(tz, local) if local else False}
            if not local:
                values["state"] = "done"
            series.with_context(sms_series_scheduling=True).write(values)

    def action_pause(self):
        self._check_series_access()
        self.filtered(lambda s: s.state == "running").write({"state": "paused", "next_run_date": False})
        return True

    def action_resume(self):
        self._check_series_access()
        paused = self.filtered(lambda s: s.state == "paused")
        paused.with_context(sms_series_scheduling=True).write({"state": "running"})
        paused._schedule_next(fields.Datetime.now())
        return True

    def action_view_runs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("mass_mailing_sms.mailing_mailing_action_sms")
        action.update(domain=[("sms_series_id", "=", self.id)], context={"default_mailing_type": "sms"})
        return action

    def _check_series_access(self):
        self.check_access_rights("write")
        self.check_access_rule("write")

    # ------------------------------------------------------------------
    # Runs
    # ------------------------------------------------------------------

    @api.model
    def _cron_run_due(self):
        """Run the due series. Each is locked while it runs (SKIP LOCKED): a second worker, or a person's click at
        the same moment, never runs it twice; its next run date moves in the same transaction."""
        now = fields.Datetime.now()
        self.flush_model(["state", "next_run_date"])
        self.env.cr.execute(
            """SELECT id FROM sms_mailing_series WHERE state = 'running' AND next_run_date <= %s
                ORDER BY next_run_date, id FOR UPDATE SKIP LOCKED""", (now,))
        for series in self.browse([row[0] for row in self.env.cr.fetchall()]):
            if series.state == "running" and series.next_run_date and series.next_run_date <= now:
                series._run(now)

    def _run(self, now):
        """Copy the template mailing and queue it; then schedule the next run after ``now``."""
        self.ensure_one()
        local_day = pytz.utc.localize(self.next_run_date).astimezone(self.company_id._sms_window_tz()).date()
        try:
            with self.env.cr.savepoint():
                mailing = self.mailing_id.with_company(self.company_id).copy({
                    "subject": "%s (%s)" % (self.name, fields.Date.to_string(local_day)),
                    "sms_series_id": self.id,
                    "schedule_type": "now",
                    "schedule_date": False,
                    # The cron only carries the run out: whoever made the series launched it and their budgets
                    # pay it, not the template's responsible (anyone may be named there).
                    "sms_launched_by_id": self.create_uid.id if self.create_uid.id != SUPERUSER_ID else False,
                })
                mailing.action_put_in_queue()
        except UserError as error:
            self.message_post(body=_("The run of %(day)s was skipped: %(reason)s", day=local_day, reason=str(error)))
            _logger.info("Recurring mailing %s: run of %s skipped (%s)", self.id, local_day, error)
        else:
            self.message_post(body=_("Run of %(day)s: mailing %(mailing)s queued.", day=local_day,
                                     mailing=mailing.subject))
        self.with_context(sms_series_scheduling=True).write({"last_run_date": now})
        self._schedule_next(now)


class SmsMailingSeriesDate(models.Model):
    _name = "sms.mailing.series.date"
    _description = "Term Date of a Recurring SMS Mailing"
    _order = "date"

    series_id = fields.Many2one("sms.mailing.series", required=True, ondelete="cascade", index=True)
    date = fields.Date(required=True)
    name = fields.Char("Label", help="e.g. Opening day, term 2")


def _to_utc(tz, local):
    return tz.localize(datetime.combine(local.date(), local.time())).astimezone(pytz.utc).replace(tzinfo=None)
