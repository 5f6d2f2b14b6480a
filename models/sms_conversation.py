import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.phone import normalize_number

_logger = logging.getLogger(__name__)

# The thread shows at most this many of the newest messages of each kind; older ones are in the Sent SMS log and
# the Incoming SMS list (filtered by the number).
THREAD_LIMIT = 200
# The index the access rule's join of conversations to mailing contacts by number needs (on stock's table:
# uninstall_hook drops it)
CONTACT_PHONE_INDEX = "mailing_contact_phone_sanitized_idx"


# The bus channel and notification of "unread counts changed" (static/src/components/conversation_systray)
UNREAD_CHANNEL = "sms_africastalking_conversations"
UNREAD_NOTIFICATION = "sms_africastalking/conversation_unread"

class SmsConversation(models.Model):
    """The SMS thread with one phone number (E.164) for one company.

    Designed for volume: a mass mailing creates 100,000 outbound messages, and none of them creates a row here.
    A conversation row exists only once the number has spoken to us (an inbound SMS) or a user opened or answered
    the thread (``_get_or_create``). Its messages are never copied:

    * outbound SMS are read from the message log (``africastalking.message``, every sending path writes there) by
      company and number, with their delivery state; replies still waiting in the SMS queue come from ``sms.sms``
      (``conversation_id``, so that they show at once);
    * inbound SMS are ``africastalking.inbound`` rows linked by ``conversation_id``.

    The row holds only what a list needs (unread count, last message, assignment, state); the thread itself is
    rendered on demand (``thread_html``), limited to the newest THREAD_LIMIT messages of each kind, with an index
    on the log's number (see ``init``).

    The unread count is the number of ordinary inbound SMS (not STOP/START/HELP, which are handled automatically)
    received since someone last read the thread; opening the thread in the form reads it. A *Done* conversation
    reopens when a new ordinary SMS arrives.
    """

    _name = "sms.conversation"
    _description = "SMS Conversation"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "last_message_date desc, id desc"
    _rec_name = "number"

    number = fields.Char(required=True, readonly=True, index=True, help="The phone number, in E.164 form.")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True,
                                 default=lambda self: self.env.company)
    partner_ids = fields.Many2many("res.partner", string="Contacts", compute="_compute_contacts",
                                   search="_search_partner_ids",
                                   help="The contacts having this number (mobile or phone).")
    partner_id = fields.Many2one("res.partner", string="Contact", compute="_compute_contacts")
    mailing_contact_ids = fields.Many2many("mailing.contact", string="Mailing Contacts", compute="_compute_contacts")
    contact_name = fields.Char("Name", compute="_compute_contacts", search="_search_contact_name")
    user_id = fields.Many2one("res.users", string="Assigned To", index=True, tracking=True,
                              domain="[('share', '=', False)]")
    team_id = fields.Many2one("sms.team", index="btree_not_null", tracking=True,
                              domain="[('company_id', '=', company_id)]")
    team_member_ids = fields.Many2many(
        "res.users", string="Team Members", compute="_compute_team_member_ids", search="_search_team_member_ids",
        help="Members of the teams this conversation belongs to: its team, and the teams owning a mailing list "
             "with this number. Conversations of no team are everyone's (see the record rules).")
    state = fields.Selection([("open", "Open"), ("done", "Done")], default="open", required=True, tracking=True,
                             index=True)
    unread_count = fields.Integer("Unread", readonly=True, default=0,
                                  help="Messages received since the thread was last read.")
    inbound_ids = fields.One2many("africastalking.inbound", "conversation_id", string="Received", readonly=True)
    last_inbound_id = fields.Many2one("africastalking.inbound", string="Last Received", readonly=True)
    last_message_date = fields.Datetime("Last Message", readonly=True, index=True)
    last_message_preview = fields.Char("Last Text", readonly=True)
    reply_body = fields.Text("Reply", help="The answer to send to this number.")
    reply_segments = fields.Integer("Segments of the Reply", compute="_compute_reply_cost")
    reply_cost_display = fields.Char("Reply Cost", compute="_compute_reply_cost")
    reply_route = fields.Char("Reply From", compute="_compute_reply_route",
                              help="Where the reply leaves from: the premium short code the person wrote to (with "
                                   "its link id), or the account's sender ID.")
    thread_html = fields.Html("Thread", compute="_compute_thread_html", sanitize=False)
    text_search = fields.Char("Text", compute="_compute_text_search", search="_search_text")

    _sql_constraints = [
        ("number_company_uniq", "UNIQUE(company_id, number)", "There is already a conversation with this number."),
    ]

    def init(self):
        # The thread reads the outbound log by number; the log grows by a mailing's size at a time, so the index
        # is plain (no INCLUDE) to keep its inserts cheap.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS africastalking_message_number_idx ON africastalking_message (number)"
        )
        # The access rule joins conversations to mailing contacts by number (teams own lists, not numbers).
        self.env.cr.execute(SQL(
            "CREATE INDEX IF NOT EXISTS %s ON mailing_contact (phone_sanitized) WHERE phone_sanitized IS NOT NULL",
            SQL.identifier(CONTACT_PHONE_INDEX)))

    # ------------------------------------------------------------------
    # Computes and searches
    # ------------------------------------------------------------------

    @api.depends("number", "company_id")
    def _compute_contacts(self):
        numbers = [number for number in self.mapped("number") if number]
        partners = self.env["res.partner"].search([("phone_sanitized", "in", numbers)]) if numbers else []
        contacts = self.env["mailing.contact"].search([("phone_sanitized", "in", numbers)]) if numbers else []
        for conversation in self:
            own = self.env["res.partner"].browse([
                partner.id for partner in partners if partner.phone_sanitized == conversation.number
                and partner.company_id in (conversation.company_id, self.env["res.company"])])
            mailing_contacts = self.env["mailing.contact"].browse([
                contact.id for contact in contacts if contact.phone_sanitized == conversation.number])
            conversation.partner_ids = own
            conversation.partner_id = own[:1]
            conversation.mailing_contact_ids = mailing_contacts
            conversation.contact_name = ", ".join((own or mailing_contacts).mapped("name")) or False

    @api.depends("partner_ids", "number")
    def _compute_display_name(self):
        for conversation in self:
            name = conversation.contact_name
            conversation.display_name = "%s (%s)" % (name, conversation.number) if name else conversation.number

    @api.depends("team_id", "number")
    def _compute_team_member_ids(self):
        stored = self.filtered(lambda conversation: isinstance(conversation.id, int))
        members = {}
        if stored:
            for model in ("sms.team", "mailing.contact", "mailing.subscription"):
                self.env[model].flush_model()
            self.env.cr.execute(SQL("SELECT conversation_id, array_agg(DISTINCT user_id) FROM (%s) t "
                                    "WHERE conversation_id = ANY(%s) GROUP BY conversation_id",
                                    self._team_membership_query(), stored.ids))
            members = dict(self.env.cr.fetchall())
        for conversation in self:
            conversation.team_member_ids = self.env["res.users"].browse(members.get(conversation.id, []))

    @api.model
    def _team_membership_query(self):
        """(conversation_id, user_id) for each member of each active team a conversation belongs to: its own team,
        and the teams (of its company) owning a mailing list that has a contact with its number."""
        return SQL("""
            SELECT c.id AS conversation_id, m.user_id
              FROM sms_conversation c
              JOIN sms_team t ON t.id = c.team_id AND t.active
              JOIN sms_team_member_rel m ON m.team_id = t.id
             UNION
            SELECT c.id, m.user_id
              FROM sms_conversation c
              JOIN mailing_contact mc ON mc.phone_sanitized = c.number
              JOIN mailing_subscription s ON s.contact_id = mc.id
              JOIN sms_team_mailing_list_rel r ON r.list_id = s.list_id
              JOIN sms_team t ON t.id = r.team_id AND t.active AND t.company_id = c.company_id
              JOIN sms_team_member_rel m ON m.team_id = t.id
        """)

    def _search_team_member_ids(self, operator, value):
        """``in`` users: conversations of those users' teams; ``= False``: conversations of no team at all."""
        for model in ("sms.team", "mailing.contact", "mailing.subscription", "mailing.list"):
            self.env[model].flush_model()
        self.flush_model(["team_id", "number", "company_id"])
        if operator in ("=", "!=") and value is False:
            team_of_some = SQL("(SELECT conversation_id FROM (%s) t)", self._team_membership_query())
            return [("id", "not in" if operator == "=" else "in", team_of_some)]
        if operator == "in" or (operator == "=" and isinstance(value, int)):
            user_ids = [value] if isinstance(value, int) else list(value)
            return [("id", "in", SQL("(SELECT conversation_id FROM (%s) t WHERE user_id = ANY(%s))",
                                     self._team_membership_query(), user_ids))]
        raise UserError(_("Unsupported search on team members."))

    def _compute_text_search(self):
        self.text_search = False

    def _search_partner_ids(self, operator, value):
        partners = self.env["res.partner"].search([("id", operator, value), ("phone_sanitized", "!=", False)])
        return [("number", "in", partners.mapped("phone_sanitized"))]

    def _search_contact_name(self, operator, value):
        if operator not in ("ilike", "=", "like", "=ilike"):
            raise UserError(_("Search conversations by name with 'contains' only."))
        numbers = set(self.env["res.partner"].search(
            [("name", operator, value), ("phone_sanitized", "!=", False)]).mapped("phone_sanitized"))
        numbers |= set(self.env["mailing.contact"].search(
            [("name", operator, value), ("phone_sanitized", "!=", False)]).mapped("phone_sanitized"))
        return [("number", "in", list(numbers))]

    def _search_text(self, operator, value):
        """Conversations where a received or sent SMS contains ``value``.

        Outbound texts are searched per conversation (number index), never across the whole log.
        """
        if operator != "ilike" or not value:
            raise UserError(_("Search conversation texts with 'contains' only."))
        self.env["africastalking.inbound"].flush_model(["text", "conversation_id"])
        self.env["africastalking.message"].flush_model(["body", "number", "company_id"])
        self.flush_model(["number", "company_id"])
        pattern = "%%%s%%" % value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        self.env.cr.execute(
            """
            SELECT c.id FROM sms_conversation c
             WHERE EXISTS (SELECT 1 FROM africastalking_inbound i
                            WHERE i.conversation_id = c.id AND i.text ILIKE %(pattern)s)
                OR EXISTS (SELECT 1 FROM africastalking_message m
                            WHERE m.number = c.number AND m.company_id = c.company_id AND m.body ILIKE %(pattern)s)
            """,
            {"pattern": pattern},
        )
        return [("id", "in", [row[0] for row in self.env.cr.fetchall()])]

    @api.depends("reply_body", "number", "company_id")
    def _compute_reply_cost(self):
        rates = self.env["africastalking.rate"]
        for conversation in self:
            if not conversation.reply_body or not conversation.number:
                conversation.reply_segments = 0
                conversation.reply_cost_display = False
                continue
            pricing = rates._price_texts([(conversation.number, conversation.reply_body)],
                                         company=conversation.company_id)
            conversation.reply_segments = pricing.segments
            conversation.reply_cost_display = (rates._format_cost(pricing.cost, pricing.currency)
                                               if pricing.cost is not None else _("Cost not available"))

    @api.depends("last_inbound_id.link_id", "last_inbound_id.link_reply_uuid", "company_id")
    def _compute_reply_route(self):
        for conversation in self:
            inbound = conversation._premium_inbound()
            if inbound:
                conversation.reply_route = _("Premium short code %s (answer to their SMS)", inbound.to_number)
            else:
                account = conversation.company_id._get_africastalking_account()
                conversation.reply_route = (account.sender_id if account and account.sender_id
                                            else _("The account's default sender"))

    def _premium_inbound(self):
        """The inbound SMS a reply answers through AT's premium send: the newest one of the thread, when it came
        to a premium short code (it has a link id) and its link id was not used by an earlier reply."""
        self.ensure_one()
        inbound = self.sudo().last_inbound_id
        if inbound.link_id and inbound.to_number and not inbound.link_reply_uuid:
            return inbound
        return inbound.browse()

    @api.depends("number", "company_id", "inbound_ids", "last_message_date")
    def _compute_thread_html(self):
        for conversation in self:
            if not conversation.id or not conversation.number:
                conversation.thread_html = False
                continue
            conversation.thread_html = self.env["ir.qweb"]._render(
                "sms_africastalking.sms_conversation_thread",
                {"entries": conversation._thread_entries(), "limit": THREAD_LIMIT},
            )

    def _thread_entries(self):
        """The thread, oldest first: dicts with direction ('in' / 'out'), date, text, state and its label."""
        self.ensure_one()
        entries = []
        inbound = self.env["africastalking.inbound"].search(
            [("conversation_id", "=", self.id)], order="id desc", limit=THREAD_LIMIT)
        for message in inbound:
            entries.append({"direction": "in", "date": message.create_date, "text": message.text or "",
                            "state": message.keyword and "keyword" or "received",
                            "state_label": message.keyword and _("Keyword %s", message.keyword.upper()) or False,
                            "link_id": message.link_id or False, "to": message.to_number or False, "key": message.id})
        messages = self.env["africastalking.message"].search(
            [("number", "=", self.number), ("company_id", "in", [self.company_id.id, False])],
            order="id desc", limit=THREAD_LIMIT)
        states = dict(messages._fields["state"]._description_selection(self.env))
        for message in messages:
            entries.append({"direction": "out", "date": message.send_date or message.create_date,
                            "text": message.body or "", "state": message.state,
                            "state_label": states.get(message.state), "reason": message.failure_reason or False,
                            "origin": message.origin, "key": message.id})
        queued = self.env["sms.sms"].sudo().search([
            ("conversation_id", "=", self.id), ("state", "in", ("outgoing", "process")),
        ], order="id desc", limit=THREAD_LIMIT)
        for sms in queued:
            entries.append({"direction": "out", "date": sms.create_date, "text": sms.body or "",
                            "state": "queued", "state_label": _("Queued"), "key": sms.id})
        entries.sort(key=lambda entry: (entry["date"] or fields.Datetime.now(), entry["direction"] == "out"))
        return entries

    # ------------------------------------------------------------------
    # Reading marks the thread read
    # ------------------------------------------------------------------

    def web_read(self, specification):
        result = super().web_read(specification)
        # The form asks for the thread: the person now sees the messages.
        if "thread_html" in specification and len(self) == 1 and self.unread_count:
            self._mark_read()
            for values in result:
                if "unread_count" in values:
                    values["unread_count"] = 0
        return result

    def _mark_read(self):
        # Whoever may read the thread may mark it read: a counter, not content.
        self.sudo().filtered("unread_count").write({"unread_count": 0})

    # ------------------------------------------------------------------
    # Entry points for other models (inbound, keywords)
    # ------------------------------------------------------------------

    @api.model
    def _get_or_create(self, number, company):
        """The conversation of ``number`` (E.164) and ``company``, created when missing (safe under concurrency:
        two inbound SMS of one new number at once make one row)."""
        if not number:
            raise UserError(_("A conversation needs a phone number."))
        conversation = self.sudo().search([("company_id", "=", company.id), ("number", "=", number)], limit=1)
        if conversation:
            return conversation.with_env(self.env)
        self.flush_model()
        self.env.cr.execute(
            """
            INSERT INTO sms_conversation (number, company_id, state, unread_count, create_uid, create_date,
                                          write_uid, write_date)
            VALUES (%s, %s, 'open', 0, %s, now() at time zone 'UTC', %s, now() at time zone 'UTC')
            ON CONFLICT DO NOTHING
            """,
            (number, company.id, self.env.uid, self.env.uid),
            # A row another transaction committed after our snapshot: PostgreSQL raises a serialization failure
            # and Odoo retries the request on a fresh snapshot (as the inbound claim does); not an error to log.
            log_exceptions=False,
        )
        return self.browse(self.sudo().search([("company_id", "=", company.id), ("number", "=", number)],
                                              limit=1).id)

    @api.model
    def _attach_inbound(self, inbound, unread=True):
        """Put ``inbound`` (africastalking.inbound, already saved) in its number's thread; an ordinary message
        counts as unread and reopens a Done conversation."""
        if not inbound.from_number or not inbound.company_id:
            return self.browse()
        conversation = self._get_or_create(inbound.from_number, inbound.company_id).sudo()
        inbound.sudo().conversation_id = conversation
        # One statement: SMS of one number processed at once must each count, and the one that loses the race gets
        # a serialization failure Odoo retries (expected, so not logged as a bad query).
        self.flush_model()
        self.env.cr.execute(
            """
            UPDATE sms_conversation
               SET unread_count = unread_count + %(unread)s,
                   state = CASE WHEN %(unread)s > 0 THEN 'open' ELSE state END,
                   last_inbound_id = %(inbound)s, last_message_date = %(date)s, last_message_preview = %(preview)s,
                   write_uid = %(uid)s, write_date = now() at time zone 'UTC'
             WHERE id = %(id)s
            """,
            {"unread": 1 if unread else 0, "inbound": inbound.id, "date": inbound.create_date,
             "preview": (inbound.text or "")[:100], "uid": self.env.uid, "id": conversation.id},
            log_exceptions=False,
        )
        conversation.invalidate_recordset()
        if unread:
            conversation._notify_unread_changed()
        return conversation.with_env(self.env)

    def _notify_unread_changed(self):
        """Tell the web clients of SMS Marketing users that unread counts changed (ir_websocket.py subscribes
        them): their systray asks for its own count again, under its record rules, so the message carries none."""
        self.env["bus.bus"]._sendone(UNREAD_CHANNEL, UNREAD_NOTIFICATION, {})

    def _assign(self, user=None, team=None):
        """Assign these conversations to ``user`` (res.users) and/or ``team`` (sms.team); for keyword actions and
        routing rules (no access check: the caller decides)."""
        values = {}
        if user is not None:
            values["user_id"] = user.id
        if team is not None:
            values["team_id"] = team.id
        if values:
            self.sudo().write(values)

    @api.model
    def systray_unread_count(self):
        """What the systray shows: conversations with unread messages the current user can see, or False for a
        user outside SMS Marketing (no icon)."""
        if not self.env.user.has_group("mass_mailing.group_mass_mailing_user"):
            return False
        return self.search_count([("unread_count", ">", 0)])

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_send_reply(self):
        """Queue ``reply_body`` to this number through the normal SMS pipeline (the SMS queue sends it through the
        company's AT account); the thread shows it at once as queued."""
        self.ensure_one()
        self.check_access_rights("write")
        self.check_access_rule("write")
        body = (self.reply_body or "").strip()
        if not body:
            raise UserError(_("Type the reply first."))
        if not normalize_number(self.number, self.company_id.country_id.code or None).valid:
            raise UserError(_("%s is not a valid phone number: it cannot receive SMS.", self.number))
        # sms.sms is for administrators only (stock): the caller's rights on the thread were checked above.
        premium = self._premium_inbound()
        sms = self.env["sms.sms"].sudo().create(self._reply_sms_values(body, premium))
        if premium:
            premium.link_reply_uuid = sms.uuid
        self.write({"reply_body": False, "last_message_date": fields.Datetime.now(),
                    "last_message_preview": body[:100], "unread_count": 0, "state": "open"})
        sms._send()
        return True

    def _reply_sms_values(self, body, premium=None):
        self.ensure_one()
        values = {
            "number": self.number,
            "body": body,
            "partner_id": self.partner_id.id,
            "company_id": self.company_id.id,
            "conversation_id": self.id,
            "at_origin": "conversation",
        }
        if premium:
            values.update(at_short_code=premium.to_number, at_link_id=premium.link_id)
        return values

    def action_mark_read(self):
        self.check_access_rights("read")
        self.check_access_rule("read")
        self._mark_read()

    def action_mark_unread(self):
        self.check_access_rights("write")
        self.check_access_rule("write")
        self.filtered(lambda conversation: not conversation.unread_count).write({"unread_count": 1})

    def action_done(self):
        self.check_access_rights("write")
        self.check_access_rule("write")
        self.write({"state": "done", "unread_count": 0})

    def action_reopen(self):
        self.check_access_rights("write")
        self.check_access_rule("write")
        self.write({"state": "open"})

    def action_assign_to_me(self):
        self.check_access_rights("write")
        self.check_access_rule("write")
        self.write({"user_id": self.env.uid})

    def action_create_contact(self):
        """A new contact with this number, in a dialog; the thread links to it once saved."""
        self.ensure_one()
        self.check_access_rule("read")
        return {
            "type": "ir.actions.act_window",
            "name": _("Create Contact"),
            "res_model": "res.partner",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_mobile": self.number, "default_country_id": self.company_id.country_id.id,
                        "default_company_id": False},
        }

    def action_open_contact(self):
        self.ensure_one()
        partner = self.partner_ids[:1]
        if not partner:
            return self.action_create_contact()
        return {"type": "ir.actions.act_window", "res_model": "res.partner", "res_id": partner.id,
                "view_mode": "form", "views": [(False, "form")]}

    @api.model
    def action_open_for_number(self, number, company=None):
        """Open the thread of ``number`` (created if needed): from a contact's smart button."""
        company = company or self.env.company
        self.check_access_rights("read")
        normalized = normalize_number(number or "", company.country_id.code or None).e164
        if not normalized:
            raise UserError(_("%s is not a valid phone number.", number or "-"))
        conversation = self._get_or_create(normalized, company)
        conversation.check_access_rule("read")
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": conversation.id,
                "view_mode": "form", "views": [(False, "form")]}
