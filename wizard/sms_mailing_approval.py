from odoo import api, fields, models


class SmsMailingApproval(models.TransientModel):
    """Approve or refuse a mailing waiting in To Approve, with a note (required to refuse)."""

    _name = "sms.mailing.approval"
    _description = "Approve or Refuse an SMS Mailing"

    mailing_id = fields.Many2one("mailing.mailing", required=True, ondelete="cascade")
    decision = fields.Selection([("approve", "Approve"), ("refuse", "Refuse")], required=True, default="approve")
    note = fields.Text(help="Goes to the mailing and its chatter; required to refuse.")
    approval_reason = fields.Text(related="mailing_id.sms_approval_reason")
    requested_by = fields.Many2one(related="mailing_id.sms_approval_requested_by")

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        # Its related fields read the mailing as the system: only a mailing the user sees may be opened here.
        wizards.mailing_id.check_access_rights("read")
        wizards.mailing_id.check_access_rule("read")
        return wizards

    def action_confirm(self):
        self.ensure_one()
        if self.decision == "approve":
            self.mailing_id._sms_approve(self.note)
        else:
            self.mailing_id._sms_refuse(self.note)
        # The form behind reloads: its state, the approval banner and the chatter say what happened.
        return {"type": "ir.actions.act_window_close"}
