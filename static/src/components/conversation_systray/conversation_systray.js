/** @odoo-module **/

import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useBus, useService } from "@web/core/utils/hooks";

/**
 * The unread counter of SMS Marketing › Conversations: conversations with messages nobody has read yet, among
 * those the user may see (record rules apply to the count). Refreshed when the server says a number wrote in (bus
 * notification, models/ir_websocket.py) and when the user moves within the conversations (opening a thread reads
 * it), not on every screen change: one request per click of every user would cost more than the badge is worth.
 */
export class SmsConversationSystray extends Component {
    static template = "sms_africastalking.ConversationSystray";
    static props = {};

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ unread: 0, visible: false });
        onWillStart(() => this.refresh());
        useBus(this.env.bus, "ACTION_MANAGER:UI-UPDATED", () => {
            if (this.action.currentController?.props?.resModel === "sms.conversation") {
                this.refresh();
            }
        });
        // The service itself, not useService(): the systray lives as long as the page, and bus_service declares its
        // methods async, which useService() cannot wrap.
        this.env.services.bus_service.subscribe("sms_africastalking/conversation_unread", () => this.refresh());
    }

    async refresh() {
        // false for users outside SMS Marketing: no icon for them
        const unread = await this.orm.call("sms.conversation", "systray_unread_count", []);
        this.state.visible = unread !== false;
        this.state.unread = unread || 0;
    }

    openConversations() {
        this.action.doAction("sms_africastalking.sms_conversation_action", {
            additionalContext: { search_default_filter_unread: 1 },
        });
    }
}

export const systrayItem = { Component: SmsConversationSystray };

registry.category("systray").add("sms_africastalking.conversations", systrayItem, { sequence: 30 });
