import logging

from odoo import _, models

from ..tools.client_actions import notification
from .sms_sms import ORIGIN_CONTEXT_KEY

_logger = logging.getLogger(__name__)

# Set while a server action sends: the composer then keeps stock's behaviour for an automation (no refusal
# of an empty audience, which would roll back the change that triggered the rule) and the action reports.
AUTOMATED_SEND_KEY = "sms_africastalking_automated"


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def _run_action_sms_multi(self, eval_context=None):
        """Stock queues the SMS and says nothing. Here its SMS carry their origin (cost analysis), and the action
        says what it queued and what it could not send: a notification for whoever ran it from a button or the
        Action menu (an automation ignores it), and a note on each record whose SMS was not sent, with the reason."""
        self.env["sms.sms"].flush_model()
        self.env.cr.execute("SELECT COALESCE(max(id), 0) FROM sms_sms")
        last_id = self.env.cr.fetchone()[0]
        result = super(IrActionsServer, self.with_context(**{ORIGIN_CONTEXT_KEY: "server_action",
                                                             AUTOMATED_SEND_KEY: True}))._run_action_sms_multi(
            eval_context=eval_context)
        records = (eval_context or {}).get("records") or (eval_context or {}).get("record")
        if not self.sms_template_id or not records:
            return result
        # Our transaction's snapshot shows only the SMS it created above last_id.
        sms = self.env["sms.sms"].sudo().search([("id", ">", last_id)])
        return self._sms_feedback(records, sms) or result

    def _sms_feedback(self, records, sms):
        queued = sms.filtered(lambda s: s.state in ("outgoing", "process", "pending", "sent"))
        failed = sms - queued
        labels = dict(self.env["sms.sms"]._fields["failure_type"]._description_selection(self.env))
        if failed and self.sms_method != "comment" and hasattr(records, "_message_log"):
            # "With note" posts the SMS on the chatter with its own failure icon; the other methods leave no trace.
            by_number = {}
            for message in failed:
                by_number.setdefault(message.number, message)
            info = records._sms_get_recipients_info()
            for record in records:
                number = info.get(record.id, {}).get("sanitized") or info.get(record.id, {}).get("number")
                message = by_number.get(number)
                if message or not number:
                    record._message_log(body=_(
                        "SMS \"%(action)s\" not sent to %(number)s: %(reason)s", action=self.name,
                        number=number or _("no number"),
                        reason=(message and (labels.get(message.failure_type) or message.failure_type))
                        or _("no valid mobile number")))
        reasons = ", ".join("%s %s" % (len(group), labels.get(failure_type) or failure_type or _("unknown"))
                            for failure_type, group in _group_by(failed, "failure_type"))
        if failed:
            message = _("%(queued)s SMS queued, %(failed)s not sent (%(reasons)s).", queued=len(queued),
                        failed=len(failed), reasons=reasons)
        elif queued:
            message = _("1 SMS queued.") if len(queued) == 1 else _("%s SMS queued.", len(queued))
        else:
            message = _("No SMS was created: none of the records has a number to send to.")
        _logger.info("Server action %s on %s records: %s", self.id, len(records), message)
        return notification(message, "warning" if failed or not queued else "success", title=self.name,
                            sticky=bool(failed))


def _group_by(records, field_name):
    groups = {}
    for record in records:
        groups.setdefault(record[field_name], record.browse())
        groups[record[field_name]] |= record
    return sorted(groups.items(), key=lambda item: str(item[0]))
