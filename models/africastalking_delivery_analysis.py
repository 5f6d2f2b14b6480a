from odoo import fields, models, tools
from odoo.tools import SQL

from ..tools.networks import NETWORKS, PREFIX_KEY_LENGTH, fixed_length_prefixes
from .sms_sms import SMS_ORIGINS

# read_group has no median; this model's measures may ask for one (``group_operator="median"``).
MEDIAN = "median"


class AfricasTalkingDeliveryAnalysis(models.Model):
    """Delivery per mobile network, mailing, campaign, account and period: one row per message of the Sent SMS
    log (a view, nothing is copied), grouped by the pivot and graph in SQL.

    Sized for millions of messages: the period filter uses the index on ``send_date`` (see init()); a message no
    report named the network of yet gets its prefix's (a VALUES table of fixed-length prefixes, one hash join on
    ``left(number, 7)``); the network name comes from a small VALUES list joined by code; the median time to
    delivery is PostgreSQL's ``percentile_cont`` per group.
    """

    _name = "africastalking.delivery.analysis"
    _description = "SMS Delivery Analysis"
    _auto = False
    _order = "date desc"
    _rec_name = "network_name"

    date = fields.Datetime("Sent On", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    account_id = fields.Many2one("africastalking.account", readonly=True)
    mailing_id = fields.Many2one("mailing.mailing", readonly=True)
    campaign_id = fields.Many2one("utm.campaign", readonly=True)
    user_id = fields.Many2one("res.users", "Responsible", readonly=True,
                              help="The mailing's responsible: group by it for a team's or a person's mailings.")
    origin = fields.Selection(SMS_ORIGINS, readonly=True)
    state = fields.Selection(
        [("pending", "Sent"), ("delivered", "Delivered"), ("failed", "Failed"), ("rejected", "Not Sent"),
         ("unknown", "Unknown Outcome")], "Status", readonly=True)
    network_code = fields.Char(readonly=True)
    network_name = fields.Char("Network", readonly=True)
    country = fields.Char(readonly=True)
    network_guessed = fields.Boolean(
        readonly=True,
        help="No delivery report named the network yet: it is the one the number's prefix belongs to.")
    currency = fields.Char(readonly=True)
    message_count = fields.Integer("Messages", readonly=True)
    sent_count = fields.Integer("Sent", readonly=True, help="Accepted by Africa's Talking.")
    delivered_count = fields.Integer("Delivered", readonly=True)
    failed_count = fields.Integer("Failed", readonly=True, help="Failed on the network, or refused by Africa's "
                                                                 "Talking.")
    delivery_rate = fields.Float(
        "Delivery Rate (%)", readonly=True, group_operator="avg",
        help="Delivered among the messages whose delivery report is final (delivered or failed).")
    delivery_minutes = fields.Float(
        "Median Time to Delivery (min)", readonly=True, group_operator=MEDIAN, digits=(16, 1),
        help="From the send to the delivery report, for delivered messages: the median of the group.")
    cost = fields.Float(readonly=True, digits=(16, 4))
    parts = fields.Integer(readonly=True)

    def init(self):
        # The dashboard filters by period (last 30 days by default): an index keeps that a range scan.
        self.env.cr.execute("CREATE INDEX IF NOT EXISTS africastalking_message_send_date_idx "
                            "ON africastalking_message (send_date)")
        tools.drop_view_if_exists(self.env.cr, self._table)
        networks = SQL(", ").join(SQL("(%s, %s, %s)", network.code, network.name, network.country or None)
                                  for network in NETWORKS.values())
        prefixes = SQL(", ").join(SQL("(%s, %s)", prefix, code) for prefix, code in fixed_length_prefixes().items())
        self.env.cr.execute(SQL(
            """
            CREATE VIEW %(view)s AS
            SELECT m.id, m.send_date AS date, m.company_id, m.account_id, m.mailing_id, mm.campaign_id, mm.user_id,
                   m.origin,
                   m.state, m.currency, k.code AS network_code,
                   COALESCE(n.name, 'Network ' || k.code) AS network_name, n.country,
                   m.network_code IS NULL AND k.code IS NOT NULL AS network_guessed,
                   1 AS message_count,
                   CASE WHEN m.state != 'rejected' THEN 1 ELSE 0 END AS sent_count,
                   CASE WHEN m.state = 'delivered' THEN 1 ELSE 0 END AS delivered_count,
                   CASE WHEN m.state IN ('failed', 'rejected') THEN 1 ELSE 0 END AS failed_count,
                   CASE m.state WHEN 'delivered' THEN 100.0 WHEN 'failed' THEN 0.0 END AS delivery_rate,
                   CASE WHEN m.state = 'delivered' AND m.report_date >= m.send_date
                        THEN EXTRACT(EPOCH FROM m.report_date - m.send_date) / 60.0 END AS delivery_minutes,
                   m.cost, m.parts
              FROM africastalking_message m
              LEFT JOIN mailing_mailing mm ON mm.id = m.mailing_id
              LEFT JOIN (VALUES %(prefixes)s) AS p(prefix, code)
                     ON m.network_code IS NULL AND p.prefix = left(m.number, %(key_length)s)
             CROSS JOIN LATERAL (SELECT COALESCE(m.network_code, p.code) AS code) k
              LEFT JOIN (VALUES %(networks)s) AS n(code, name, country) ON n.code = k.code
            """,
            view=SQL.identifier(self._table), networks=networks, prefixes=prefixes, key_length=PREFIX_KEY_LENGTH))

    def _read_group_select(self, aggregate_spec, query):
        fname, _property, func = models.parse_read_group_spec(aggregate_spec)
        if func != MEDIAN:
            return super()._read_group_select(aggregate_spec, query)
        if fname not in self._fields or self._fields[fname].type not in ("float", "integer", "monetary"):
            raise ValueError("Invalid field %r for a median" % fname)
        sql_field = self._field_to_sql(self._table, fname, query)
        return SQL("percentile_cont(0.5) WITHIN GROUP (ORDER BY %s)", sql_field), [fname]
