from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    africastalking_account_count = fields.Integer("Africa's Talking Accounts",
                                                  compute="_compute_africastalking_account_count")

    sms_smart_encoding = fields.Boolean(related="company_id.sms_smart_encoding", readonly=False)
    sms_at_first_message_text = fields.Char(related="company_id.sms_at_first_message_text", readonly=False)
    sms_window_enabled = fields.Boolean(related="company_id.sms_window_enabled", readonly=False)
    sms_window_start = fields.Float(related="company_id.sms_window_start", readonly=False)
    sms_window_end = fields.Float(related="company_id.sms_window_end", readonly=False)
    sms_segments_warn = fields.Integer(related="company_id.sms_segments_warn", readonly=False)
    sms_segments_cap = fields.Integer(related="company_id.sms_segments_cap", readonly=False)
    sms_fallback_rate = fields.Float(related="company_id.sms_fallback_rate", readonly=False)
    sms_fallback_currency = fields.Char(related="company_id.sms_fallback_currency", readonly=False)

    sms_keyword_stop = fields.Char(related="company_id.sms_keyword_stop", readonly=False)
    sms_keyword_start = fields.Char(related="company_id.sms_keyword_start", readonly=False)
    sms_keyword_help = fields.Char(related="company_id.sms_keyword_help", readonly=False)
    sms_reply_stop = fields.Char(related="company_id.sms_reply_stop", readonly=False)
    sms_reply_start = fields.Char(related="company_id.sms_reply_start", readonly=False)
    sms_reply_help = fields.Char(related="company_id.sms_reply_help", readonly=False)

    # The dependency makes the web client's first onchange compute the count (an undepending field stays 0 there).
    @api.depends("company_id")
    def _compute_africastalking_account_count(self):
        for settings in self:
            settings.africastalking_account_count = self.env["africastalking.account"].search_count(
                [("company_id", "=", settings.company_id.id or self.env.company.id)])

    def action_open_africastalking_accounts(self):
        return self.env["ir.actions.act_window"]._for_xml_id("sms_africastalking.africastalking_account_action")

    def action_open_africastalking_rates(self):
        return self.env["ir.actions.act_window"]._for_xml_id("sms_africastalking.africastalking_rate_action")
