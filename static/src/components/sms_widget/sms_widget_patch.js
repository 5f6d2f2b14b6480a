/** @odoo-module **/

import { useEffect, useState } from "@odoo/owl";
import { patch } from "@web/core/utils/patch";
import { useDebounced } from "@web/core/utils/timing";
import { SmsWidget } from "@sms/components/sms_widget/fields_sms_widget";

import { analyze, smartEncode } from "@sms_africastalking/js/segments";

/** Quiet time after the last keystroke before the text goes to the record (and its onchange: the cost). */
export const LIVE_COMMIT_DELAY = 400;

/**
 * Count what Africa's Talking will bill: the shared segmenter (a port of tools/segments.py) replaces
 * stock's counter, which treats extension characters as Unicode, counts newlines twice and divides
 * instead of packing parts. Links and the opt-out text are still added by mass_mailing_sms's patch.
 *
 * The counter is live: stock counts the record's value, which the text field only receives when it loses
 * focus. Here each keystroke updates the counter from the textarea, and a pause in typing commits the text
 * through the field's own change path, so the form's onchange (cost estimate) follows without a blur.
 */
patch(SmsWidget.prototype, {
    setup() {
        super.setup(...arguments);
        // text: what the textarea holds while typing; base: the record's value it was typed over.
        this.liveText = useState({ text: null, base: null });
        this.commitLiveText = useDebounced(this._commitLiveText, LIVE_COMMIT_DELAY);
        useEffect(
            (textarea) => {
                if (!textarea) {
                    return;
                }
                const onInput = () => this._onLiveInput(textarea.value);
                textarea.addEventListener("input", onInput);
                return () => textarea.removeEventListener("input", onInput);
            },
            () => [this.textareaRef.el]
        );
    },
    _onLiveInput(text) {
        this.liveText.text = text;
        this.liveText.base = this.props.record.data[this.props.name] || "";
        this.commitLiveText();
    },
    /** The field's own "change" path (useInputField): it marks the value as committed, so no blur redoes it. */
    _commitLiveText() {
        const textarea = this.textareaRef.el;
        if (textarea && textarea.value === this.liveText.text) {
            textarea.dispatchEvent(new Event("change"));
        }
    },
    /** The text being edited: the textarea's while typing, the record's once it changed by other means. */
    get countedValue() {
        const recordValue = this.props.record.data[this.props.name] || "";
        const { text, base } = this.liveText;
        if (text === null || (recordValue !== base && recordValue !== text)) {
            return recordValue;
        }
        return text;
    },
    /** The text as it will leave: tracked links, opt-out link, look-alikes replaced when enabled. */
    get sentText() {
        const data = this.props.record.data;
        let text = this._getValueForSmsCounts(this.countedValue);
        const unsubscribe = this.linkReplacementsPlaceholders && this.linkReplacementsPlaceholders.unsubscribe;
        if (unsubscribe && (data.sms_allow_unsubscribe || data.mass_sms_allow_unsubscribe)) {
            this.optOutEnabled = true;
            text += unsubscribe;
        }
        if (data.sms_smart_encoding) {
            text = smartEncode(text);
        }
        return text;
    },
    get smsInfo() {
        return analyze(this.sentText);
    },
    get smartEncodedBody() {
        const value = this.countedValue;
        if (!this.props.record.data.sms_smart_encoding) {
            return false;
        }
        const encoded = smartEncode(value);
        return encoded !== value ? encoded : false;
    },
    /** Parts per SMS above which the form warns (Settings > SMS), when the form carries the setting. */
    get segmentsWarnLimit() {
        return this.props.record.data.sms_segments_warn || 0;
    },
    get segmentsCap() {
        return this.props.record.data.sms_segments_cap || 0;
    },
    get encoding() {
        return this.smsInfo.encoding;
    },
    get nbrChar() {
        return this.smsInfo.length;
    },
    get nbrSMS() {
        return this.smsInfo.segments;
    },
});
