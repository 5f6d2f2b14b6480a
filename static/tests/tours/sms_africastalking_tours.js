/** @odoo-module */

import { registry } from "@web/core/registry";

/** Composer from a contact: the live counter packs parts like AT, the cost follows the text. */
registry.category("web_tour.tours").add("sms_africastalking_composer_tour", {
    test: true,
    steps: () => [
        {
            content: "Open the composer from the contact's SMS button",
            trigger: "button[name='action_africastalking_send_sms']",
        },
        {
            content: "Type 152 characters and a euro sign: 154 septets in GSM-7",
            trigger: "div[name='body'] textarea",
            run: "text " + "a".repeat(152) + "€",
        },
        {
            content: "The counter shows GSM-7, 154 septets, 1 SMS",
            trigger: ".o_sms_count[data-encoding='GSM-7'][data-length='154'][data-segments='1']",
            run: () => {},
        },
        {
            content: "The estimated cost is one Kenyan segment",
            trigger: ".o_sms_at_cost span:contains('0.80')",
            run: () => {},
        },
        {
            content: "Push the euro sign over the 160 boundary",
            trigger: "div[name='body'] textarea",
            run: "text " + "a".repeat(159) + "€",
        },
        {
            content: "Escape pair never split: 161 septets in 2 parts",
            trigger: ".o_sms_count[data-length='161'][data-segments='2']",
            run: () => {},
        },
        {
            content: "The cost follows: two segments",
            trigger: ".o_sms_at_cost span:contains('1.60')",
            run: () => {},
        },
        {
            content: "An emoji switches to UCS-2",
            trigger: "div[name='body'] textarea",
            run: "text Habari 😀",
        },
        {
            content: "UCS-2, the emoji counts 2 units",
            trigger: ".o_sms_count[data-encoding='UCS-2'][data-length='9'][data-segments='1']",
            run: () => {},
        },
        {
            content: "Send",
            trigger: "button[name='action_send_sms']:not([disabled])",
        },
        {
            content: "Dialog closed",
            trigger: "body:not(:has(.modal))",
            run: () => {},
        },
    ],
});

/** SMS Marketing menu: open a draft mailing, see its cost, send it. */
registry.category("web_tour.tours").add("sms_africastalking_mailing_tour", {
    test: true,
    url: "/web",
    steps: () => [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
        },
        {
            content: "Open SMS Marketing",
            trigger: ".o_app[data-menu-xmlid='mass_mailing_sms.mass_mailing_sms_menu_root']",
        },
        {
            content: "Open the draft mailing",
            trigger: ".o_data_cell:contains('Cockpit tour mailing')",
        },
        {
            content: "Estimate its cost",
            trigger: "button[name='action_sms_estimate']",
        },
        {
            content: "Open the SMS Cost tab",
            trigger: "a.nav-link:contains('SMS Cost')",
        },
        {
            content: "4 recipients, 4 segments, KES 3.20",
            trigger: "div[name='sms_estimate_cost']:contains('3.20')",
            run: () => {},
        },
        {
            content: "Send",
            trigger: "button[name='action_put_in_queue']",
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .btn-primary",
        },
        {
            content: "The mailing is queued",
            trigger: ".o_form_view .alert:contains('as soon as possible')",
            run: () => {},
        },
    ],
});

/** For the README screenshot only: leave the composer open on a text with a look-alike and an emoji. */
registry.category("web_tour.tours").add("sms_africastalking_composer_screenshot", {
    test: true,
    steps: () => [
        {
            trigger: "button[name='action_africastalking_send_sms']",
        },
        {
            trigger: "div[name='body'] textarea",
            run: "text Habari {{ object.name }}, exams start Monday – good luck! 😀",
        },
        {
            trigger: ".o_sms_count[data-encoding='UCS-2']",
            run: () => {},
        },
        {
            trigger: ".o_sms_at_cost span:contains('0.80')",
            run: () => {},
        },
    ],
});
