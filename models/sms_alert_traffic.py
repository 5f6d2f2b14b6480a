from odoo import api, fields, models

from .sms_sms_traffic import SMS_TRAFFIC, TRAFFIC_CONTEXT_KEY, TRAFFIC_HELP


class SmsAlertRule(models.Model):
    _inherit = "sms.alert.rule"

    sms_traffic = fields.Selection(SMS_TRAFFIC, "SMS Traffic", default="transactional", required=True,
                                   help=TRAFFIC_HELP)

    def _new_alert_values(self):
        # What the alert's _compute_sms_traffic gives it, once for all its alerts
        return dict(super()._new_alert_values(), sms_traffic=self.sms_traffic or "transactional")


class SmsAlert(models.Model):
    """Alerts and API sends are transactional unless their rule (or the API call) says promotional."""

    _inherit = "sms.alert"

    sms_traffic = fields.Selection(SMS_TRAFFIC, "SMS Traffic", compute="_compute_sms_traffic", store=True,
                                   readonly=False, precompute=True, help=TRAFFIC_HELP)

    @api.depends("rule_id.sms_traffic")
    def _compute_sms_traffic(self):
        for alert in self:
            alert.sms_traffic = alert.rule_id.sms_traffic or alert.sms_traffic or "transactional"

    def _queue_sms(self, bodies):
        sent = self.browse()
        for traffic in ("promotional", "transactional"):
            alerts = self.filtered(lambda alert, traffic=traffic: (alert.sms_traffic or "transactional") == traffic)
            if alerts:
                sent |= super(SmsAlert, alerts.with_context(**{TRAFFIC_CONTEXT_KEY: traffic}))._queue_sms(bodies)
        return sent.with_env(self.env)

    def _get_excluded_numbers(self, numbers):
        excluded = super()._get_excluded_numbers(numbers)
        if self.env.context.get(TRAFFIC_CONTEXT_KEY, "transactional") == "transactional":
            for number in self.env["phone.blacklist"].sudo()._africastalking_promotional_only(set(excluded)):
                excluded.pop(number, None)
        return excluded
