/** @odoo-module **/
/**
 * JS port of tools/segments.py: the one segmenter of the addon, in the browser.
 *
 * Same rules as the server (the parity test runs both over tools/segments_cases.json):
 * GSM-7 when every character is in the GSM 03.38 basic set or its extension table (extension characters
 * count 2 septets), otherwise UCS-2 in UTF-16 code units (a surrogate pair counts 2). 160/70 units fit one
 * part, 153/67 per part when concatenated, and a part never splits an escape pair or a surrogate pair.
 */

export const GSM7 = "GSM-7";
export const UCS2 = "UCS-2";

const GSM7_BASIC = new Set("\n\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz\u00a1\u00a3\u00a4\u00a5\u00a7\u00bf\u00c4\u00c5\u00c6\u00c7\u00c9\u00d1\u00d6\u00d8\u00dc\u00df\u00e0\u00e4\u00e5\u00e6\u00e8\u00e9\u00ec\u00f1\u00f2\u00f6\u00f8\u00f9\u00fc\u0393\u0394\u0398\u039b\u039e\u03a0\u03a3\u03a6\u03a8\u03a9");
const GSM7_EXTENSION = new Set("\f[\\]^{|}~\u20ac");
const SINGLE_PART_LIMIT = { [GSM7]: 160, [UCS2]: 70 };
const MULTI_PART_LIMIT = { [GSM7]: 153, [UCS2]: 67 };

// Generated from tools/segments.py _LOOK_ALIKES: keep both in step.
const LOOK_ALIKES = {
    "\t": " ",
    "`": "'",
    "\u00a0": " ",
    "\u00ab": "\"",
    "\u00ad": "",
    "\u00b4": "'",
    "\u00b7": "-",
    "\u00bb": "\"",
    "\u02bc": "'",
    "\u2000": " ",
    "\u2001": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2004": " ",
    "\u2005": " ",
    "\u2006": " ",
    "\u2007": " ",
    "\u2008": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": "\"",
    "\u201d": "\"",
    "\u201e": "\"",
    "\u201f": "\"",
    "\u2022": "-",
    "\u2023": "-",
    "\u2026": "...",
    "\u2028": "\n",
    "\u2029": "\n",
    "\u202f": " ",
    "\u2032": "'",
    "\u2033": "\"",
    "\u2039": "'",
    "\u203a": "'",
    "\u2043": "-",
    "\u205f": " ",
    "\u2060": "",
    "\u2212": "-",
    "\u3000": " ",
    "\ufeff": ""
};

/** Characters as Python sees them: code points, not UTF-16 units. */
function codePoints(text) {
    return Array.from(text || "");
}

export function isGsm7(text) {
    return codePoints(text).every((char) => GSM7_BASIC.has(char) || GSM7_EXTENSION.has(char));
}

function pack(unitSizes, capacity) {
    let parts = 1;
    let used = 0;
    for (const size of unitSizes) {
        if (used + size > capacity) {
            parts += 1;
            used = 0;
        }
        used += size;
    }
    return parts;
}

/**
 * Encoding, length (septets or UTF-16 units), segments, capacity of one part and characters of `text`.
 * The empty text needs 0 segments.
 */
export function analyze(text) {
    const chars = codePoints(text);
    let encoding, unitSizes;
    if (chars.every((char) => GSM7_BASIC.has(char) || GSM7_EXTENSION.has(char))) {
        encoding = GSM7;
        unitSizes = chars.map((char) => (GSM7_EXTENSION.has(char) ? 2 : 1));
    } else {
        encoding = UCS2;
        unitSizes = chars.map((char) => (char.codePointAt(0) > 0xffff ? 2 : 1));
    }
    const length = unitSizes.reduce((sum, size) => sum + size, 0);
    if (length <= SINGLE_PART_LIMIT[encoding]) {
        return {
            encoding,
            length,
            segments: length ? 1 : 0,
            per_segment: SINGLE_PART_LIMIT[encoding],
            characters: chars.length,
        };
    }
    const capacity = MULTI_PART_LIMIT[encoding];
    return {
        encoding,
        length,
        segments: pack(unitSizes, capacity),
        per_segment: capacity,
        characters: chars.length,
    };
}

/** Replace typographic look-alikes by GSM-7 characters, as tools.segments.smart_encode does. */
export function smartEncode(text) {
    return codePoints(text)
        .map((char) => (char in LOOK_ALIKES ? LOOK_ALIKES[char] : char))
        .join("");
}
