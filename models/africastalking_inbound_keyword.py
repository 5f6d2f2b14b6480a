import logging
from datetime import timedelta

from odoo import _, api, fields, models

from ..tools.keywords import is_confirmation, normalize_sender
from ..tools.phone import normalize_number
from .africastalking_inbound import KEYWORD_REPLY_INTERVAL_MINUTES
from .sms_consent import CONSENT_EVIDENCE_KEY, CONSENT_INBOUND_KEY, CONSENT_SOURCE_KEY

_logger = logging.getLogger(__name__)


class AfricasTalkingInbound(models.Model):
    """Custom keywords (sms.keyword): an ordinary inbound SMS equal to one of them runs its actions."""

    _inherit = "africastalking.inbound"

    sms_keyword_id = fields.Many2one("sms.keyword", "Custom Keyword", readonly=True, index="btree_not_null",
                                     ondelete="set null")
    sms_poll_answer_id = fields.Many2one("sms.poll.answer", "Poll Answer", readonly=True, index="btree_not_null",
                                         ondelete="set null")

    def _with_consent_source(self, source):
        """This SMS as the evidence of the consent changes made while handling it."""
        self.ensure_one()
        evidence = _("SMS “%(text)s” (AT id %(id)s)", text=(self.text or "").strip()[:80], id=self.at_message_id or "-")
        return self.with_context(**{CONSENT_SOURCE_KEY: source, CONSENT_INBOUND_KEY: self.id,
                                    CONSENT_EVIDENCE_KEY: evidence})

    def _apply_keyword(self):
        return super(AfricasTalkingInbound, self._with_consent_source("keyword"))._apply_keyword()

    @api.model
    def _process_opt_out(self, account, opt_out):
        evidence = _("Africa's Talking opt-out callback (sender %s)", opt_out.sender_id or "-")
        # The account's company owns the consent record (a callback runs as the public user, of another company).
        return super(AfricasTalkingInbound, self.with_company(account.company_id).with_context(**{
            CONSENT_SOURCE_KEY: "at_optout", CONSENT_EVIDENCE_KEY: evidence,
        }))._process_opt_out(account, opt_out)

    def _process_message(self):
        # One number's SMS are handled one at a time: joining the thread first updates its row, so a concurrent SMS
        # of the same number waits for this one, then fails to serialize and Odoo retries it on a fresh snapshot
        # that shows this vote / confirmation, instead of colliding on a unique index (a 400 to AT, the SMS lost).
        self._sms_conversation()
        if is_confirmation(self.text) and self._confirm_opt_in():
            return True
        if self._count_poll_vote():
            return True
        keyword = self.env["sms.keyword"]._match(self.company_id, self.text, self.to_number)
        if not keyword:
            return super()._process_message()
        self.sms_keyword_id = keyword
        keyword.action_ids._run(self)
        return True

    def _count_poll_vote(self):
        """A reply that answers a poll the number was sent, within its window: counted, and nothing else."""
        answer, trace = self.env["sms.poll"]._find_answer(self.company_id, self.from_number, self.text,
                                                          fields.Datetime.now())
        if not answer:
            return False
        self.sms_poll_answer_id = answer
        answer.poll_id._vote(answer, self, trace)
        return True

    # ------------------------------------------------------------------
    # What the actions do
    # ------------------------------------------------------------------

    def _subscribe_to_list(self, mailing_list, source="keyword_join"):
        """Subscribe the sender's number to ``mailing_list``, with this SMS as the consent's evidence."""
        self.ensure_one()
        inbound = self._with_consent_source(source)
        contacts = self.mailing_contact_ids.filtered(lambda contact: contact.phone_sanitized == self.from_number)
        subscription = inbound._subscribe_number(self.from_number, mailing_list, self.company_id, contacts=contacts,
                                                 name=self.partner_ids[:1].name)
        self.mailing_contact_ids = [fields.Command.link(subscription.contact_id.id)]
        return subscription

    @api.model
    def _subscribe_number(self, number, mailing_list, company, contacts=None, name=None):
        """Subscribe ``number`` to ``mailing_list``: its mailing contact on the list when there is one (an opt-out
        is lifted), else one of ``contacts`` (or of any contact with the number), else a new mailing contact.
        Returns the subscription; the consent hooks record the change with the context's source."""
        Subscription = self.env["mailing.subscription"]
        if contacts is None:
            contacts = self.env["mailing.contact"].search([("phone_sanitized", "=", number)])
        subscription = Subscription.search([("contact_id.phone_sanitized", "=", number),
                                            ("list_id", "=", mailing_list.id)], limit=1)
        if subscription:
            if subscription.opt_out:
                subscription.opt_out = False
            return subscription
        contact = contacts[:1] or self.env["mailing.contact"].create({
            "name": name or number, "mobile": number, "country_id": company.country_id.id,
        })
        return Subscription.create({"contact_id": contact.id, "list_id": mailing_list.id})

    @api.model
    def _unsubscribe_number(self, number, mailing_list):
        subscriptions = self.env["mailing.subscription"].search([
            ("contact_id.phone_sanitized", "=", number), ("list_id", "=", mailing_list.id), ("opt_out", "=", False),
        ])
        subscriptions.write({"opt_out": True})
        return subscriptions

    @api.model
    def _process_subscription(self, account, update):
        """AT's premium subscription notification (tools.at_callbacks.SubscriptionUpdate): the number joined
        ('addition') or left ('deletion') the premium service of a short code and keyword; the list of the matching
        keyword (its Premium Subscription List) follows, with a consent record. A notification for a short code
        and keyword without a list changes nothing (logged)."""
        company = account.company_id
        number = self._e164(update.phone_number, company)
        keyword = self.env["sms.keyword"]._match(company, update.keyword or "", update.short_code).filtered(
            "subscription_list_id")
        if not keyword:
            keyword = self.env["sms.keyword"].search([
                ("company_id", "=", company.id), ("subscription_list_id", "!=", False),
                ("short_code_normalized", "=", normalize_sender(update.short_code))], limit=1)
        if not keyword:
            _logger.info("Premium subscription %s of short code %s, keyword %s: no keyword with a subscription "
                         "list matches it; nothing changed", update.update_type, update.short_code, update.keyword)
            return self.env["mailing.subscription"]
        evidence = _("Africa's Talking subscription notification: %(type)s, short code %(code)s, keyword %(word)s",
                     type=update.update_type, code=update.short_code, word=update.keyword or "-")
        model = self.with_company(company).with_context(**{CONSENT_SOURCE_KEY: "premium",
                                                             CONSENT_EVIDENCE_KEY: evidence})
        if update.update_type == "addition":
            return model._subscribe_number(number, keyword.subscription_list_id, company)
        return model._unsubscribe_number(number, keyword.subscription_list_id)

    def _request_confirmation(self, mailing_list, keyword):
        """Double opt-in: remember the join and ask the number to confirm it; nothing is subscribed yet."""
        self.ensure_one()
        number = self.from_number
        if self.env["mailing.subscription"].search_count([
                ("contact_id.phone_sanitized", "=", number), ("list_id", "=", mailing_list.id),
                ("opt_out", "=", False)], limit=1):
            return self.env["sms.opt.in.request"]
        Request = self.env["sms.opt.in.request"]
        pending = Request._pending(self.company_id, number).filtered(
            lambda request: request.mailing_list_id == mailing_list)
        if pending:
            return pending  # already asked; a second JOIN within the window does not send a second SMS
        request = Request.create({
            "number": number, "mailing_list_id": mailing_list.id, "keyword_id": keyword.id,
            "company_id": self.company_id.id, "inbound_id": self.id,
            "deadline": Request._deadline_for(self.company_id),
        })
        inbound = self._with_consent_source("double_opt_in_request")
        inbound.env["sms.consent"]._record([number], "requested", mailing_list=mailing_list)
        sms = self._send_bilingual_reply(*keyword._confirmation_texts(mailing_list))
        request.confirmation_sms_uuid = sms.uuid or False
        return request

    def _confirm_opt_in(self):
        """A YES / NDIO within the window of pending joins of this number: subscribe them. False when nothing waited
        (or it came too late): the SMS is then an ordinary message."""
        self.ensure_one()
        requests = self.env["sms.opt.in.request"]._pending(self.company_id, self.from_number)
        if not requests:
            return False
        for request in requests:
            self._subscribe_to_list(request.mailing_list_id, source="double_opt_in_confirm")
        requests.write({"state": "confirmed", "confirm_inbound_id": self.id})
        return True

    def _unsubscribe_from_list(self, mailing_list, source="keyword_leave"):
        self.ensure_one()
        return self._with_consent_source(source)._unsubscribe_number(self.from_number, mailing_list)

    def _sms_reply_language(self):
        """'sw' or 'en' when the sender is a known contact with that language, else None (both texts).

        The STOP / START / HELP replies carry English and Swahili in one SMS; a keyword's reply does the same for a
        number Odoo does not know, and speaks the contact's language when it knows them."""
        lang = (self.partner_ids[:1].lang or "").lower()
        if lang.startswith("sw"):
            return "sw"
        if lang.startswith("en"):
            return "en"
        return None

    def _bilingual_text(self, text_en, text_sw):
        text_en, text_sw = (text_en or "").strip(), (text_sw or "").strip()
        language = self._sms_reply_language()
        if language == "sw" and text_sw:
            return text_sw
        if language == "en" and text_en:
            return text_en
        return " ".join(text for text in (text_en, text_sw) if text)

    def _send_bilingual_reply(self, text_en, text_sw):
        """Answer the sender with the text in their language, through the SMS queue like the STOP replies (the
        company's account, its spending): at most one answer per keyword and number per reply window."""
        self.ensure_one()
        body = self._bilingual_text(text_en, text_sw)
        if not body:
            return self.env["sms.sms"]
        if not normalize_number(self.from_number, self.company_id.country_id.code or None).valid:
            _logger.info("No keyword reply to inbound SMS %s: the sender's number is not a valid phone number",
                         self.id)
            return self.env["sms.sms"]
        if self._keyword_recently_answered():
            _logger.info("No keyword reply to inbound SMS %s: that number got one less than %s minutes ago",
                         self.id, KEYWORD_REPLY_INTERVAL_MINUTES)
            return self.env["sms.sms"]
        return self._queue_reply(body)

    def _queue_reply(self, body):
        """Queue ``body`` to the sender in their thread; an SMS received on a premium short code is answered from
        that short code with its linkId (once, as conversation replies do), others from the account's sender."""
        conversation = self._sms_conversation()
        values = {
            "number": self.from_number,
            "body": body,
            "partner_id": self.partner_ids[:1].id,
            "company_id": self.company_id.id,
            "at_origin": "keyword",
            "conversation_id": conversation.id,
        }
        premium = self.link_id and self.to_number and not self.link_reply_uuid
        if premium:
            values.update(at_short_code=self.to_number, at_link_id=self.link_id)
        sms = self.env["sms.sms"].create(values)
        if premium:
            self.link_reply_uuid = sms.uuid
        if not self.reply_sms_uuid:
            self.reply_sms_uuid = sms.uuid
        sms._send()
        return sms

    def _keyword_recently_answered(self):
        self.ensure_one()
        since = fields.Datetime.now() - timedelta(minutes=KEYWORD_REPLY_INTERVAL_MINUTES)
        return bool(self.search_count([
            ("id", "!=", self.id), ("company_id", "=", self.company_id.id), ("from_number", "=", self.from_number),
            ("sms_keyword_id", "=", self.sms_keyword_id.id), ("reply_sms_uuid", "!=", False),
            ("create_date", ">=", since),
        ], limit=1))

    def _sms_conversation(self):
        """The thread of this SMS: attached now when a keyword action needs it before the inbound hook of the
        conversations attaches it (which then leaves it as it is)."""
        self.ensure_one()
        if not self.conversation_id:
            self.env["sms.conversation"].sudo()._attach_inbound(self, unread=not self.keyword)
        return self.conversation_id

    def _sms_activity_target(self):
        """The record an activity about this SMS goes on: the conversation, else the sender's contact."""
        return self._sms_conversation() or self.partner_ids[:1]
