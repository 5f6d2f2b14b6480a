/** @odoo-module */

import { registry } from "@web/core/registry";
import { check, dialogClosed, openComposer } from "@sms_africastalking/../tests/tours/helpers/sms_tour_steps";

/** A contact's SMS: the composer says which number (and field) it used instead of closing silently. */
registry.category("web_tour.tours").add("sms_africastalking_single_sms_tour", {
    test: true,
    steps: () => [
        openComposer(),
        {
            content: "Type the text",
            trigger: "div[name='body'] textarea",
            run: "text Your student card is ready",
        },
        {
            content: "Send",
            trigger: "button[name='action_send_sms']:not([disabled])",
        },
        check("The composer says where the SMS goes: the mobile, in E.164", ".o_notification:contains('SMS queued'):contains('+254711000001'):contains('Mobile')"),
        dialogClosed(),
    ],
});

/** A Kenyan office tests a mailing on a local 07xx number. */
registry.category("web_tour.tours").add("sms_africastalking_local_number_tour", {
    test: true,
    steps: () => [
        {
            content: "Test the mailing",
            trigger: "button[name='action_test']",
        },
        {
            content: "A local number, as people type it",
            trigger: "div[name='numbers'] textarea",
            run: "text 0712 345 678",
        },
        {
            content: "Send the test",
            trigger: "button[name='action_send_sms']",
        },
        check("The chatter says it was queued for the E.164 number, not refused", ".o-mail-Message:contains('Test SMS queued for +254712345678')"),
    ],
});
