from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sms_double_opt_in = fields.Boolean(related="company_id.sms_double_opt_in", readonly=False)
    sms_double_opt_in_hours = fields.Integer(related="company_id.sms_double_opt_in_hours", readonly=False)

    def action_open_sms_keywords(self):
        return self.env["ir.actions.act_window"]._for_xml_id("sms_africastalking.sms_keyword_action")
