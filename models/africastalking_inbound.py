import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models

from ..tools.keywords import parse_keyword
from ..tools.phone import normalize_number

_logger = logging.getLogger(__name__)

# A number gets at most one answer per keyword in this window: the replies cost the company money, and a loop
# (an auto-responder answering our answer) or a flood of STOPs must not turn into as many paid SMS.
KEYWORD_REPLY_INTERVAL_MINUTES = 15


class AfricasTalkingInbound(models.Model):
    """An SMS a person sent to the company's short code or long number, as Africa's Talking forwarded it.

    Keywords (STOP / START / HELP, configured per company) change the number's opt-out and are answered; any
    other text is posted on the chatter of the contacts having that number.
    """

    _name = "africastalking.inbound"
    _description = "Africa's Talking Incoming SMS"
    _order = "id desc"
    _rec_name = "from_number"

    account_id = fields.Many2one("africastalking.account", index=True, ondelete="set null", readonly=True)
    company_id = fields.Many2one("res.company", index=True, readonly=True)
    at_message_id = fields.Char("AT Message ID", readonly=True)
    from_number = fields.Char("From", readonly=True, index=True)
    to_number = fields.Char("To", readonly=True)
    text = fields.Text(readonly=True)
    link_id = fields.Char("Link ID", readonly=True)
    network_code = fields.Char(readonly=True)
    received_date = fields.Char("Date (AT)", readonly=True, help="The date Africa's Talking received it, as sent.")
    keyword = fields.Selection(
        [("stop", "STOP"), ("start", "START"), ("help", "HELP")], readonly=True,
        help="The keyword the text matched; empty for an ordinary message.",
    )
    partner_ids = fields.Many2many("res.partner", string="Contacts", readonly=True)
    mailing_contact_ids = fields.Many2many("mailing.contact", string="Mailing Contacts", readonly=True)
    reply_sms_uuid = fields.Char("Reply SMS UUID", readonly=True)

    def init(self):
        # AT retries a callback until it gets 200; its message id makes the retry a no-op.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS africastalking_inbound_account_message_uniq "
            "ON africastalking_inbound (account_id, at_message_id) WHERE at_message_id IS NOT NULL "
            "AND at_message_id != ''"
        )

    # ------------------------------------------------------------------
    # Entry points (called by the controller, after authentication)
    # ------------------------------------------------------------------

    @api.model
    def _process_inbound_message(self, account, message):
        """Log ``message`` (tools.at_callbacks.InboundMessage) and act on it; a repeat does nothing."""
        inbound = self._claim_message_id(account, message.message_id)
        if inbound is None:
            return self.browse()
        company = account.company_id
        number = self._e164(message.from_number, company)
        keyword = parse_keyword(message.text, company._sms_keywords())
        partners, contacts = self._matching_contacts(number, company)
        values = {
            "account_id": account.id,
            "company_id": company.id,
            "from_number": number,
            "to_number": message.to or False,
            "text": message.text,
            "link_id": message.link_id or False,
            "network_code": message.network_code or False,
            "received_date": message.date or False,
            "keyword": keyword or False,
            "partner_ids": [fields.Command.set(partners.ids)],
            "mailing_contact_ids": [fields.Command.set(contacts.ids)],
        }
        if inbound:
            inbound.write(values)
        else:
            inbound = self.create(values)
        if keyword:
            inbound._apply_keyword()
        else:
            inbound._process_message()
        return inbound

    @api.model
    def _process_opt_out(self, account, opt_out):
        """AT's bulk SMS opt-out: the subscriber already left the sender id at AT; stop mailing them here too."""
        number = self._e164(opt_out.phone_number, account.company_id)
        message = _("Opted out at Africa's Talking (sender %s).", opt_out.sender_id or "-")
        return self.env["phone.blacklist"]._africastalking_block([number], "at_optout", message=message)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    @api.model
    def _claim_message_id(self, account, message_id):
        """The row reserved for AT's ``message_id`` (empty without an id), or None when it was already received.

        One INSERT ... ON CONFLICT DO NOTHING on the unique (account, AT id) index: a repeat finds the id taken and
        does nothing. A repeat posted while the first post is still in its transaction waits for it; once the first
        commits, PostgreSQL (repeatable read) raises a serialization failure instead of a "duplicate key" error, and
        Odoo's request loop retries the whole request on a fresh snapshot, where the id is taken: a quiet 200.
        The failure is expected, so the cursor does not log it as a bad query.
        """
        if not message_id:
            return self.browse()
        self.env.cr.execute(
            """
            INSERT INTO africastalking_inbound (account_id, company_id, at_message_id, create_uid, create_date,
                                                write_uid, write_date)
            VALUES (%s, %s, %s, %s, now() at time zone 'UTC', %s, now() at time zone 'UTC')
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            (account.id, account.company_id.id, message_id, self.env.uid, self.env.uid),
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0]) if row else None

    @api.model
    def _e164(self, number, company):
        normalized = normalize_number(number, company.country_id.code or None)
        return normalized.e164 or number

    @api.model
    def _matching_contacts(self, number, company):
        partners = self.env["res.partner"].search([
            ("phone_sanitized", "=", number), ("company_id", "in", [False, company.id]),
        ])
        contacts = self.env["mailing.contact"].search([("phone_sanitized", "=", number)])
        return partners, contacts

    def _apply_keyword(self):
        self.ensure_one()
        if self.keyword == "stop":
            self.env["phone.blacklist"]._africastalking_block(
                [self.from_number], "keyword", message=_("Opted out by SMS: %s", self.text))
        elif self.keyword == "start":
            self.env["phone.blacklist"]._africastalking_unblock(
                [self.from_number], message=_("Opted in again by SMS: %s", self.text))
            # A START is the owner's explicit wish: it also lifts the list opt-outs of that number.
            subscriptions = self.env["mailing.subscription"].search([
                ("contact_id.phone_sanitized", "=", self.from_number), ("opt_out", "=", True),
            ])
            subscriptions.write({"opt_out": False})
        self._send_reply()

    def _send_reply(self):
        body = self.company_id._sms_keyword_reply(self.keyword)
        if not body:
            return
        if not normalize_number(self.from_number, self.company_id.country_id.code or None).valid:
            _logger.info("No %s reply to inbound SMS %s: the sender's number is not a valid phone number",
                         self.keyword, self.id)
            return
        if self._recently_replied():
            _logger.info("No %s reply to inbound SMS %s: that number got one less than %s minutes ago",
                         self.keyword, self.id, KEYWORD_REPLY_INTERVAL_MINUTES)
            return
        # Queued like any SMS of the company: sent by the SMS queue through the company's account, and its cost
        # lands on an africastalking.message of that company (its spending).
        sms = self.env["sms.sms"].create({
            "number": self.from_number,
            "body": body,
            "partner_id": self.partner_ids[:1].id,
            "company_id": self.company_id.id,
            "at_origin": "keyword",
        })
        self.reply_sms_uuid = sms.uuid
        sms._send()

    def _recently_replied(self):
        """Whether this number got an answer to the same keyword from this company within the reply window."""
        self.ensure_one()
        since = fields.Datetime.now() - timedelta(minutes=KEYWORD_REPLY_INTERVAL_MINUTES)
        return bool(self.search_count([
            ("id", "!=", self.id), ("company_id", "=", self.company_id.id), ("from_number", "=", self.from_number),
            ("keyword", "=", self.keyword), ("reply_sms_uuid", "!=", False), ("create_date", ">=", since),
        ], limit=1))

    def _process_message(self):
        """An inbound SMS that is no STOP / START / HELP: posted on the sender's contacts. The hook other parts
        extend to route it first (custom keywords, double opt-in confirmations, poll answers)."""
        self._post_on_contacts()

    def _post_on_contacts(self):
        self.ensure_one()
        body = Markup("<p>%s</p><p>%s</p>") % (_("SMS received from %s:", self.from_number), self.text or "")
        # The sender when we know them, else OdooBot: never the public user the callback runs as.
        author = self.partner_ids[:1] or self.env.ref("base.partner_root")
        for record in [*self.partner_ids, *self.mailing_contact_ids]:
            record.with_context(mail_create_nosubscribe=True).message_post(
                body=body, message_type="comment", subtype_xmlid="mail.mt_note", author_id=author.id,
            )
