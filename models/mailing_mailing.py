from odoo import _, api, fields, models


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    def action_send_sms(self, res_ids=None):
        """Start dispatching as soon as the mailing is prepared, not at the next hourly SMS cron."""
        res = super().action_send_sms(res_ids=res_ids)
        self.env["sms.sms"]._africastalking_trigger_queue()
        return res

    # ------------------------------------------------------------------
    # Guardians: "send to the parents of these students"
    # ------------------------------------------------------------------

    sms_target_guardians = fields.Boolean(
        "Send to Their Guardians",
        help="The filter selects people (e.g. students of a class); the SMS goes to their parents / guardians.",
    )
    sms_guardian_valid_count = fields.Integer(
        "Guardians Reachable", compute="_compute_sms_guardian_valid_count",
        help="Guardians of the selected people having a valid mobile number and not opted out.",
    )

    @api.depends("sms_target_guardians", "mailing_domain", "mailing_model_real")
    def _compute_sms_guardian_valid_count(self):
        for mailing in self:
            mailing.sms_guardian_valid_count = (
                len(mailing._sms_guardians_of(mailing._sms_selected_people())) if mailing._sms_targets_guardians()
                else 0
            )

    def _sms_targets_guardians(self):
        self.ensure_one()
        return self.mailing_type == "sms" and self.sms_target_guardians and self.mailing_model_real == "res.partner"

    def _sms_selected_people(self):
        return self.env["res.partner"].search(self._parse_mailing_domain())

    @api.model
    def _sms_guardians_of(self, people):
        return people._sms_guardians().sorted("id")

    def _compute_total(self):
        super()._compute_total()
        for mailing in self.filtered(lambda m: m._sms_targets_guardians()):
            mailing.total = len(mailing._sms_guardians_of(mailing._sms_selected_people()))

    def _get_recipients(self):
        res_ids = super()._get_recipients()
        if not self._sms_targets_guardians():
            return res_ids
        # Traces, "remaining recipients" and statistics are then kept on the guardians, the real recipients.
        return self._sms_guardians_of(self.env["res.partner"].browse(res_ids)).ids

    # ------------------------------------------------------------------
    # Unsubscribe page
    # ------------------------------------------------------------------

    @api.model
    def _sms_africastalking_opt_out(self, trace, number):
        """Opt ``number`` (E.164, checked against ``trace``) out of the trace's mailing.

        A mailing on lists opts the number out of those lists only; any other mailing blacklists it.
        Returns the lists left and the lists the number is still subscribed to, for the page.
        """
        mailing = trace.mass_mailing_id
        lists = mailing.contact_list_ids
        lists_optout = self.env["mailing.list"]
        if lists:
            subscriptions = self.env["mailing.subscription"].search([
                ("list_id", "in", lists.ids), ("contact_id.phone_sanitized", "=", number),
            ])
            subscriptions.write({"opt_out": True})
            lists_optout = subscriptions.list_id
        else:
            self.env["phone.blacklist"]._africastalking_block(
                [number], "page",
                message=_("Opted out on the SMS unsubscribe page (mailing %s).", mailing.display_name))
        lists_optin = self.env["mailing.subscription"].search([
            ("contact_id.phone_sanitized", "=", number), ("list_id", "not in", lists.ids), ("opt_out", "=", False),
        ]).list_id
        return {"lists_optout": lists_optout, "lists_optin": lists_optin}
