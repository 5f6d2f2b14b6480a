from odoo import _, api, fields, models
from odoo.exceptions import UserError


class AfricasTalkingSendConfirm(models.TransientModel):
    """The confirmation of a Send (mailing or broadcast): who receives it, how many parts, what it costs, and what
    blocks or deserves a second look (an empty audience, a text of many parts)."""

    _name = "africastalking.send.confirm"
    _description = "Confirm an SMS Send"

    mailing_id = fields.Many2one("mailing.mailing", ondelete="cascade")
    broadcast_id = fields.Many2one("sms.broadcast", ondelete="cascade")
    send_method = fields.Selection([("put_in_queue", "Send"), ("send_mail", "Send Now"),
                                    ("broadcast", "Broadcast")], required=True, default="put_in_queue")
    recipients = fields.Integer(compute="_compute_summary", store=True)
    segments = fields.Integer(compute="_compute_summary", store=True)
    cost_display = fields.Char("Cost", compute="_compute_summary", store=True)
    summary = fields.Text(compute="_compute_summary", store=True)
    warning = fields.Text(compute="_compute_summary", store=True)
    block_reason = fields.Text(compute="_compute_summary", store=True)
    confirm_label = fields.Char(compute="_compute_summary", store=True)

    @api.depends("mailing_id", "broadcast_id")
    def _compute_summary(self):
        mailings = self.env["mailing.mailing"]
        for confirm in self:
            estimate = confirm._get_estimate()
            if estimate is None:
                confirm.update({"recipients": 0, "segments": 0, "cost_display": False, "summary": False,
                                "warning": False, "block_reason": _("Nothing to send."), "confirm_label": False})
                continue
            check = mailings._sms_send_check(estimate)
            cost = mailings._sms_estimate_cost_text(estimate)
            count = estimate["recipients"]
            confirm.update({
                "recipients": count,
                "segments": estimate["segments"],
                "cost_display": cost,
                "summary": mailings._sms_estimate_summary(estimate),
                "warning": "\n".join(check["warnings"]) or False,
                "block_reason": check["block"],
                "confirm_label": _("Send to 1 recipient") if count == 1 else _("Send to %s recipients", count),
            })

    def _get_estimate(self):
        self.ensure_one()
        if self.mailing_id:
            return self.mailing_id._get_sms_cost_estimate()
        if self.broadcast_id:
            return self.broadcast_id._get_sms_cost_estimate()
        return None

    def _action_open(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Send SMS?"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"dialog_size": "medium"},
        }

    def action_confirm(self):
        """Send as confirmed; the send's own gate (credit, budget, parts cap) runs again on what is there now."""
        self.ensure_one()
        if self.block_reason:
            raise UserError(self.block_reason)
        if self.broadcast_id:
            return self.broadcast_id.with_context(sms_confirm_send=False)._action_send()
        mailing = self.mailing_id.with_context(sms_confirm_send=False)
        if self.send_method == "send_mail":
            mailing.action_send_mail()
        else:
            mailing.action_put_in_queue()
        return {"type": "ir.actions.act_window_close"}

    def action_back(self):
        """Back to the broadcast form (the dialog replaced it); a mailing's form is still under the dialog."""
        self.ensure_one()
        if self.broadcast_id:
            return self.broadcast_id._action_reopen()
        return {"type": "ir.actions.act_window_close"}
