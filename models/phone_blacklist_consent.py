from odoo import api, models

from .sms_consent import export_consent_action


class PhoneBlacklist(models.Model):
    """Every change of the blacklist (an opt-out of every SMS mailing, or its end) appends a consent record, whatever
    made it: a keyword, the unsubscribe page, AT, an import or a user's click. The entry point says the source in
    the context (sms.consent's CONSENT_* keys); without one the change is a user's own ("manual")."""

    _inherit = "phone.blacklist"

    @api.model_create_multi
    def create(self, vals_list):
        # Stock's create also reactivates existing entries (through write, recorded there) and returns them: only
        # the entries that did not exist before are new here.
        requested = [vals.get("number") for vals in vals_list if vals.get("number")]
        existing = self.with_context(active_test=False).search([("number", "in", requested)]).ids if requested else []
        records = super().create(vals_list)
        new = records.filtered(lambda entry: entry.id not in existing)
        consent = self.env["sms.consent"]
        consent._record(new.filtered("active").mapped("number"), "opt_out")
        consent._record(new.filtered(lambda entry: not entry.active).mapped("number"), "opt_in")
        return records

    def write(self, vals):
        if "active" not in vals:
            return super().write(vals)
        changed = self.with_context(active_test=False).filtered(lambda entry: entry.active != bool(vals["active"]))
        result = super().write(vals)
        self.env["sms.consent"]._record(changed.mapped("number"), "opt_out" if vals["active"] else "opt_in")
        return result

    def unlink(self):
        numbers = self.filtered("active").mapped("number")
        result = super().unlink()
        self.env["sms.consent"]._record(numbers, "opt_in")
        return result

    def action_view_sms_consent(self):
        self.ensure_one()
        return self.env["sms.consent"]._action_history([self.number], self.number)

    def action_export_sms_consent(self):
        self.ensure_one()
        return export_consent_action([self.number])
