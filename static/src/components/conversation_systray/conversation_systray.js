/** @odoo-module **/

import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useBus, useService } from "@web/core/utils/hooks";

/**
 * The unread counter of SMS Marketing › Conversations: conversations with messages nobody has read yet, among
 * those the user may see (record rules apply to the count). Refreshed whenever the user moves in the web client,
 * so opening a thread (which reads it) updates the badge.
 */
export class SmsConversationSystray extends Component {
    static template = "sms_africastalking.ConversationSystray";
    static props = {};

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ unread: 0, visible: false });
        onWillStart(() => this.refresh());
        useBus(this.env.bus, "ACTION_MANAGER:UI-UPDATED", () => this.refresh());
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
