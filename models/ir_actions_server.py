from odoo import models

from .sms_sms import ORIGIN_CONTEXT_KEY


class IrActionsServer(models.Model):
    _inherit = "ir.actions.server"

    def _run_action_sms_multi(self, eval_context=None):
        """Its SMS are counted as the server action's in the cost analysis (it sends through a composer)."""
        return super(IrActionsServer, self.with_context(**{ORIGIN_CONTEXT_KEY: "server_action"})
                     )._run_action_sms_multi(eval_context=eval_context)
