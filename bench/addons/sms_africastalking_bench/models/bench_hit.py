from odoo import fields, models


class BenchHit(models.Model):
    """One row per request of the minimal route: the yardstick inserts, as the delivery-report route queues."""

    _name = "sms.africastalking.bench.hit"
    _description = "Benchmark yardstick row"
    _log_access = False

    message_id = fields.Char()
    status = fields.Char()
    received = fields.Datetime()
