from odoo import fields, models

from ..models.sms_sms_traffic import SMS_TRAFFIC, TRAFFIC_CONTEXT_KEY, TRAFFIC_HELP


class SmsComposer(models.TransientModel):
    """An SMS written in the composer (a contact's SMS button, a record's "Send SMS") is transactional by default."""

    _inherit = "sms.composer"

    sms_traffic = fields.Selection(SMS_TRAFFIC, "SMS Traffic", default="transactional", required=True,
                                   help=TRAFFIC_HELP)

    def action_send_sms(self):
        if self.env.context.get(TRAFFIC_CONTEXT_KEY) != self.sms_traffic:
            return self.with_context(**{TRAFFIC_CONTEXT_KEY: self.sms_traffic}).action_send_sms()
        return super().action_send_sms()

    def _get_blacklist_record_ids(self, records, recipients_info):
        """A transactional mass send skips only numbers that refused every SMS, not promotional ones only."""
        blacklisted_ids = super()._get_blacklist_record_ids(records, recipients_info)
        if self.sms_traffic != "transactional" or not blacklisted_ids:
            return blacklisted_ids
        numbers = {recipients_info[record_id]["sanitized"] for record_id in blacklisted_ids
                   if recipients_info.get(record_id, {}).get("sanitized")}
        promotional_only = self.env["phone.blacklist"].sudo()._africastalking_promotional_only(numbers)
        return [record_id for record_id in blacklisted_ids
                if recipients_info.get(record_id, {}).get("sanitized") not in promotional_only]
