from odoo import _, api, fields, models
from odoo.exceptions import UserError


class AfricasTalkingSmsCheck(models.TransientModel):
    """The mailing's one *Check*: the Africa's Talking service and balance, then the SMS a chosen recipient gets
    (the text that leaves, its encoding, segments and cost)."""

    _name = "africastalking.sms.check"
    _description = "Check an SMS for a Recipient"

    mailing_id = fields.Many2one("mailing.mailing", required=True, ondelete="cascade")
    res_model = fields.Char(related="mailing_id.mailing_model_real")
    # The reference widget takes its model from a many2one to ir.model (its ``model_field`` option).
    res_model_id = fields.Many2one("ir.model", compute="_compute_res_model_id")
    recipient = fields.Reference(selection="_selection_recipient_model")
    # Asked from Africa's Talking once, when the check opens (not at each change of recipient).
    account_name = fields.Char("Account", readonly=True)
    service_ok = fields.Boolean(readonly=True)
    service_status = fields.Char("Service", readonly=True)
    balance = fields.Char(readonly=True)
    text = fields.Text("Text Sent", compute="_compute_check")
    number = fields.Char(compute="_compute_check")
    encoding = fields.Char(compute="_compute_check")
    segments = fields.Integer(compute="_compute_check")
    cost_note = fields.Char("Cost", compute="_compute_check")

    @api.model
    def _selection_recipient_model(self):
        return [(model.model, model.name) for model in self.env["ir.model"].sudo().search([])]

    @api.depends("res_model")
    def _compute_res_model_id(self):
        for check in self:
            check.res_model_id = self.env["ir.model"]._get(check.res_model) if check.res_model else False

    @api.model
    def _account_status(self):
        """Service and balance of the company's sending account, as shown to the user.

        Reached through default_get, which any user may call over RPC: the caller's rights on the account
        (SMS Marketing or administrator, one of their companies) are checked before the balance call."""
        account = self.env.company._get_africastalking_account()
        if account:
            account = account.with_env(self.env)  # found with sudo(): back to the caller's rights
            account._check_balance_access()
        if not account:
            return {"account_name": False, "service_ok": False, "balance": False,
                    "service_status": self.env.company._africastalking_no_account_message()}
        try:
            currency, amount = account._fetch_balance()
        except UserError as error:
            return {"account_name": account.name, "service_ok": False, "balance": False,
                    "service_status": str(error)}
        return {"account_name": account.name, "service_ok": True, "balance": "%s %s" % (currency or "", amount),
                "service_status": _("Connected to Africa's Talking as %s.", account.username)}

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if "service_status" in fields_list:
            values.update(self._account_status())
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
            # The recipient is any record the user picks: theirs to read, or refused before anything is rendered
            # (the text renders with its author's rights, which may be wider than the user's).
            record.check_access_rights("read")
            record.check_access_rule("read")
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
