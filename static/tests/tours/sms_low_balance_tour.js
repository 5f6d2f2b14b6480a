/** @odoo-module */

import { registry } from "@web/core/registry";

/** The administrator opens the AT account whose balance fell below its threshold: the balance is flagged and the
 * low-balance activity waits in the chatter with AT's top-up advice. */
registry.category("web_tour.tours").add("sms_africastalking_low_balance_tour", {
    test: true,
    steps: () => [
        {
            content: "The balance shows in red on the account form",
            trigger: ".o_field_widget[name='balance'].text-danger:contains('7.5')",
            run: () => {},
        },
        {
            content: "The Balance Low flag is shown",
            trigger: ".o_field_widget[name='low_balance_alerted']",
            run: () => {},
        },
        {
            content: "The threshold is shown beside the balance",
            trigger: ".o_field_widget[name='low_balance_threshold']",
            run: () => {},
        },
        {
            content: "The administrator's activity is in the chatter",
            trigger: ".o-mail-Activity:contains('balance low')",
            run: () => {},
        },
        {
            content: "Its note says where to top up: AT's dashboard, never Odoo's credit page",
            trigger: ".o-mail-Activity-note:contains('account.africastalking.com'):not(:contains('iap'))",
            run: () => {},
        },
        {
            content: "Check the balance again: still low, no second alert",
            trigger: "button[name='action_check_balance']",
        },
        {
            content: "Balance notification",
            trigger: ".o_notification:contains('Balance of')",
            run: () => {},
        },
    ],
});
