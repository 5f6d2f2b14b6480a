/** @odoo-module */

import { registry } from "@web/core/registry";

/** The requester sends a mailing above the team's threshold: it waits for approval, and they cannot approve it. */
registry.category("web_tour.tours").add("sms_africastalking_approval_request_tour", {
    test: true,
    steps: () => [
        {
            content: "Send",
            trigger: "button[name='action_put_in_queue']",
        },
        {
            content: "Confirm the send",
            trigger: ".modal-footer .o_sms_send_confirm",
        },
        {
            content: "The mailing waits for approval and says why",
            trigger: ".o_sms_approval_waiting:contains('4 recipients, above the 3 of ICT Office')",
            run: () => {},
        },
        {
            content: "No Send, no Approve for the requester; Cancel withdraws",
            trigger: ".o_form_view .o_form_statusbar:not(:has(button[name='action_put_in_queue']))"
                + ":not(:has(button[name='action_sms_approve'])):has(button[name='action_cancel'])",
            run: () => {},
        },
    ],
});

/** The approver approves with a note: the mailing goes to the queue, the decision is on it and in its chatter. */
registry.category("web_tour.tours").add("sms_africastalking_approval_approve_tour", {
    test: true,
    steps: () => [
        {
            content: "The approver sees why it waits",
            trigger: ".o_sms_approval_waiting:contains('ICT Office')",
            run: () => {},
        },
        {
            content: "Approve",
            trigger: "button[name='action_sms_approve']",
        },
        {
            content: "A note",
            trigger: "div[name='note'] textarea",
            run: "text Fine for the exam notice",
        },
        {
            content: "Confirm the approval",
            trigger: ".modal-footer button[name='action_confirm']:contains('Approve')",
        },
        {
            content: "Approved: in the queue, the banner is gone",
            trigger: ".o_form_view:not(:has(.o_sms_approval_waiting)) .alert:contains('as soon as possible')",
            run: () => {},
        },
        {
            content: "The decision is in the chatter",
            trigger: ".o-mail-Message:contains('Approved by Approver Alice: Fine for the exam notice')",
            run: () => {},
        },
    ],
});

/** The approver refuses: a note is required, the mailing returns to draft with the note shown. */
registry.category("web_tour.tours").add("sms_africastalking_approval_refuse_tour", {
    test: true,
    steps: () => [
        {
            content: "Refuse",
            trigger: "button[name='action_sms_refuse']",
        },
        {
            content: "The reason",
            trigger: "div[name='note'] textarea",
            run: "text Send to the final-year list only",
        },
        {
            content: "Confirm the refusal",
            trigger: ".modal-footer button[name='action_confirm']:contains('Refuse')",
        },
        {
            content: "Back to draft, the refusal and its note shown on the mailing",
            trigger: ".o_sms_approval_refused:contains('Send to the final-year list only')",
            run: () => {},
        },
        {
            content: "Send is offered again",
            trigger: ".o_form_statusbar button[name='action_put_in_queue']",
            run: () => {},
        },
    ],
});
