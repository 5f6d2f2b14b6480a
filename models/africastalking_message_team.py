from odoo import api, fields, models
from odoo.tools import SQL


class AfricasTalkingMessage(models.Model):
    """What the team rules of the Sent SMS log read (security/sms_team_records_security.xml): who sent a message
    that is not a mailing's, and the conversation a reply belongs to.

    Both are written with the send results from the SMS row, in the same INSERT (never a second write per row), and
    are empty for a mailing's messages: those follow the mailing's team rule.
    """

    _inherit = "africastalking.message"

    user_id = fields.Many2one("res.users", "Sent By", readonly=True, ondelete="set null",
                              help="The user who sent this SMS (single SMS, replies, API); empty for a mailing's.")
    conversation_id = fields.Many2one("sms.conversation", readonly=True, ondelete="set null",
                                      index="btree_not_null",
                                      help="The conversation this reply (or keyword answer) belongs to.")

    @api.model
    def _send_result_values(self):
        # STOP / START / HELP answers are queued without their conversation: found by the SMS's number.
        return {
            **super()._send_result_values(),
            "user_id": SQL("CASE WHEN s.mailing_id IS NULL THEN s.create_uid END"),
            "conversation_id": SQL(
                "CASE WHEN s.at_origin IN ('conversation', 'keyword') THEN COALESCE(s.conversation_id, "
                "(SELECT c.id FROM sms_conversation c WHERE c.number = s.number AND c.company_id = s.company_id)) END"),
        }
