/** @odoo-module **/

import { patch } from "@web/core/utils/patch";
import { SmsWidget } from "@sms/components/sms_widget/fields_sms_widget";

import { analyze, smartEncode } from "@sms_africastalking/js/segments";

/**
 * Count what Africa's Talking will bill: the shared segmenter (a port of tools/segments.py) replaces
 * stock's counter, which treats extension characters as Unicode, counts newlines twice and divides
 * instead of packing parts. Links and the opt-out text are still added by mass_mailing_sms's patch.
 */
patch(SmsWidget.prototype, {
    /** The text as it will leave: tracked links, opt-out link, look-alikes replaced when enabled. */
    get sentText() {
        const data = this.props.record.data;
        let text = this._getValueForSmsCounts(data[this.props.name] || "");
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
        const value = this.props.record.data[this.props.name] || "";
        if (!this.props.record.data.sms_smart_encoding) {
            return false;
        }
        const encoded = smartEncode(value);
        return encoded !== value ? encoded : false;
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
