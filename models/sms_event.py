from odoo import fields, models


class SmsEvent(models.Model):
    """A dated happening the office announces by SMS: an exam, a meeting, an open day, a public holiday.

    It is the generic target of date-relative alert rules when no richer model (event.event, calendar.event,
    hr.leave, ...) is installed; rules can target any model that has a date or datetime field.
    """

    _name = "sms.event"
    _description = "Scheduled Event"
    _inherit = ["mail.thread"]
    _order = "date_begin desc, id desc"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    event_type = fields.Selection(
        [("exam", "Exam"), ("event", "Event"), ("meeting", "Meeting"), ("holiday", "Public Holiday"),
         ("other", "Other")],
        string="Type", required=True, default="event",
    )
    date_begin = fields.Datetime("Start", required=True, tracking=True)
    date_end = fields.Datetime("End")
    location = fields.Char()
    description = fields.Text()
    partner_ids = fields.Many2many("res.partner", string="Participants")
    mailing_list_ids = fields.Many2many("mailing.list", string="Mailing Lists")
    state = fields.Selection(
        [("draft", "Draft"), ("confirmed", "Confirmed"), ("done", "Done"), ("cancel", "Cancelled")],
        required=True, default="confirmed", tracking=True,
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)

    def action_confirm(self):
        self.write({"state": "confirmed"})

    def action_cancel(self):
        self.write({"state": "cancel"})

    def action_done(self):
        self.write({"state": "done"})

    def action_draft(self):
        self.write({"state": "draft"})
