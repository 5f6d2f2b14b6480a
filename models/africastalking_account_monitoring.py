import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import html_escape

_logger = logging.getLogger(__name__)

# Sends older than this are not waited for any more: AT reports within seconds, a few messages stay "Sent" for
# hours (an inactive number), and a week-old silence was already reported.
SILENCE_HORIZON = timedelta(days=2)
# The applier writes an account's last report time at most this often (concurrent appliers would otherwise
# fight over the account's row).
LAST_REPORT_PRECISION = timedelta(minutes=1)


class AfricasTalkingAccount(models.Model):
    """Delivery-report monitoring: the time of the last report received, and one activity for administrators
    when sent SMS stop getting reports (a wrong callback URL in the AT dashboard looks exactly like silence)."""

    _name = "africastalking.account"
    _inherit = ["africastalking.account", "mail.thread", "mail.activity.mixin"]

    last_report_date = fields.Datetime(
        "Last Delivery Report", readonly=True, copy=False,
        help="When Africa's Talking last posted a delivery report for this account (to the minute).")
    report_silence_since = fields.Datetime(
        "Reports Missing Since", readonly=True, copy=False,
        help="Set when administrators were told that delivery reports stopped; cleared by the next report.")

    @api.model
    def _note_reports_received(self, account, received_at):
        """Called per applied batch: remember the newest report time, and end a silence episode."""
        received_at = received_at or fields.Datetime.now()
        self.env.cr.execute(
            """UPDATE africastalking_account SET last_report_date = %s, report_silence_since = NULL
                WHERE id = %s AND (last_report_date IS NULL OR last_report_date < %s)""",
            (received_at, account.id, received_at - LAST_REPORT_PRECISION))
        if self.env.cr.rowcount:
            account.invalidate_recordset(["last_report_date", "report_silence_since"])

    @api.model
    def _cron_check_report_silence(self):
        """One activity per silence episode and account: SMS sent more than the company's threshold ago got no
        report, at least the company's minimum of them, and no report of any SMS came since they left."""
        now = fields.Datetime.now()
        for account in self.sudo().search([("active", "=", True)]):
            company = account.company_id
            cutoff = now - timedelta(minutes=company.sms_report_silence_minutes or 30)
            if account.report_silence_since or (account.last_report_date and account.last_report_date >= cutoff):
                continue  # already told, or reports arrive
            silent = account._silent_messages(cutoff, now - SILENCE_HORIZON,
                                              company.sms_report_silence_min_messages or 1)
            if silent["count"] >= (company.sms_report_silence_min_messages or 1) and (
                    not account.last_report_date or account.last_report_date < silent["since"]):
                account._notify_report_silence(silent, now)

    def _silent_messages(self, cutoff, horizon, enough):
        """How many (up to ``enough``) sent SMS of this account since ``horizon`` and before ``cutoff`` got no
        report, and when the first of them left."""
        self.env["africastalking.message"].flush_model()
        self.env.cr.execute(
            """SELECT count(*), min(send_date) FROM (
                   SELECT send_date FROM africastalking_message
                    WHERE account_id = %s AND state = 'pending' AND report_date IS NULL
                      AND send_date >= %s AND send_date < %s
                    ORDER BY send_date LIMIT %s) silent""",
            (self.id, horizon, cutoff, enough))
        count, since = self.env.cr.fetchone()
        return {"count": count, "since": since}

    def _notify_report_silence(self, silent, now):
        self.ensure_one()
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url") or ""
        minutes = self.company_id.sms_report_silence_minutes or 30
        note = _(
            "<p>%(count)s or more SMS sent by this account since %(since)s (UTC) got no delivery report for over "
            "%(minutes)s minutes; the last report came %(last)s.</p>"
            "<p>Please check:</p><ul>"
            "<li>In the Africa's Talking dashboard (SMS › SMS Callback URLs), the <b>Delivery Reports</b> URL is this "
            "account's (Callback URLs tab; generate new URLs if unsure and paste them there).</li>"
            "<li>Odoo's <code>web.base.url</code> (now %(base_url)s) is the public HTTPS address Africa's Talking "
            "can reach, and no firewall or proxy blocks it.</li>"
            "<li>Odoo's cron workers run (the reports are applied by the cron 'Africa's Talking: apply delivery "
            "reports').</li></ul>",
            count=silent["count"], since=silent["since"], minutes=minutes,
            last=self.last_report_date or _("never"), base_url=html_escape(base_url))
        self.activity_schedule(
            "mail.mail_activity_data_todo", date_deadline=fields.Date.context_today(self),
            summary=_("Delivery reports stopped arriving"), note=note,
            user_id=self._report_silence_responsible().id)
        self.write({"report_silence_since": now})
        _logger.warning("Africa's Talking account %s: %d sent SMS got no delivery report for %d minutes",
                        self.id, silent["count"], minutes)

    def _report_silence_responsible(self):
        """An administrator of the account's company: the one who created the account if still one, else the
        first active one."""
        admin_group = self.env.ref("base.group_system")
        creator = self.create_uid
        if creator.active and admin_group in creator.groups_id and self.company_id in creator.company_ids \
                and not creator.share:
            return creator
        admins = admin_group.users.filtered(lambda user: user.active and not user.share
                                            and self.company_id in user.company_ids)
        return admins.sorted("id")[:1] or self.env.ref("base.user_admin")
