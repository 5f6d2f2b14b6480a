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
            content: "The confirmation says who receives it and what it costs",
            trigger: ".modal-body:contains('4 recipients, 4 segments (GSM-7, 1 part per SMS)')",
            run: () => {},
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .o_sms_send_confirm:contains('Send to 4 recipients')",
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

/**
 * Type like a person: one "input" event per character and no "change" (the field keeps the focus), so only a
 * live counter and a debounced commit can follow.
 */
function typeKeys(text) {
    return function () {
        const textarea = this.$anchor[0];
        textarea.focus();
        for (const char of text) {
            textarea.value += char;
            textarea.dispatchEvent(new InputEvent("input", { bubbles: true, data: char, inputType: "insertText" }));
        }
    };
}

function clearField() {
    return function () {
        const textarea = this.$anchor[0];
        textarea.focus();
        textarea.value = "";
        textarea.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "deleteContentBackward" }));
    };
}

/** Composer: the counter follows each keystroke, the cost follows a pause in typing, all without leaving the field. */
registry.category("web_tour.tours").add("sms_africastalking_live_composer_tour", {
    test: true,
    steps: () => [
        {
            content: "Open the composer from the contact's SMS button",
            trigger: "button[name='action_africastalking_send_sms']",
        },
        {
            content: "Type 159 letters, key by key",
            trigger: "div[name='body'] textarea",
            run: typeKeys("a".repeat(159)),
        },
        {
            content: "The counter already says 159 characters, 1 part",
            trigger: ".o_sms_count[data-encoding='GSM-7'][data-length='159'][data-segments='1']",
            run: () => {},
        },
        {
            content: "Type a euro sign (2 septets): 161 septets",
            trigger: "div[name='body'] textarea",
            run: typeKeys("€"),
        },
        {
            content: "The escape pair is not split: 2 parts, live, in words",
            trigger: ".o_sms_count[data-length='161'][data-segments='2']:contains('161 characters'):contains('2 parts per SMS')",
            run: () => {},
        },
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
        {
            content: "UCS-2, 9 units, 1 part",
            trigger: ".o_sms_count[data-encoding='UCS-2'][data-length='9'][data-segments='1']:contains('1 part per SMS')",
            run: () => {},
        },
        {
            content: "Many parts: a warning under the counter (more than 3, the default of Settings)",
            trigger: "div[name='body'] textarea",
            run: function () {
                clearField().call(this);
                typeKeys("b".repeat(153 * 4)).call(this);
            },
        },
        {
            content: "The warning says so before sending",
            trigger: ".o_sms_segments_warning[data-level='warn']:contains('More than 3 parts per SMS')",
            run: () => {},
        },
        {
            content: "Discard",
            trigger: ".modal-footer button:contains('Close'), .modal-header .btn-close",
        },
        {
            content: "Dialog closed",
            trigger: "body:not(:has(.modal))",
            run: () => {},
        },
    ],
});

/** Mailing: typing re-estimates by itself; Send confirms with recipients, segments and cost. */
registry.category("web_tour.tours").add("sms_africastalking_live_mailing_tour", {
    test: true,
    steps: () => [
        {
            content: "The saved estimate is shown under the text: 4 recipients, 1 part",
            trigger: ".o_sms_mailing_estimate:contains('KES 3.20')",
            run: () => {},
        },
        {
            content: "Type past one part, key by key",
            trigger: "div[name='body_plaintext'] textarea",
            run: typeKeys(" " + "z".repeat(160)),
        },
        {
            content: "The counter follows at once",
            trigger: ".o_sms_count[data-segments='2']",
            run: () => {},
        },
        {
            content: "The estimate follows by itself (no button, no save): 8 segments, KES 6.40",
            trigger: ".o_sms_mailing_estimate:contains('KES 6.40'):contains('4 recipients, 8 segments')",
            run: () => {},
        },
        {
            content: "No Estimate Cost button any more",
            trigger: ".o_form_view:not(:has(button[name='action_sms_estimate']))",
            run: () => {},
        },
        {
            content: "Send",
            trigger: "button[name='action_put_in_queue']",
        },
        {
            content: "The confirmation: 4 recipients, 8 SMS billed, KES 6.40",
            trigger: ".modal-body:contains('KES 6.40'):contains('4 recipients, 8 segments')",
            run: () => {},
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .o_sms_send_confirm:contains('Send to 4 recipients')",
        },
        {
            content: "The mailing is queued",
            trigger: ".o_form_view .alert:contains('as soon as possible')",
            run: () => {},
        },
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
        {
            content: "The form shows recipients, segments and cost",
            trigger: ".o_sms_broadcast_estimate:contains('KES 3.20'):contains('4 recipients, 4 segments')",
            run: () => {},
        },
        {
            content: "Send",
            trigger: "button[name='action_send']",
        },
        {
            content: "The confirmation asks, with the figures",
            trigger: ".modal-body:contains('KES 3.20'):contains('4 recipients, 4 segments')",
            run: () => {},
        },
        {
            content: "Confirm",
            trigger: ".modal-footer .o_sms_send_confirm:contains('Send to 4 recipients')",
        },
        {
            content: "The broadcast's mailing opens, queued",
            trigger: ".o_form_view .alert:contains('as soon as possible')",
            run: () => {},
        },
    ],
});
