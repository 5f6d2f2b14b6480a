from odoo import _, api, fields, models

from ..tools.networks import guess_network_code, network_label


class AfricasTalkingMessage(models.Model):
    """The mobile network of each message: AT's ``networkCode`` once a report names it, a guess by prefix before."""

    _inherit = "africastalking.message"

    network_guess_code = fields.Char(
        "Network Code (guessed)", readonly=True,
        help="The network the number's prefix belongs to, written when the SMS is sent; AT's delivery report "
             "names the real one (a number ported to another network keeps its prefix).")
    network_name = fields.Char("Network", compute="_compute_network_name")

    @api.depends("network_code", "network_guess_code")
    def _compute_network_name(self):
        for message in self:
            message.network_name = _network_display(message.network_code, message.network_guess_code)

    @api.model
    def _record_send_results(self, results):
        messages = super()._record_send_results(results)
        if messages:
            self._write_network_guesses(messages.ids, [result.number for result in results])
        return messages

    @api.model
    def _write_network_guesses(self, message_ids, numbers):
        """The guessed network of the numbers just sent to, in one statement (a guess per distinct number)."""
        guesses = {number: guess_network_code(number) for number in set(numbers) if number}
        guesses = {number: code for number, code in guesses.items() if code}
        if not guesses:
            return
        self.env.cr.execute(
            """UPDATE africastalking_message m SET network_guess_code = g.code
                 FROM unnest(%s::varchar[], %s::varchar[]) AS g(number, code)
                WHERE m.id = ANY(%s) AND m.number = g.number""",
            (list(guesses), list(guesses.values()), message_ids))
        self.invalidate_model(["network_guess_code"])


def _network_display(reported_code, guessed_code):
    """'Safaricom (KE)' when a report named it, 'Safaricom (KE) (guess)' from the prefix, '' when neither."""
    if reported_code:
        return network_label(reported_code)
    if guessed_code:
        return _("%s (guess)", network_label(guessed_code))
    return ""
