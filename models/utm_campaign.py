from odoo import fields, models


class UtmCampaign(models.Model):
    _inherit = "utm.campaign"

    sms_stat_count = fields.Integer("SMS", compute="_compute_sms_statistics")
    sms_stat_segments = fields.Integer("SMS Segments", compute="_compute_sms_statistics")
    sms_stat_estimated_cost = fields.Float("Estimated SMS Cost", digits=(16, 2), compute="_compute_sms_statistics")
    sms_stat_actual_cost = fields.Float("Actual SMS Cost", digits=(16, 2), compute="_compute_sms_statistics")
    sms_stat_sent = fields.Integer("SMS Sent", compute="_compute_sms_statistics")
    sms_stat_delivered = fields.Integer("SMS Delivered", compute="_compute_sms_statistics")
    sms_stat_failed = fields.Integer("SMS Failed", compute="_compute_sms_statistics")
    sms_stat_opted_out = fields.Integer("SMS Opted Out", compute="_compute_sms_statistics")
    sms_stat_clicked = fields.Integer("SMS Clicked", compute="_compute_sms_statistics")

    def _compute_sms_statistics(self):
        """One grouped query over the SMS traces of all campaigns (traces store their campaign)."""
        stats = {campaign.id: dict.fromkeys(("count", "segments", "cost", "sent", "delivered", "failed",
                                             "opted_out", "clicked"), 0) for campaign in self}
        groups = self.env["mailing.trace"].sudo()._read_group(
            [("campaign_id", "in", self.ids), ("trace_type", "=", "sms")],
            ["campaign_id", "trace_status", "failure_type"],
            ["__count", "at_parts:sum", "at_cost:sum", "links_click_datetime:count", "sent_datetime:count"],
        )
        for campaign, status, failure_type, count, parts, cost, clicked, sent in groups:
            value = stats[campaign.id]
            value["count"] += count
            value["segments"] += parts
            value["cost"] += cost
            value["clicked"] += clicked
            value["sent"] += sent  # as stock's mailing statistics: every trace that left, failed or not
            if status in ("sent", "open", "reply"):
                value["delivered"] += count
            if status in ("error", "bounce"):
                value["failed"] += count
            if failure_type in ("sms_optout", "sms_blacklist"):
                value["opted_out"] += count
        estimated = dict(self.env["mailing.mailing"].sudo()._read_group(
            [("campaign_id", "in", self.ids), ("mailing_type", "=", "sms")], ["campaign_id"],
            ["sms_estimate_cost:sum"]))
        for campaign in self:
            value = stats[campaign.id]
            campaign.update({
                "sms_stat_count": value["count"], "sms_stat_segments": value["segments"],
                "sms_stat_actual_cost": value["cost"], "sms_stat_sent": value["sent"],
                "sms_stat_delivered": value["delivered"], "sms_stat_failed": value["failed"],
                "sms_stat_opted_out": value["opted_out"], "sms_stat_clicked": value["clicked"],
                "sms_stat_estimated_cost": estimated.get(campaign, 0.0),
            })
