from odoo import _, api, models

from .sms_consent import CONSENT_EVIDENCE_KEY, CONSENT_SOURCE_KEY


class AfricasTalkingMessage(models.Model):
    _inherit = "africastalking.message"

    @api.model
    def _block_numbers_blacklisted_at_network(self, reports):
        """UserInBlacklist blocks are recorded as the network's, with AT's report as evidence."""
        evidence = {report.phone_number: _("AT delivery report of %(id)s: %(reason)s",
                                           id=report.message_id, reason=report.failure_reason or report.status)
                    for report in reports}
        return super(AfricasTalkingMessage, self.with_context(**{
            CONSENT_SOURCE_KEY: "network", CONSENT_EVIDENCE_KEY: evidence,
        }))._block_numbers_blacklisted_at_network(reports)
