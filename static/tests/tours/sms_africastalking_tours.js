/** @odoo-module */

import { registry } from "@web/core/registry";
import {
    check,
    clearField,
    dialogClosed,
    openComposer,
    sendAndConfirm,
    typeKeys,
} from "@sms_africastalking/../tests/tours/helpers/sms_tour_steps";

/** Composer from a contact: the live counter packs parts like AT, the cost follows the text. */
registry.category("web_tour.tours").add("sms_africastalking_composer_tour", {
    test: true,
    steps: () => [
        openComposer(),
        {
            content: "Type 152 characters and a euro sign: 154 septets in GSM-7",
            trigger: "div[name='body'] textarea",
            run: "text " + "a".repeat(152) + "€",
        },
        check("The counter shows GSM-7, 154 septets, 1 SMS", ".o_sms_count[data-encoding='GSM-7'][data-length='154'][data-segments='1']"),
        check("The estimated cost is one Kenyan segment", ".o_sms_at_cost span:contains('0.80')"),
        {
            content: "Push the euro sign over the 160 boundary",
            trigger: "div[name='body'] textarea",
            run: "text " + "a".repeat(159) + "€",
        },
        check("Escape pair never split: 161 septets in 2 parts", ".o_sms_count[data-length='161'][data-segments='2']"),
        check("The cost follows: two segments", ".o_sms_at_cost span:contains('1.60')"),
        {
            content: "An emoji switches to UCS-2",
            trigger: "div[name='body'] textarea",
            run: "text Habari 😀",
        },
        check("UCS-2, the emoji counts 2 units", ".o_sms_count[data-encoding='UCS-2'][data-length='9'][data-segments='1']"),
        {
            content: "Send",
            trigger: "button[name='action_send_sms']:not([disabled])",
        },
        dialogClosed(),
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
            content: "Open the SMS Cost tab",
            trigger: "a.nav-link:contains('SMS Cost')",
        },
        check("4 recipients, 4 segments, KES 3.20", "div[name='sms_estimate_cost']:contains('3.20')"),
        ...sendAndConfirm({
            send: "button[name='action_put_in_queue']",
            figuresContent: "The confirmation says who receives it and what it costs",
            figures: ".modal-body:contains('4 recipients, 4 segments (GSM-7, 1 part per SMS)')",
            recipients: 4,
        }),
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

/** Composer: the counter follows each keystroke, the cost follows a pause in typing, all without leaving the field. */
registry.category("web_tour.tours").add("sms_africastalking_live_composer_tour", {
    test: true,
    steps: () => [
        openComposer(),
        {
            content: "Type 159 letters, key by key",
            trigger: "div[name='body'] textarea",
            run: typeKeys("a".repeat(159)),
        },
        check("The counter already says 159 characters, 1 part", ".o_sms_count[data-encoding='GSM-7'][data-length='159'][data-segments='1']"),
        {
            content: "Type a euro sign (2 septets): 161 septets",
            trigger: "div[name='body'] textarea",
            run: typeKeys("€"),
        },
        check("The escape pair is not split: 2 parts, live, in words", ".o_sms_count[data-length='161'][data-segments='2']:contains('161 characters'):contains('2 parts per SMS')"),
        {
            content: "The cost follows a pause in typing, with the focus still in the text",
            trigger: ".o_sms_at_cost span:contains('KES 1.60')",
            run: function () {
                if (document.activeElement !== document.querySelector("div[name='body'] textarea")) {
                    throw new Error("the text field lost the focus: the cost came from a blur, not live");
                }
            },
        },
        {
            content: "An emoji, key by key: UCS-2, the surrogate pair counts 2 units",
            trigger: "div[name='body'] textarea",
            run: function () {
                clearField().call(this);
                typeKeys("Habari 😀").call(this);
            },
        },
        check("UCS-2, 9 units, 1 part", ".o_sms_count[data-encoding='UCS-2'][data-length='9'][data-segments='1']:contains('1 part per SMS')"),
        {
            content: "Many parts: a warning under the counter (more than 3, the default of Settings)",
            trigger: "div[name='body'] textarea",
            run: function () {
                clearField().call(this);
                typeKeys("b".repeat(153 * 4)).call(this);
            },
        },
        check("The warning says so before sending", ".o_sms_segments_warning[data-level='warn']:contains('More than 3 parts per SMS')"),
        {
            content: "Discard",
            trigger: ".modal-footer button:contains('Close'), .modal-header .btn-close",
        },
        dialogClosed(),
    ],
});

/** Mailing: typing re-estimates by itself; Send confirms with recipients, segments and cost. */
registry.category("web_tour.tours").add("sms_africastalking_live_mailing_tour", {
    test: true,
    steps: () => [
        check("The saved estimate is shown under the text: 4 recipients, 1 part", ".o_sms_mailing_estimate:contains('KES 3.20')"),
        {
            content: "Type past one part, key by key",
            trigger: "div[name='body_plaintext'] textarea",
            run: typeKeys(" " + "z".repeat(160)),
        },
        check("The counter follows at once", ".o_sms_count[data-segments='2']"),
        check("The estimate follows by itself (no button, no save): 8 segments, KES 6.40", ".o_sms_mailing_estimate:contains('KES 6.40'):contains('4 recipients, 8 segments')"),
        check("No Estimate Cost button any more", ".o_form_view:not(:has(button[name='action_sms_estimate']))"),
        ...sendAndConfirm({
            send: "button[name='action_put_in_queue']",
            figuresContent: "The confirmation: 4 recipients, 8 SMS billed, KES 6.40",
            figures: ".modal-body:contains('KES 6.40'):contains('4 recipients, 8 segments')",
            recipients: 4,
        }),
    ],
});

/** Broadcast: recipients, segments and cost in the form, then a confirmation before anything is created. */
registry.category("web_tour.tours").add("sms_africastalking_broadcast_tour", {
    test: true,
    steps: () => [
        {
            content: "Subject",
            trigger: "div[name='name'] input",
            run: "text Campus closed",
        },
        {
            content: "Mailing list",
            trigger: "div[name='mailing_list_ids'] input",
            run: "text Rain Club",
        },
        {
            content: "Pick it",
            trigger: ".ui-autocomplete a:contains('Rain Club')",
        },
        {
            content: "Type the text, key by key",
            trigger: "div[name='body'] textarea",
            run: typeKeys("Campus closed tomorrow: heavy rain."),
        },
        check("The form shows recipients, segments and cost", ".o_sms_broadcast_estimate:contains('KES 3.20'):contains('4 recipients, 4 segments')"),
        ...sendAndConfirm({
            send: "button[name='action_send']",
            figuresContent: "The confirmation asks, with the figures",
            figures: ".modal-body:contains('KES 3.20'):contains('4 recipients, 4 segments')",
            recipients: 4,
            queuedContent: "The broadcast's mailing opens, queued",
        }),
    ],
});
