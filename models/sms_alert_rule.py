import logging
from collections import defaultdict
from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.addons.base.models.res_partner import _tz_get
from odoo.exceptions import AccessError, ValidationError
from odoo.tools.safe_eval import safe_eval

from ..tools.bulk_sql import copy_rows
from ..tools.phone import normalize_number
from ..tools.runtime import is_testing

_logger = logging.getLogger(__name__)

# pg_try_advisory_xact_lock(class, id): one worker at a time syncs and sends a rule's alerts.
ALERT_RULE_LOCK_CLASS = 7360
# How far back the search for source records reaches beyond the rule's own offset (time-of-day shifts).
SEARCH_SLACK = timedelta(days=2)
# What a sync writes of a new alert (with COPY: _insert_alerts); every other column is empty, as create() leaves it.
ALERT_COLUMNS = ("rule_id", "company_id", "res_model", "res_id", "scheduled_at", "recipient_key", "partner_id",
                 "mailing_contact_id", "number", "state", "sms_traffic",
                 "create_uid", "create_date", "write_uid", "write_date")


class SmsAlertRule(models.Model):
    """A date-relative SMS alert: "2 days before the exam, at 08:00, send template T to the exam's students".

    The cron (every 5 minutes, and triggered at the next due time) keeps one ``sms.alert`` per record and
    recipient in step with the record's current date, then sends the due ones. Each record and recipient is
    alerted at most once: a date that moves after the alert went out does not send it again.
    """

    _name = "sms.alert.rule"
    _description = "SMS Alert Rule"
    _order = "sequence, id"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    state = fields.Selection([("running", "Running"), ("paused", "Paused")], required=True, default="running")
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company)
    model_id = fields.Many2one("ir.model", string="Applies to", required=True, ondelete="cascade",
                               domain=[("transient", "=", False)])
    model_name = fields.Char(related="model_id.model")
    date_field_id = fields.Many2one(
        "ir.model.fields", required=True, ondelete="cascade",
        domain="[('model_id', '=', model_id), ('ttype', 'in', ('date', 'datetime')), ('store', '=', True)]",
    )
    date_field_type = fields.Selection(related="date_field_id.ttype")
    offset_value = fields.Integer("Offset", default=1)
    offset_unit = fields.Selection(
        [("minutes", "Minutes"), ("hours", "Hours"), ("days", "Days"), ("weeks", "Weeks")],
        required=True, default="days",
    )
    direction = fields.Selection([("before", "Before"), ("after", "After")], required=True, default="before")
    use_time_of_day = fields.Boolean(
        "At a Fixed Time", default=True,
        help="Send at the given time of day (in the rule's time zone) instead of the exact offset from the date. "
             "Always used for date fields, which have no time.")
    time_of_day = fields.Float("Time of Day", default=8.0, help="Local time, e.g. 8.5 for 08:30.")
    tz = fields.Selection(_tz_get, string="Time Zone", required=True,
                          default=lambda self: self.env.company.partner_id.tz or self.env.user.tz or "UTC")
    max_delay_hours = fields.Integer(
        "Send When Late By", default=12,
        help="An alert is still sent this many hours after its time (server down, rule created late); later "
             "than that it is cancelled as expired.")
    template_id = fields.Many2one("sms.template", string="SMS Template", required=True, ondelete="restrict",
                                  domain="[('model_id', '=', model_id)]")
    audience = fields.Selection(
        [("partners", "The record's contacts"), ("mailing_lists", "Mailing lists"),
         ("guardians", "Guardians of the record's contacts")],
        required=True, default="partners",
        help="The record's contacts are its partner fields (partner_id, partner_ids, ...). Mailing lists are the "
             "lists below plus the record's own mailing lists when it has a 'mailing_list_ids' field.")
    mailing_list_ids = fields.Many2many("mailing.list", string="Mailing Lists")
    filter_domain = fields.Char("Apply On", default="[]", help="Only records matching this domain are alerted.")
    cancel_domain = fields.Char(
        "Cancelled When", default="[]",
        help="Records matching this domain count as cancelled: their pending alerts are cancelled.")
    alert_ids = fields.One2many("sms.alert", "rule_id", string="Alerts")
    alert_pending_count = fields.Integer("Pending Alerts", compute="_compute_alert_counts")
    alert_sent_count = fields.Integer("Sent Alerts", compute="_compute_alert_counts")

    @api.depends("alert_ids.state")
    def _compute_alert_counts(self):
        counts = {(rule.id, state): count for rule, state, count in self.env["sms.alert"]._read_group(
            [("rule_id", "in", self.ids)], ["rule_id", "state"], ["__count"])}
        for rule in self:
            rule.alert_pending_count = counts.get((rule.id, "pending"), 0)
            rule.alert_sent_count = counts.get((rule.id, "sent"), 0)

    @api.onchange("model_id")
    def _onchange_model_id(self):
        if self.date_field_id.model_id != self.model_id:
            self.date_field_id = False
        if self.template_id.model_id != self.model_id:
            self.template_id = False
        model = self.env.get(self.model_id.model) if self.model_id else None
        state_field = model._fields.get("state") if model is not None else None
        if state_field is not None and state_field.type == "selection" and "cancel" in dict(
                state_field._description_selection(self.env)):
            self.cancel_domain = "[('state', '=', 'cancel')]"

    @api.constrains("model_id", "date_field_id", "template_id")
    def _check_model_coherency(self):
        for rule in self.sudo():
            if rule.date_field_id.model_id != rule.model_id:
                raise ValidationError(_("The date field of %s must belong to its model.", rule.name))
            if rule.template_id.model_id != rule.model_id:
                raise ValidationError(_("The SMS template of %s must be a template of its model.", rule.name))

    @api.constrains("filter_domain", "cancel_domain")
    def _check_domains(self):
        for rule in self:
            try:
                rule._eval_domain(rule.filter_domain)
                rule._eval_domain(rule.cancel_domain)
            except Exception as exc:
                raise ValidationError(_("Invalid domain on %(rule)s: %(error)s", rule=rule.name, error=exc)) from exc

    @api.constrains("offset_value", "time_of_day", "max_delay_hours")
    def _check_values(self):
        for rule in self:
            if rule.offset_value < 0 or rule.max_delay_hours < 0:
                raise ValidationError(_("Offsets and delays are positive; choose 'after' to send after the date."))
            if not 0 <= rule.time_of_day < 24:
                raise ValidationError(_("The time of day is between 00:00 and 23:59."))

    # ------------------------------------------------------------------
    # CRUD and actions
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        rules._sync_and_trigger()
        return rules

    def write(self, vals):
        res = super().write(vals)
        self._sync_and_trigger()
        return res

    def _sync_and_trigger(self):
        """A saved rule shows its pending alerts at once; the cron wakes at the earliest."""
        # The caller's rights on the rule were checked by create / write; records are read as the cron does.
        # A rule the cron is working on right now is left to it (its next run syncs the new settings).
        for rule in self.sudo().filtered(lambda r: r.active and r.state == "running"):
            if rule._lock():
                rule._sync_alerts()
        self.env["sms.alert"]._trigger_cron()

    @api.model
    def _check_alert_operator(self):
        """Marketing users may pause, resume and cancel alerts; only administrators may edit rules.

        Rules search and render any model's records as superuser, so writing them stays with base.group_system.
        """
        user = self.env.user
        if not (self.env.su or user.has_group("mass_mailing.group_mass_mailing_user")
                or user.has_group("base.group_system")):
            raise AccessError(_("Only SMS Marketing users can pause, resume or cancel SMS alerts."))

    def _write_state_as_operator(self, state):
        self._check_alert_operator()
        self.check_access_rights("read")
        self.check_access_rule("read")
        # Checked above; the rule's other fields stay out of reach of non-administrators.
        self.sudo().write({"state": state})

    def action_pause(self):
        self._write_state_as_operator("paused")

    def action_resume(self):
        self._write_state_as_operator("running")

    def action_view_alerts(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("sms_africastalking.sms_alert_action")
        action["domain"] = [("rule_id", "in", self.ids)]
        action["context"] = {"search_default_filter_pending": 1}
        return action

    def action_run_now(self):
        """Sync and send what is due now, as the cron would."""
        self.check_access_rights("write")
        self.check_access_rule("write")
        self.sudo()._process(commit=False)
        return True

    # ------------------------------------------------------------------
    # Schedule
    # ------------------------------------------------------------------

    def _offset(self):
        self.ensure_one()
        delta = timedelta(**{self.offset_unit: self.offset_value})
        return -delta if self.direction == "before" else delta

    def _compute_scheduled_at(self, value):
        """The UTC (naive) moment the alert for a record whose date field holds ``value`` is due."""
        self.ensure_one()
        if not value:
            return False
        tz = pytz.timezone(self.tz or "UTC")
        is_date = self.date_field_id.ttype == "date"
        if not is_date and not self.use_time_of_day:
            return value + self._offset()
        local_date = value if is_date else pytz.utc.localize(value).astimezone(tz).date()
        hours, minutes = divmod(round(self.time_of_day * 60), 60)
        # Shift on the local wall clock so that "2 days before at 08:00" stays 08:00 across DST changes.
        local = datetime.combine(local_date, time(int(hours), int(minutes))) + self._offset()
        return tz.localize(local).astimezone(pytz.utc).replace(tzinfo=None)

    def _earliest_date_value(self, now):
        """Records whose date is before this cannot have an alert still sendable at ``now``."""
        bound = now - timedelta(hours=self.max_delay_hours) - self._offset() - SEARCH_SLACK
        return bound.date() if self.date_field_id.ttype == "date" else bound

    # ------------------------------------------------------------------
    # Records and recipients
    # ------------------------------------------------------------------

    def _eval_domain(self, domain):
        return safe_eval(domain or "[]", {"uid": self.env.uid, "user": self.env.user,
                                           "context_today": fields.Date.context_today(self),
                                           "datetime": datetime, "timedelta": timedelta})

    def _source_model(self):
        return self.env[self.model_id.model].sudo().with_context(active_test=True)

    def _find_source_records(self, now):
        """The rule's records that may still be alerted, and those of them that count as cancelled."""
        self.ensure_one()
        fname = self.date_field_id.name
        domain = self._eval_domain(self.filter_domain) + [
            (fname, "!=", False), (fname, ">=", self._earliest_date_value(now))]
        model = self._source_model()
        if "company_id" in model._fields:
            domain += [("company_id", "in", [False, self.company_id.id])]
        records = model.search(domain)
        cancel_domain = self._eval_domain(self.cancel_domain)
        cancelled = records.filtered_domain(cancel_domain) if cancel_domain else records.browse()
        return records, cancelled

    def _get_recipients(self, records):
        """``{res_id: [recipient values]}`` for the rule's audience; a recipient is a partner or a list contact."""
        self.ensure_one()
        if self.audience == "partners":
            partners = self._get_record_partners(records)
        elif self.audience == "guardians":
            partners = self._get_guardian_partners(records)
        else:
            return self._get_list_recipients(records)
        return {res_id: [self._partner_recipient(partner) for partner in record_partners]
                for res_id, record_partners in partners.items()}

    @api.model
    def _get_record_partners(self, records):
        if hasattr(records, "_mail_get_partners"):
            return dict(records._mail_get_partners())
        fields_ = [name for name in ("partner_id", "partner_ids") if name in records._fields]
        return {record.id: record.mapped(lambda r: sum((r[name] for name in fields_), r.env["res.partner"]))
                for record in records}

    @api.model
    def _get_guardian_partners(self, records):
        """``{res_id: res.partner recordset}``: the reachable guardians of each record's people."""
        return {res_id: partners._sms_guardians()
                for res_id, partners in self._get_record_partners(records).items()}

    def _get_list_recipients(self, records):
        """The lists' contacts minus those opted out, by the mailings' rule and its code (the "optout" recipient rule
        of recipient_rules.py: opted out of one of the lists and subscribed to none of them); the number rules
        (blacklist ...) apply at send time (sms.alert._get_excluded_numbers)."""
        lists_field = "mailing_list_ids" if "mailing_list_ids" in records._fields else None
        result, opted_out = {}, {}
        for record in records:
            lists = (self.mailing_list_ids | (record[lists_field] if lists_field else self.env["mailing.list"])).sudo()
            if lists not in opted_out:
                opted_out[lists] = set(lists._mailing_get_opt_out_list_sms(self.env["mailing.mailing"]))
            contacts = lists.subscription_ids.contact_id.filtered(
                lambda contact, excluded=opted_out[lists]: contact.id not in excluded)
            result[record.id] = [self._contact_recipient(contact) for contact in contacts]
        return result

    def _partner_recipient(self, partner):
        number = partner.mobile or partner.phone
        if not number or number != partner.phone_sanitized:
            country = partner.country_id or self.company_id.country_id
            number = normalize_number(number, country.code).e164 or number or False
        # else: already E.164 and valid (the phone mixin parsed it with phonenumbers): normalize_number would give
        # it back. Parsing 100,000 numbers again was a fifth of a first sync.
        return {"recipient_key": "partner:%d" % partner.id, "partner_id": partner.id, "mailing_contact_id": False,
                "number": number}

    def _contact_recipient(self, contact):
        return {"recipient_key": "contact:%d" % contact.id, "partner_id": False, "mailing_contact_id": contact.id,
                "number": contact.phone_sanitized or contact.mobile or False}

    # ------------------------------------------------------------------
    # Sync and send
    # ------------------------------------------------------------------

    def _lock(self):
        """Try to become the only worker of this rule for the current transaction."""
        self.ensure_one()
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (ALERT_RULE_LOCK_CLASS, self.id))
        return self.env.cr.fetchone()[0]

    def _sync_alerts(self, now=None):
        """Bring the rule's pending alerts in line with its records' current dates, contacts and states: search
        what is wanted and what exists, diff them, write the difference."""
        self.ensure_one()
        now = now or fields.Datetime.now()
        records, cancelled = self._find_source_records(now)
        live = records - cancelled
        wanted = self._wanted_alerts(live)
        existing, done_keys = self._current_alerts(with_done_keys=bool(wanted))
        changes = self._diff_alerts(wanted, existing, done_keys, now - timedelta(hours=self.max_delay_hours),
                                    set(cancelled.ids), set(live.ids))
        self._write_alert_changes(*changes)

    def _wanted_alerts(self, live):
        """``{(res_id, recipient_key): alert values}``: what the rule's live records call for now."""
        fname = self.date_field_id.name
        recipients = self._get_recipients(live)
        wanted = {}
        scheduled = {}  # date value: due time (records share dates; the time zone maths is per value)
        for record in live:
            value = record[fname]
            if value not in scheduled:
                scheduled[value] = self._compute_scheduled_at(value)
            scheduled_at = scheduled[value]
            for recipient in recipients.get(record.id, []):
                wanted[(record.id, recipient["recipient_key"])] = dict(recipient, scheduled_at=scheduled_at)
        return wanted

    def _current_alerts(self, with_done_keys=True):
        """The rule's pending and cancelled alerts by key, and the keys already sent or failed (never alerted
        again)."""
        alerts = self.env["sms.alert"].sudo().search([("rule_id", "=", self.id),
                                                      ("state", "in", ("pending", "cancelled"))])
        existing = {(alert.res_id, alert.recipient_key): alert for alert in alerts}
        done_keys = set()
        if with_done_keys:
            self.env.cr.execute(
                "SELECT res_id, recipient_key FROM sms_alert WHERE rule_id = %s AND state IN ('sent', 'failed')",
                (self.id,),
            )
            done_keys = set(self.env.cr.fetchall())
        return existing, done_keys

    def _diff_alerts(self, wanted, existing, done_keys, earliest, cancelled_ids, live_ids):
        """``(values to create, {refresh values: alert ids}, [(alert, reason to cancel it)])``.

        A key sent or failed is left alone; one whose time passed is cancelled as expired; one a user cancelled
        stays cancelled; an existing pending alert no longer wanted is cancelled with the reason it went.
        """
        to_create, refresh, to_cancel = [], defaultdict(list), []
        new_values = self._new_alert_values()
        existing = dict(existing)
        for key, values in wanted.items():
            alert = existing.pop(key, None)
            if key in done_keys:
                continue
            if values["scheduled_at"] < earliest:
                if alert and alert.state == "pending":
                    to_cancel.append((alert, _("Expired: its time passed.")))
            elif not alert:
                to_create.append(dict(values, **new_values, res_id=key[0]))
            elif not alert.cancelled_by_user:
                refresh[alert._refresh_values(values)].append(alert.id)
        for (res_id, _key), alert in existing.items():
            if alert.state == "pending":
                to_cancel.append((alert, self._unwanted_alert_reason(res_id, cancelled_ids, live_ids)))
        return to_create, refresh, to_cancel

    def _unwanted_alert_reason(self, res_id, cancelled_ids, live_ids):
        if res_id in cancelled_ids:
            return _("The record was cancelled.")
        if res_id in live_ids:
            return _("The recipient was removed from the record.")
        return _("The record was deleted, archived or no longer matches the rule.")

    def _write_alert_changes(self, to_create, refresh, to_cancel):
        for alert, reason in to_cancel:
            alert.write({"state": "cancelled", "failure_reason": reason})
        # Grouped: a moved record moves all its recipients in one write.
        for update, alert_ids in refresh.items():
            if update:
                self.env["sms.alert"].sudo().browse(alert_ids).write(dict(update))
        self._insert_alerts(to_create)

    def _new_alert_values(self):
        """The values every new alert of this rule gets, beside its record's and recipient's (sms_alert_traffic.py
        adds the rule's traffic: given, it is not computed record by record)."""
        self.ensure_one()
        return {"rule_id": self.id, "res_model": self.model_id.model, "company_id": self.company_id.id,
                "state": "pending"}

    def _insert_alerts(self, values_list):
        """Create the new alerts (``values_list``: every column of ALERT_COLUMNS but the log ones) with one COPY.

        A first sync over 100,000 records creates 100,000 alerts: through create(), each one gets its defaults and
        precomputed fields one by one (most of the sync's time). The rows hold what create() would store; a module
        beyond this addon's dependencies that overrides create, adds a constraint or a stored field with a default
        or a computation on sms.alert gets create() (mailing_mailing_insert.py says the same for the preparation).
        """
        alerts = self.env["sms.alert"].sudo()
        if not values_list:
            return
        if not self.env["mailing.mailing"]._africastalking_sql_insert_possible("sms.alert", ALERT_COLUMNS):
            alerts.create(values_list)
            return
        now, uid = self.env.cr.now(), self.env.uid
        log = {"create_uid": uid, "create_date": now, "write_uid": uid, "write_date": now}
        alerts.flush_model()
        copy_rows(self.env.cr, alerts._table, ALERT_COLUMNS, [
            tuple(None if value is False else value for value in (
                log[column] if column in log else values[column] for column in ALERT_COLUMNS))
            for values in values_list])
        alerts.invalidate_model()
        self.invalidate_recordset(["alert_ids"])

    def _check_alerts_at_send_time(self, alerts, now):
        """Re-read the records of claimed ``alerts`` right before sending: the date may have moved since the sync.

        Returns the alerts still due now and their rendered bodies; the others are rescheduled or cancelled.
        """
        self.ensure_one()
        fname = self.date_field_id.name
        earliest = now - timedelta(hours=self.max_delay_hours)
        records = self._source_model().browse(set(alerts.mapped("res_id"))).exists()
        domain = self._eval_domain(self.filter_domain)
        live = records.filtered_domain(domain) if domain else records
        if "active" in live._fields:
            live = live.filtered("active")
        cancel_domain = self._eval_domain(self.cancel_domain)
        if cancel_domain:
            live -= live.filtered_domain(cancel_domain)
        due_ids = []
        for alert in alerts:
            record = live.browse(alert.res_id)
            scheduled_at = self._compute_scheduled_at(record[fname]) if record in live else False
            if not scheduled_at:
                alert.write({"state": "cancelled",
                             "failure_reason": _("The record was cancelled, deleted or no longer matches the rule.")})
            elif scheduled_at > now:
                alert.write({"scheduled_at": scheduled_at})  # the date moved later: wait
            elif scheduled_at < earliest:
                alert.write({"state": "cancelled", "failure_reason": _("Expired: its time passed.")})
            else:
                due_ids.append(alert.id)
        due = alerts.browse(due_ids)
        bodies_by_record = self.template_id._render_field("body", list(set(due.mapped("res_id"))), compute_lang=True)
        return due, {alert.id: bodies_by_record.get(alert.res_id) for alert in due}

    def _process(self, commit=None):
        """Sync and send due alerts of ``self`` (active, running rules only), one rule per transaction."""
        commit = (not is_testing()) if commit is None else commit
        for rule in self.filtered(lambda r: r.active and r.state == "running"):
            try:
                with self.env.cr.savepoint():
                    if not rule._lock():
                        _logger.info("SMS alert rule %s is being processed by another worker", rule.id)
                        continue
                    now = fields.Datetime.now()
                    rule._sync_alerts(now)
                    self.env["sms.alert"]._send_due(now, rule_ids=rule.ids)
            except Exception:
                _logger.exception("SMS alert rule %s failed; it is retried at the next run", rule.id)
            if commit:
                # A batch cron: keep each rule's work, release its lock
                self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _cron_process_alerts(self):
        self.search([("state", "=", "running")])._process()
        self.env["sms.alert"]._send_due_unruled()
        self.env["sms.alert"]._trigger_cron()
