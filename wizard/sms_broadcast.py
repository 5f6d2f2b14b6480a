from odoo import Command, _, api, fields, models


class SmsBroadcast(models.TransientModel):
    """A one-off broadcast ("campus closed tomorrow") to mailing lists, now or at a set time.

    It creates an ordinary SMS mailing, so the broadcast gets the mailing statistics, opt-out handling and the
    Africa's Talking delivery reports of any mailing. The form shows recipients, segments and cost as the text is
    typed, and Send asks for confirmation with them before the mailing is created.
    """

    _name = "sms.broadcast"
    _inherit = ["sms.text.settings.mixin"]
    _description = "SMS Broadcast"

    name = fields.Char("Subject", required=True)
    mailing_list_ids = fields.Many2many("mailing.list", required=True)
    template_id = fields.Many2one("sms.template",
                                  domain="[('model', '=', 'mailing.contact')]")
    body = fields.Text(compute="_compute_body", store=True, readonly=False, required=True, precompute=True)
    schedule_type = fields.Selection([("now", "Now"), ("scheduled", "At a set time")], required=True,
                                     default="now")
    schedule_date = fields.Datetime("Send At")
    sms_estimate_recipients = fields.Integer("Recipients", compute="_compute_sms_estimate")
    sms_estimate_segments = fields.Integer("Segments", compute="_compute_sms_estimate")
    sms_estimate_cost_display = fields.Char("Cost", compute="_compute_sms_estimate")
    sms_estimate_note = fields.Text("Estimate", compute="_compute_sms_estimate")

    @api.depends("template_id")
    def _compute_body(self):
        for wizard in self:
            wizard.body = wizard.template_id.body or wizard.body

    @api.depends("mailing_list_ids", "body")
    def _compute_sms_estimate(self):
        for wizard in self:
            estimate = wizard._get_sms_cost_estimate()
            if estimate is None:
                wizard.update({"sms_estimate_recipients": 0, "sms_estimate_segments": 0,
                               "sms_estimate_cost_display": False, "sms_estimate_note": False})
                continue
            wizard.update({
                "sms_estimate_recipients": estimate["recipients"],
                "sms_estimate_segments": estimate["segments"],
                "sms_estimate_cost_display": self.env["mailing.mailing"]._sms_estimate_cost_text(estimate),
                "sms_estimate_note": self.env["mailing.mailing"]._sms_estimate_summary(estimate),
            })

    def _get_sms_cost_estimate(self):
        """The estimate of the mailing this broadcast creates (an unsaved one: nothing is written)."""
        self.ensure_one()
        list_ids = self.mailing_list_ids._origin.ids
        if not list_ids or not (self.body or "").strip():
            return None
        mailing = self.env["mailing.mailing"].new({
            "mailing_type": "sms",
            "mailing_model_id": self.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.set(list_ids)],
            "body_plaintext": self.body,
        })
        return mailing._get_sms_cost_estimate(res_ids=mailing._get_recipients())

    def action_send(self):
        """Show recipients, segments and cost and ask before anything is created."""
        self.ensure_one()
        self.env["sms.africastalking.api"]._check_api_access()
        confirm = self.env["africastalking.send.confirm"].create({"broadcast_id": self.id,
                                                                   "send_method": "broadcast"})
        return confirm._action_open()

    def _action_send(self):
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

    def _action_reopen(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Broadcast SMS"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }
