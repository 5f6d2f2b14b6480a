from collections import defaultdict

from odoo import _, api, models

from .sms_consent import CONSENT_EVIDENCE_KEY, CONSENT_SOURCE_KEY


class AfricasTalkingMessage(models.Model):
    _inherit = "africastalking.message"

    @api.model
    def _block_numbers_blacklisted_at_network(self, reports):
        """UserInBlacklist blocks are recorded as the network's, with AT's report as evidence, for the company of
        the message each report is about."""
        if not reports:
            return super()._block_numbers_blacklisted_at_network(reports)
        self.flush_model(["at_message_id", "company_id"])
        self.env.cr.execute(
            "SELECT at_message_id, company_id FROM africastalking_message WHERE at_message_id = ANY(%s)",
            ([report.message_id for report in reports],))
        company_of = dict(self.env.cr.fetchall())
        by_company = defaultdict(list)
        for report in reports:
            by_company[company_of.get(report.message_id)].append(report)
        for company_id, company_reports in by_company.items():
            evidence = {report.phone_number: _("AT delivery report of %(id)s: %(reason)s",
                                               id=report.message_id, reason=report.failure_reason or report.status)
                        for report in company_reports}
            model = self.with_company(company_id) if company_id else self
            super(AfricasTalkingMessage, model.with_context(**{
                CONSENT_SOURCE_KEY: "network", CONSENT_EVIDENCE_KEY: evidence,
            }))._block_numbers_blacklisted_at_network(company_reports)
