/** @odoo-module */

import { registry } from "@web/core/registry";

/** A parent's SMS arrived: open SMS Marketing › Conversations, read the thread, answer it. */
registry.category("web_tour.tours").add("sms_africastalking_conversation_tour", {
    test: true,
    steps: () => [
        {
            content: "The systray counts the unread conversation",
            trigger: ".o_sms_conversation_systray .o_sms_conversation_unread:contains('1')",
            run: () => {},
        },
        {
            content: "Open SMS Marketing › Conversations",
            trigger: ".o_main_navbar a[data-menu-xmlid='sms_africastalking.sms_conversation_menu']",
        },
        {
            content: "Open the parent's conversation",
            trigger: ".o_data_row td[name='number']:contains('+254711000001')",
        },
        {
            content: "The thread shows what the parent wrote",
            trigger: ".o_sms_conversation_thread [data-direction='in'] .o_sms_text:contains('Is the school bus running?')",
            run: () => {},
        },
        {
            content: "Reading the thread cleared the counter",
            trigger: ".o_sms_conversation_systray:not(:has(.o_sms_conversation_unread))",
            run: () => {},
        },
        {
            content: "Type the answer",
            trigger: "div[name='reply_body'] textarea",
            run: "text Yes, from 7 am.",
        },
        {
            content: "The live counter counts one SMS",
            trigger: ".o_sms_count[data-segments='1']",
            run: () => {},
        },
        {
            content: "Its cost is shown",
            trigger: ".o_sms_reply_cost:contains('0.80')",
            run: () => {},
        },
        {
            content: "Send the reply",
            trigger: "button[name='action_send_reply']",
        },
        {
            content: "The reply is in the thread, queued for Africa's Talking",
            trigger: ".o_sms_conversation_thread [data-direction='out'][data-state='queued'] .o_sms_text:contains('Yes, from 7 am.')",
            run: () => {},
        },
        {
            content: "Mark the conversation done",
            trigger: "button[name='action_done']",
        },
        {
            content: "Done: it can be reopened",
            trigger: "button[name='action_reopen']",
            run: () => {},
        },
    ],
});
