from odoo import _, models

from .sms_consent import CONSENT_EVIDENCE_KEY, CONSENT_SOURCE_KEY


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    def _sms_africastalking_opt_out(self, trace, number):
        """The unsubscribe page's opt-out, recorded as such with the mailing and trace as evidence."""
        evidence = _("Unsubscribe link of mailing “%(mailing)s” (trace %(trace)s)",
                     mailing=trace.mass_mailing_id.display_name, trace=trace.id)
        company = trace.mass_mailing_id.user_id.company_id  # the page runs as the public user
        mailings = self.with_company(company) if company else self
        return super(MailingMailing, mailings.with_context(**{
            CONSENT_SOURCE_KEY: "page", CONSENT_EVIDENCE_KEY: evidence,
        }))._sms_africastalking_opt_out(trace, number)
