from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    """Delivery rules of the company: dead numbers and delivery-report monitoring."""

    _inherit = "res.company"

    sms_dead_number_threshold = fields.Integer(
        "Dead Number After", default=3,
        help="Hard failures in a row (the number does not exist, is deactivated...) after which a number is "
             "left out of mailings until it is delivered again or an administrator lifts it. 0: never.")
    sms_report_silence_minutes = fields.Integer(
        "Report Silence Alert After (minutes)", default=30,
        help="When SMS sent by an account get no delivery report for this long, administrators get an activity.")
    sms_report_silence_min_messages = fields.Integer(
        "Report Silence Minimum Messages", default=10,
        help="Only when at least this many SMS wait for their report: one silent SMS is not an outage.")

    @api.constrains("sms_dead_number_threshold", "sms_report_silence_minutes", "sms_report_silence_min_messages")
    def _check_sms_delivery_settings(self):
        for company in self:
            if company.sms_dead_number_threshold < 0:
                raise ValidationError(_("The dead-number threshold cannot be negative (0 turns it off)."))
            if company.sms_report_silence_minutes < 1 or company.sms_report_silence_min_messages < 1:
                raise ValidationError(_("The report silence threshold needs at least one minute and one SMS."))
