import logging
from urllib.parse import urlencode

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

_logger = logging.getLogger(__name__)

CONSENT_SOURCES = [
    ("keyword", "STOP / START keyword"),
    ("keyword_join", "Keyword: join"),
    ("keyword_leave", "Keyword: leave"),
    ("double_opt_in_request", "Double opt-in: requested"),
    ("double_opt_in_confirm", "Double opt-in: confirmed"),
    ("page", "Unsubscribe link page"),
    ("at_optout", "Africa's Talking opt-out"),
    ("network", "Mobile network block (UserInBlacklist)"),
    ("premium", "Premium subscription (Africa's Talking)"),
    ("import", "Contact import"),
    ("manual", "Changed by a user"),
    ("system", "System"),
]

# Context keys the entry points set before they change a blacklist entry or a list subscription; the low-level
# hooks (phone.blacklist, mailing.subscription) read them and write the consent record.
CONSENT_SOURCE_KEY = "sms_consent_source"
CONSENT_INBOUND_KEY = "sms_consent_inbound_id"
CONSENT_EVIDENCE_KEY = "sms_consent_evidence"  # {number: evidence text} or one text for all numbers


class SmsConsent(models.Model):
    """One opt-in or opt-out of a phone number, as it happened: append-only evidence of consent (Kenya Data
    Protection Act 2019 s. 30/32, GDPR art. 7(1): the controller must be able to show that the person consented).

    Nobody changes or deletes a record through Odoo, administrators and ``sudo()`` included: ``write`` and
    ``unlink`` always refuse. Records are written by the code at the place consent changes (see the hooks in
    phone.blacklist and mailing.subscription), never typed in.
    """

    _name = "sms.consent"
    _description = "SMS Consent Record"
    _order = "date desc, id desc"
    _rec_name = "number"
    _log_access = True

    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now, index=True)
    number = fields.Char(required=True, readonly=True, index=True)
    consent = fields.Selection(
        [("opt_in", "Opt-in"), ("opt_out", "Opt-out"), ("requested", "Opt-in requested (unconfirmed)")],
        required=True, readonly=True,
        help="'Opt-in requested': a keyword join waiting for its double opt-in confirmation; it subscribes nothing.")
    scope = fields.Selection([("all", "All SMS mailings (blacklist)"), ("list", "Mailing list")],
                             required=True, readonly=True, default="all")
    mailing_list_id = fields.Many2one("mailing.list", readonly=True, ondelete="set null",
                                      index="btree_not_null")
    list_name = fields.Char(readonly=True, help="Kept when the list is deleted.")
    source = fields.Selection(CONSENT_SOURCES, required=True, readonly=True, default="system")
    inbound_id = fields.Many2one("africastalking.inbound", "Incoming SMS", readonly=True, ondelete="set null")
    evidence = fields.Char(readonly=True, help="What proves it: the SMS received, the AT message, the file row...")
    user_id = fields.Many2one("res.users", "By User", readonly=True, ondelete="set null",
                              help="The user who made the change, for a change made in Odoo.")
    company_id = fields.Many2one("res.company", readonly=True, index=True, default=lambda self: self.env.company)

    # ------------------------------------------------------------------
    # Append-only
    # ------------------------------------------------------------------

    # Append-only: no write and no delete, even as superuser.
    def write(self, vals):  # pylint: disable=method-required-super
        raise AccessError(_("Consent records cannot be changed: they are the evidence of what happened."))

    def unlink(self):  # pylint: disable=method-required-super
        raise AccessError(  # pylint: disable=no-raise-unlink
            _("Consent records cannot be deleted: they are the evidence of what happened."))

    # ------------------------------------------------------------------
    # Recording
    # ------------------------------------------------------------------

    @api.model
    def _record(self, numbers, consent, mailing_list=None, source=None, evidence=None, inbound=None, user=None):
        """Append one record per number of ``numbers`` (E.164), as the superuser: callers are the hooks and entry
        points, after they checked their caller. Source, inbound SMS and evidence default to the context's."""
        numbers = [number for number in dict.fromkeys(numbers) if number]
        if not numbers:
            return self.browse()
        context = self.env.context
        source = source or context.get(CONSENT_SOURCE_KEY) or self._default_source()
        inbound_id = inbound.id if inbound else context.get(CONSENT_INBOUND_KEY)
        evidence = evidence if evidence is not None else context.get(CONSENT_EVIDENCE_KEY)
        user = user if user is not None else self._acting_user()
        company_id = self.env["africastalking.inbound"].browse(inbound_id).company_id.id if inbound_id else False
        return self.sudo().create([{
            "number": number,
            "consent": consent,
            "scope": "list" if mailing_list else "all",
            "mailing_list_id": mailing_list.id if mailing_list else False,
            "list_name": mailing_list.name if mailing_list else False,
            "source": source,
            "inbound_id": inbound_id or False,
            "evidence": (evidence.get(number) if isinstance(evidence, dict) else evidence) or False,
            "user_id": user.id if user else False,
            "company_id": company_id or self.env.company.id,
        } for number in numbers])

    @api.model
    def _acting_user(self):
        """The real user behind a change (not the superuser of a cron or the public user of a callback)."""
        user = self.env.user
        if self.env.uid == self.env.ref("base.user_root").id or user._is_public():
            return self.env["res.users"]
        return user

    @api.model
    def _default_source(self):
        return "manual" if self._acting_user() else "system"

    # ------------------------------------------------------------------
    # History of one number
    # ------------------------------------------------------------------

    @api.model
    def _history_domain(self, numbers):
        return [("number", "in", [number for number in numbers if number])]

    @api.model
    def _action_history(self, numbers, name):
        return {
            "type": "ir.actions.act_window",
            "name": _("Consent: %s", name),
            "res_model": "sms.consent",
            "view_mode": "tree,form",
            "domain": self._history_domain(numbers),
            "context": {"create": False},
        }


def export_consent_action(numbers):
    """The download of the consent history of ``numbers`` (controllers/consent.py)."""
    query = urlencode([("number", number) for number in numbers if number])
    return {"type": "ir.actions.act_url", "url": "/sms_africastalking/consent.csv?%s" % query, "target": "download"}
