from odoo import _, api, fields, models


class AfricasTalkingSmsCheck(models.TransientModel):
    """"Check" a mailing for one chosen recipient: the text that leaves, its encoding, segments and cost."""

    _name = "africastalking.sms.check"
    _description = "Check an SMS for a Recipient"

    mailing_id = fields.Many2one("mailing.mailing", required=True, ondelete="cascade")
    res_model = fields.Char(related="mailing_id.mailing_model_real")
    recipient = fields.Reference(selection="_selection_recipient_model")
    text = fields.Text("Text Sent", compute="_compute_check")
    number = fields.Char(compute="_compute_check")
    encoding = fields.Char(compute="_compute_check")
    segments = fields.Integer(compute="_compute_check")
    cost_note = fields.Char("Cost", compute="_compute_check")

    @api.model
    def _selection_recipient_model(self):
        return [(model.model, model.name) for model in self.env["ir.model"].sudo().search([])]

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        mailing = self.env["mailing.mailing"].browse(values.get("mailing_id"))
        if mailing and "recipient" in fields_list and not values.get("recipient"):
            first = self.env[mailing.mailing_model_real].search(mailing._parse_mailing_domain(), limit=1)
            if first:
                values["recipient"] = "%s,%s" % (first._name, first.id)
        return values

    @api.depends("recipient", "mailing_id.body_plaintext", "mailing_id.sms_allow_unsubscribe")
    def _compute_check(self):
        for check in self:
            record = check.recipient
            if not record or not check.mailing_id or record._name != check.mailing_id.mailing_model_real:
                check.update({"text": False, "number": False, "encoding": False, "segments": 0,
                              "cost_note": False})
                continue
            mailing = check.mailing_id
            # Not excluded like a mailing would: the check shows the text even for a blacklisted number.
            estimate = mailing._get_sms_cost_estimate(res_ids=[record.id], use_blacklist=False)
            numbers = mailing._sms_estimate_numbers(record._name, [record.id])
            if estimate["cost"] is None:
                cost_note = _("cost not available for this destination")
            elif estimate["recipients"]:
                cost_note = "%s %.2f" % (estimate["currency"] or "", estimate["cost"])
            else:
                cost_note = _("not sent: %s", ", ".join(estimate["excluded"]))
            check.update({
                "text": estimate["sample"], "number": numbers.get(record.id) or _("no valid number"),
                "encoding": estimate["encoding"], "segments": estimate["segments"], "cost_note": cost_note,
            })
