from odoo import models

from .sms_conversation import UNREAD_CHANNEL


class IrWebsocket(models.AbstractModel):
    _inherit = "ir.websocket"

    def _build_bus_channel_list(self, channels):
        return super()._build_bus_channel_list([*channels, *self._sms_conversation_channels()])

    def _sms_conversation_channels(self):
        """SMS Marketing users hear when a number writes in (the conversation systray); the message carries no
        data, each client then asks for its own count."""
        if self.env.uid and self.env.user.has_group("mass_mailing.group_mass_mailing_user"):
            return [UNREAD_CHANNEL]
        return []
