from odoo import api, fields, models


class SmsBroadcast(models.TransientModel):
    """A one-off broadcast ("campus closed tomorrow") to mailing lists, now or at a set time.

    It creates an ordinary SMS mailing, so the broadcast gets the mailing statistics, opt-out handling and the
    Africa's Talking delivery reports of any mailing.
    """

    _name = "sms.broadcast"
    _description = "SMS Broadcast"

    name = fields.Char("Subject", required=True)
    mailing_list_ids = fields.Many2many("mailing.list", required=True)
    template_id = fields.Many2one("sms.template",
                                  domain="[('model', '=', 'mailing.contact')]")
    body = fields.Text(compute="_compute_body", store=True, readonly=False, required=True, precompute=True)
    schedule_type = fields.Selection([("now", "Now"), ("scheduled", "At a set time")], required=True,
                                     default="now")
    schedule_date = fields.Datetime("Send At")

    @api.depends("template_id")
    def _compute_body(self):
        for wizard in self:
            wizard.body = wizard.template_id.body or wizard.body

    def action_send(self):
        self.ensure_one()
        api_model = self.env["sms.africastalking.api"]
        api_model._check_api_access()
        template = self.template_id if self.template_id and self.body == self.template_id.body else False
        mailing = api_model._create_broadcast_mailing(
            self.mailing_list_ids.ids, body=self.body, template=template, name=self.name,
            schedule_at=self.schedule_date if self.schedule_type == "scheduled" else False)
        return {
            "type": "ir.actions.act_window",
            "res_model": "mailing.mailing",
            "res_id": mailing.id,
            "views": [(self.env.ref("mass_mailing_sms.mailing_mailing_view_form_sms").id, "form")],
            "context": {"default_mailing_type": "sms"},
        }
