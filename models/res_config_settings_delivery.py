from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sms_dead_number_threshold = fields.Integer(related="company_id.sms_dead_number_threshold", readonly=False)
    sms_report_silence_minutes = fields.Integer(related="company_id.sms_report_silence_minutes", readonly=False)
    sms_report_silence_min_messages = fields.Integer(related="company_id.sms_report_silence_min_messages",
                                                     readonly=False)
