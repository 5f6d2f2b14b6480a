from odoo import _, api, fields, models

from ..tools.networks import guess_network_code, network_label


class AfricasTalkingMessage(models.Model):
    """The mobile network of each message: AT's ``networkCode`` once a report names it, a guess by prefix before.

    The guess is not stored: a mailing writes 100,000 messages in bulk, and one more write per message would cost
    more than the guess is worth. The list computes it for the rows it shows, the Delivery analysis joins a prefix
    table in SQL (see africastalking.delivery.analysis).
    """

    _inherit = "africastalking.message"

    network_name = fields.Char("Network", compute="_compute_network_name")

    @api.depends("network_code", "number")
    def _compute_network_name(self):
        for message in self:
            message.network_name = network_display(message.network_code, message.number)


def network_display(reported_code, number):
    """'Safaricom (KE)' when a report named it, else 'Safaricom (KE) (guess)' from the number's prefix, '' when
    neither says (the Sent SMS log and the mailing traces show it alike)."""
    if reported_code:
        return network_label(reported_code)
    guessed_code = guess_network_code(number or "")
    if guessed_code:
        return _("%s (guess)", network_label(guessed_code))
    return ""
