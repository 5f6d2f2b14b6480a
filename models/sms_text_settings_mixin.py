from odoo import api, fields, models


class SmsTextSettingsMixin(models.AbstractModel):
    """The company's SMS text settings on every form where an SMS text is written (mailing, composer, broadcast):
    the live counter (static/src) reads them to count parts as they will leave and to warn before the cap."""

    _name = "sms.text.settings.mixin"
    _description = "SMS Text Settings"

    # The defaults matter: a new wizard's first onchange never runs a compute that has no dependencies.
    sms_smart_encoding = fields.Boolean("Smart Encoding", compute="_compute_sms_text_settings",
                                        default=lambda self: self.env.company.sms_smart_encoding)
    sms_segments_warn = fields.Integer(compute="_compute_sms_text_settings",
                                       default=lambda self: self.env.company.sms_segments_warn)
    sms_segments_cap = fields.Integer(compute="_compute_sms_text_settings",
                                      default=lambda self: self.env.company.sms_segments_cap)

    @api.depends_context("company")
    def _compute_sms_text_settings(self):
        company = self.env.company
        for record in self:
            record.update({"sms_smart_encoding": company.sms_smart_encoding,
                           "sms_segments_warn": company.sms_segments_warn,
                           "sms_segments_cap": company.sms_segments_cap})
