/** @odoo-module */

/** Steps the addon's tours share: write them once here, spread them into a tour's steps. */

/** A step that only waits for ``trigger`` to be there (an assertion). */
export function check(content, trigger) {
    return { content, trigger, run: () => {} };
}

export function openComposer() {
    return {
        content: "Open the composer from the contact's SMS button",
        trigger: "button[name='action_africastalking_send_sms']",
    };
}

export function dialogClosed() {
    return check("Dialog closed", "body:not(:has(.modal))");
}

/**
 * Send, read the figures the confirmation shows, confirm for ``recipients`` recipients; the mailing form then says
 * it is queued.
 */
export function sendAndConfirm({ send, figures, figuresContent, recipients, queuedContent = "The mailing is queued" }) {
    return [
        { content: "Send", trigger: send },
        check(figuresContent, figures),
        {
            content: "Confirm",
            trigger: `.modal-footer .o_sms_send_confirm:contains('Send to ${recipients} recipients')`,
        },
        check(queuedContent, ".o_form_view .alert:contains('as soon as possible')"),
    ];
}

/**
 * Type like a person: one "input" event per character and no "change" (the field keeps the focus), so only a
 * live counter and a debounced commit can follow.
 */
export function typeKeys(text) {
    return function () {
        const textarea = this.$anchor[0];
        textarea.focus();
        for (const char of text) {
            textarea.value += char;
            textarea.dispatchEvent(new InputEvent("input", { bubbles: true, data: char, inputType: "insertText" }));
        }
    };
}

export function clearField() {
    return function () {
        const textarea = this.$anchor[0];
        textarea.focus();
        textarea.value = "";
        textarea.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "deleteContentBackward" }));
    };
}
