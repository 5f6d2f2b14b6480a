import logging

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools.phone import normalize_number
from .recipient_rules import RecipientRules

_logger = logging.getLogger(__name__)


class SmsAfricastalkingApi(models.AbstractModel):
    """The programmatic entry point for other modules and external systems (XML-RPC / JSON-RPC ``execute_kw``).

    Every method applies the checks of the user interface: the caller must be an SMS Marketing user or an
    administrator, recipients must be readable by the caller, blacklisted numbers are refused, and the budget
    hook may refuse the whole batch. SMS are queued (``sms.sms`` with partner and company) and leave through the
    SMS queue and Africa's Talking; scheduled ones wait as ``sms.alert`` rows for the alert cron.

    Results are plain dicts (no ``None``) so that XML-RPC can marshal them::

        {"queued": 2, "scheduled": 0, "rejected": [{"recipient": "0700", "reason": "Invalid number"}],
         "alert_ids": [12, 13], "sms_uuids": ["...", "..."]}
    """

    _name = "sms.africastalking.api"
    _description = "Africa's Talking SMS API"

    # ------------------------------------------------------------------
    # Public methods
    # ------------------------------------------------------------------

    @api.model
    def send_sms(self, recipients, body, schedule_at=False, account_id=False):
        """Send ``body`` to ``recipients``: a list of partner ids (int) and/or phone numbers (str).

        :param schedule_at: UTC datetime or "YYYY-MM-DD HH:MM:SS" string; empty to send now
        :param account_id: the Africa's Talking account (of one of the caller's companies) to send with
        """
        self._check_api_access()
        if not (body or "").strip():
            raise UserError(_("The SMS text is empty."))
        company = self._get_sending_company(account_id)
        targets, rejected = self._resolve_recipients(recipients, company)
        values = [dict(target, body=body) for target in targets]
        return self._schedule(values, company, schedule_at, rejected)

    @api.model
    def send_alert(self, template, res_ids, audience="partners", mailing_list_ids=False, schedule_at=False,
                   account_id=False):
        """Render an SMS template on records of its model and send it to their audience.

        :param template: ``sms.template`` id or XML id ("module.name"); its model gives the records' model
        :param res_ids: ids of records of the template's model (the caller must be able to read them)
        :param audience: "partners" (the records' contacts), "mailing_lists" (``mailing_list_ids`` plus the
            records' own lists) or "guardians" (see ``sms.alert.rule._get_guardian_partners``)
        """
        self._check_api_access()
        template = self._get_template(template)
        company = self._get_sending_company(account_id)
        records = self.env[template.model].search([("id", "in", list(res_ids or []))])
        rejected = [{"recipient": "%s,%s" % (template.model, res_id), "reason": _("Unknown or forbidden record.")}
                    for res_id in set(res_ids or []) - set(records.ids)]
        if audience not in dict(self.env["sms.alert.rule"]._fields["audience"].selection):
            raise UserError(_("Unknown audience %s.", audience))
        resolver = self.env["sms.alert.rule"].new({
            "audience": audience, "company_id": company.id,
            "mailing_list_ids": [Command.set(self._readable_list_ids(mailing_list_ids))],
        })
        recipients = resolver._get_recipients(records.sudo())
        bodies = template.sudo()._render_field("body", records.ids, compute_lang=True)
        values = []
        for record in records:
            for recipient in recipients.get(record.id, []):
                if not recipient["number"]:
                    rejected.append({"recipient": recipient["recipient_key"], "reason": _("No mobile number.")})
                    continue
                values.append(dict(recipient, body=bodies[record.id], res_model=record._name, res_id=record.id))
        return self._schedule(values, company, schedule_at, rejected)

    @api.model
    def send_broadcast(self, mailing_list_ids, body=False, template=False, schedule_at=False, name=False):
        """A one-off SMS mailing to mailing lists (now or at ``schedule_at``), with the mailing statistics.

        :param template: ``sms.template`` of mailing contacts (id or XML id); or give ``body``
        :return: {"mailing_id": id, "state": "in_queue"}
        """
        self._check_api_access()
        mailing = self._create_broadcast_mailing(self._readable_list_ids(mailing_list_ids), body=body,
                                                 template=template and self._get_template(template),
                                                 schedule_at=schedule_at, name=name)
        return {"mailing_id": mailing.id, "state": mailing.state}

    # ------------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------------

    @api.model
    def _africastalking_check_budget(self, company, messages):
        """Balance and budget gate: ``messages`` is a list of ``(number, body)`` about to be queued for ``company``.

        The same check as the UI's (AT balance, then the caller's SMS budget) on the estimated cost: segments of
        each text priced with the rate table. Returns None to allow, or a user-facing reason to refuse the batch.
        """
        if not messages:
            return None
        pricing = self.env["africastalking.rate"]._price_texts(
            ((number, body or "") for number, body in messages), company)
        estimate = {"recipients": len(messages), "cost": pricing.cost, "currency": pricing.currency,
                    "segments": pricing.segments}
        return self.env["mailing.mailing"].with_company(company)._sms_credit_problem(estimate) or None

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    @api.model
    def _check_api_access(self):
        user = self.env.user
        if not (self.env.is_superuser() or user.has_group("mass_mailing.group_mass_mailing_user")
                or user.has_group("base.group_system")):
            raise AccessError(_("Only SMS Marketing users and administrators may send SMS through the API."))

    @api.model
    def _get_sending_company(self, account_id):
        if not account_id:
            return self.env.company
        account = self.env["africastalking.account"].search([("id", "=", int(account_id))])
        if not account:
            raise UserError(_("Unknown Africa's Talking account %s.", account_id))
        if account.company_id._get_africastalking_account() != account:
            # SMS are routed by company (sms.sms.company_id): only the company's sending account can be chosen.
            raise UserError(_("The account %(account)s is not the sending account of %(company)s.",
                              account=account.name, company=account.company_id.name))
        return account.company_id

    @api.model
    def _get_template(self, template):
        if isinstance(template, str) and not template.isdigit():
            record = self.env.ref(template, raise_if_not_found=False)
        else:
            record = self.env["sms.template"].browse(int(template)).exists()
        if not record or record._name != "sms.template":
            raise UserError(_("Unknown SMS template %s.", template))
        record.check_access_rights("read")
        record.check_access_rule("read")
        return record

    @api.model
    def _readable_list_ids(self, list_ids):
        lists = self.env["mailing.list"].search([("id", "in", list(list_ids or []))])
        if len(lists) != len(set(list_ids or [])):
            raise UserError(_("Unknown or forbidden mailing list in %s.", list_ids))
        return lists.ids

    @api.model
    def _resolve_recipients(self, recipients, company):
        """Partner ids and numbers -> ``(targets, rejected)``: numbers normalised to E.164, then the recipient rules
        (recipient_rules.py: missing or invalid, duplicate, and any rule added there); ``_schedule`` checks the
        blacklist, as for alerts."""
        targets, rejected = [], []
        candidates = list(self._resolve_targets(recipients, company, rejected))
        rules = RecipientRules(self.env).load(target["number"] for _item, target in candidates)
        for item, target in candidates:
            code = rules.exclusion(None, target["number"], str(item))
            if code:
                rejected.append({"recipient": str(item), "reason": rules.reason(code)})
            else:
                targets.append(target)
        return targets, rejected

    @api.model
    def _resolve_targets(self, recipients, company, rejected):
        """Yield ``(item, target values)`` per partner id or number; unknown ones are added to ``rejected``."""
        partner_ids = [item for item in recipients or [] if isinstance(item, int) and not isinstance(item, bool)]
        partners = self.env["res.partner"].search([("id", "in", partner_ids)])
        resolver = self.env["sms.alert.rule"].new({"company_id": company.id})
        for item in recipients or []:
            if item in partner_ids:
                partner = partners.browse(item)
                if partner not in partners:
                    rejected.append({"recipient": str(item), "reason": _("Unknown or forbidden contact.")})
                    continue
                yield item, resolver._partner_recipient(partner.sudo())
            elif isinstance(item, str):
                number = normalize_number(item, company.country_id.code).e164 or False
                yield item, {"recipient_key": "number:%s" % number, "partner_id": False, "mailing_contact_id": False,
                             "number": number}
            else:
                rejected.append({"recipient": str(item), "reason": _("A recipient is a partner id or a number.")})

    @api.model
    def _schedule(self, values, company, schedule_at, rejected):
        """Refuse excluded numbers, ask the budget hook, create the alerts, send the due ones now."""
        Alert = self.env["sms.alert"].sudo()
        excluded = Alert._get_excluded_numbers({value["number"] for value in values})
        kept = []
        for value in values:
            if value["number"] in excluded:
                rejected.append({"recipient": value["number"], "reason": excluded[value["number"]]})
            else:
                kept.append(value)
        refusal = self._africastalking_check_budget(company, [(value["number"], value["body"]) for value in kept])
        if refusal:
            rejected += [{"recipient": value["number"], "reason": refusal} for value in kept]
            kept = []
        now = fields.Datetime.now()
        scheduled_at = fields.Datetime.to_datetime(schedule_at) if schedule_at else now
        alerts = Alert.create([dict(value, company_id=company.id, scheduled_at=scheduled_at) for value in kept])
        sent = Alert.browse()
        if alerts and scheduled_at <= now:
            sent = Alert._send_due(now, ids=alerts.ids)
            rejected += [{"recipient": alert.number or "", "reason": alert.failure_reason or ""}
                         for alert in alerts - sent]
        elif alerts:
            Alert._trigger_cron()
        return {
            "queued": len(sent),
            "scheduled": len(alerts) if scheduled_at > now else 0,
            "rejected": rejected,
            "alert_ids": alerts.ids,
            "sms_uuids": [uuid for uuid in sent.mapped("sms_uuid") if uuid],
        }

    @api.model
    def _create_broadcast_mailing(self, list_ids, body=False, template=False, schedule_at=False, name=False):
        if not list_ids:
            raise UserError(_("Choose at least one mailing list."))
        if template and template.model != "mailing.contact":
            raise UserError(_("A broadcast template must be a template of Mailing Contacts."))
        if not (template or (body or "").strip()):
            raise UserError(_("Give a text or a template."))
        values = {
            "subject": name or _("Broadcast %s", fields.Datetime.to_string(fields.Datetime.now())),
            "mailing_type": "sms",
            "mailing_model_id": self.env["ir.model"]._get_id("mailing.list"),
            "contact_list_ids": [Command.set(list_ids)],
            "schedule_type": "scheduled" if schedule_at else "now",
            "schedule_date": fields.Datetime.to_datetime(schedule_at) if schedule_at else False,
        }
        if template:
            values["sms_template_id"] = template.id
        else:
            values["body_plaintext"] = body
        mailing = self.env["mailing.mailing"].create(values)
        mailing.action_put_in_queue()
        return mailing
