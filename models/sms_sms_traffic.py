from odoo import api, fields, models

# Promotional SMS (mailings, broadcasts) go out with the account's promotional sender and respect network
# opt-outs; transactional ones (alerts, single SMS, the contact's SMS button, API calls) use the transactional
# sender, and a network opt-out of promotional SMS does not stop them. STOP and the unsubscribe page stop both.
SMS_TRAFFIC = [("promotional", "Promotional"), ("transactional", "Transactional")]
TRAFFIC_CONTEXT_KEY = "sms_at_traffic"
TRAFFIC_HELP = ("Promotional: the account's promotional sender ID, and numbers that refused promotional SMS at "
                "their network are skipped. Transactional: the transactional sender ID; only a STOP reply or the "
                "unsubscribe page stops it.")




class SmsSms(models.Model):
    _inherit = "sms.sms"

    at_traffic = fields.Selection(SMS_TRAFFIC, "Traffic", readonly=True, copy=False, help=TRAFFIC_HELP)

    @api.model_create_multi
    def create(self, vals_list):
        for values in vals_list:
            values["at_traffic"] = self._africastalking_default_traffic(values)
        return super().create(vals_list)

    def _africastalking_default_traffic(self, values):
        """What the sender said, else the mailing's traffic for a mailing's SMS, else transactional."""
        traffic = values.get("at_traffic") or self.env.context.get(TRAFFIC_CONTEXT_KEY)
        if traffic in dict(SMS_TRAFFIC):
            return traffic
        if values.get("mailing_id"):
            return self.env["mailing.mailing"].browse(values["mailing_id"]).sudo().sms_traffic or "promotional"
        return "transactional"

    def _africastalking_send_rows(self, account, rows):
        """Transactional SMS leave with the account's transactional sender ID, when it has one."""
        if not account or not account.transactional_sender_id or not rows:
            return super()._africastalking_send_rows(account, rows)
        traffic = self._africastalking_traffic_of([row.id for row in rows])
        results = []
        for kind in ("promotional", "transactional"):
            group = [row for row in rows if traffic.get(row.id) == kind]
            if group:
                results += super()._africastalking_send_rows(
                    account.with_context(**{TRAFFIC_CONTEXT_KEY: kind}), group)
        for result in results:
            result.account = account
        return results

    def _africastalking_traffic_of(self, sms_ids):
        """``{sms id: traffic}``; SMS a mailing wrote in bulk (no ORM) take their mailing's traffic."""
        self.flush_model(["at_traffic", "mailing_id"])
        self.env.cr.execute(
            """SELECT s.id, COALESCE(s.at_traffic, m.sms_traffic,
                                     CASE WHEN s.mailing_id IS NOT NULL THEN 'promotional' ELSE 'transactional' END)
                 FROM sms_sms s LEFT JOIN mailing_mailing m ON m.id = s.mailing_id
                WHERE s.id = ANY(%s)""", (list(sms_ids),))
        return dict(self.env.cr.fetchall())
