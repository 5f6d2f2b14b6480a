from odoo import SUPERUSER_ID, _, api, fields, models

from .ir_actions_server import AUTOMATED_SEND_KEY
from .mail_notification import AT_FAILURE_LABELS
from .sms_spend import SpendRefused

# Set by a mailing launch (mailing.mailing_spend): the mailing's SMS created while it prepares are paid by the
# mailing's reservation, not reserved one by one.
MAILING_SPEND_KEY = "sms_spend_mailing"
# Who caused a send when it is not the user running the code (an alert rule's author, the API caller of a
# scheduled SMS): their budgets count it.
SPEND_USER_KEY = "sms_spend_user_id"
# Origins that run without anyone to tell (crons, callbacks): a refused SMS fails with the reason instead of
# raising, which would retry the cron forever or answer AT's callback with an error.
UNATTENDED_ORIGINS = ("alert", "keyword")


class SmsSms(models.Model):
    """The chokepoint of the SMS ledger.

    Every path that makes AT spend money ends in an ``sms.sms`` row that the queue dispatches: composers in every
    mode, the contact's SMS button, server and automated actions, alert rules, the API, keyword replies, the
    mailing Test, resends. So the reservation is made where those rows are created (``create``) or put back in the
    queue (``resend_failed``, ``action_set_outgoing``), in the transaction that queues them: refused, nothing is
    queued. A mailing reserves its whole estimate at launch (mailing.mailing_spend) because its SMS are written
    in bulk, chunk by chunk, and must never half-send; ``send`` itself is too late (the author is gone, the send
    half-done). The queue settles each line with AT's billed cost after each dispatch (``_africastalking_write_back``).
    """

    _inherit = "sms.sms"

    # AT's words for the failures the ledger and AT report (see mail_notification.py)
    failure_type = fields.Selection(selection_add=AT_FAILURE_LABELS)
    at_spend_id = fields.Many2one("sms.spend", "Ledger Line", readonly=True, copy=False, ondelete="set null",
                                  index="btree_not_null")

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records._sms_spend_reserve_queued()
        return records

    def resend_failed(self):
        self.check_access_rights("write")
        self.check_access_rule("write")
        self.filtered(lambda sms: sms.state == "error" and not sms.to_delete)._sms_spend_reserve(force=True)
        return super().resend_failed()

    def action_set_outgoing(self):
        self.filtered(lambda sms: sms.state != "outgoing")._sms_spend_reserve(force=True)
        return super().action_set_outgoing()

    def action_set_canceled(self):
        result = super().action_set_canceled()
        self.sudo().at_spend_id._close_finished()
        return result

    @api.model
    def _process_queue(self, ids=None):
        result = super()._process_queue(ids=ids)
        # What the run spent shows in the balance (and its low-balance alert) within a minute, not at the next
        # manual check; rate-limited per account (africastalking_account_low_balance.py).
        self.env["africastalking.account"].sudo()._sms_refresh_balances_after_dispatch()
        return result

    def _africastalking_write_back(self, results, unlink_failed=False, unlink_sent=True, auto_commit=False):
        result = super()._africastalking_write_back(results, unlink_failed=unlink_failed, unlink_sent=unlink_sent,
                                                    auto_commit=auto_commit)
        self.env["sms.spend"].sudo()._settle_sms(self.ids)
        return result

    # ------------------------------------------------------------------
    # Reservation
    # ------------------------------------------------------------------

    def _sms_spend_reserve_queued(self):
        todo = self.filtered(lambda sms: sms.state == "outgoing" and not sms.at_spend_id)
        if self.env.context.get(MAILING_SPEND_KEY):
            # Prepared by a mailing launch: its reservation pays them (linked when they are settled)
            todo = todo.filtered(lambda sms: not sms.mailing_id or sms.at_origin == "test")
        todo._sms_spend_reserve()

    def _sms_spend_reserve(self, force=False):
        """Reserve the cost of ``self`` (per company and origin) on the ledger and link each SMS to its line."""
        if not self:
            return
        spends = self.env["sms.spend"].sudo()
        for (company, origin), group in self.grouped(
                lambda sms: (sms.company_id or self.env.company, sms.at_origin)).items():
            texts = [(sms._africastalking_number(), sms.body) for sms in group]
            estimate = spends._estimate_texts(company, texts)
            try:
                spend = spends._reserve(company, estimate, user=group._sms_spend_user(), origin=origin or "other",
                                        name=group._sms_spend_name(origin), sms_count=len(group))
            except SpendRefused as refusal:
                if not group._sms_spend_unattended():
                    raise
                group._sms_spend_refuse(str(refusal))
                continue
            if spend or force:
                group.sudo().write({"at_spend_id": spend.id or False})

    def _sms_spend_user(self):
        user_id = self.env.context.get(SPEND_USER_KEY)
        if user_id:
            return self.env["res.users"].browse(user_id)
        if self.env.uid == SUPERUSER_ID or self[:1].at_origin == "keyword" or self.env.user._is_public():
            return self.env["res.users"]  # the system answers or runs it: nobody's budget
        return self.env.user

    def _sms_spend_unattended(self):
        return (self[:1].at_origin in UNATTENDED_ORIGINS or self.env.context.get(AUTOMATED_SEND_KEY)
                or self.env.uid == SUPERUSER_ID)

    def _sms_spend_name(self, origin):
        first = self[:1]
        what = dict(self._fields["at_origin"]._description_selection(self.env)).get(origin) or _("SMS")
        if first.mailing_id:
            what = "%s: %s" % (what, first.mailing_id.subject or first.mailing_id.display_name)
        return _("%(what)s, %(count)s SMS (%(number)s%(more)s)", what=what, count=len(self),
                 number=first.number or "", more=" …" if len(self) > 1 else "")

    def _sms_spend_refuse(self, reason):
        """An unattended send the balance or a budget cannot pay: its SMS fail with the reason (AT's words), so the
        chatter, the Sent SMS log and the alert say why; nothing leaves."""
        self.sms_tracker_id._action_update_from_sms_state("error", failure_type="sms_credit", failure_reason=reason)
        self.sudo().write({"state": "error", "failure_type": "sms_credit", "at_failure_reason": reason})
