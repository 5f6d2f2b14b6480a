"""Mobile networks of the countries Africa's Talking (AT) serves: the name behind a delivery report's
``networkCode``, and a guess of a number's network before its first report.

Plain Python, standard library only (the local simulator imports it too); ``phonenumbers`` is used when it is
installed (it is a dependency of the addon, not of the simulator).

``networkCode`` is the network's MCC+MNC (ITU E.212). AT documents the codes marked ``# AT`` (docs-notif, see
``reference/africastalking.md`` §3.1); the others are the public MCC-MNC assignments of the same countries, since
AT passes on what the operator reports. A number keeps its prefix when it is ported to another network, so the
guess can be wrong: only a report says for sure.
"""
from __future__ import annotations

from dataclasses import dataclass

try:  # the addon has it; the standalone simulator may not
    import phonenumbers
    from phonenumbers import carrier as phonenumbers_carrier
except ImportError:  # pragma: no cover - exercised by the simulator's environment only
    phonenumbers = None
    phonenumbers_carrier = None

SANDBOX_NETWORK_CODE = "99999"


@dataclass(frozen=True)
class Network:
    code: str
    country: str  # ISO 3166 alpha-2; "" for AT's sandbox network
    name: str
    # The names phonenumbers' carrier data gives this network's prefixes (its operator, a former name, a brand).
    aliases: tuple = ()

    @property
    def label(self):
        return "%s (%s)" % (self.name, self.country) if self.country else self.name


NETWORKS = {network.code: network for network in (
    # Kenya
    Network("63902", "KE", "Safaricom", ("Safaricom",)),  # AT
    Network("63903", "KE", "Airtel", ("Airtel",)),  # AT
    Network("63907", "KE", "Telkom", ("Telkom", "Orange")),  # AT ("Orange KE", Telkom Kenya's former brand)
    Network("63999", "KE", "Equitel", ("Finserve", "Equitel")),  # AT
    Network("63910", "KE", "Faiba (JTL)", ("JTL",)),
    # Uganda
    Network("64101", "UG", "Airtel", ("Airtel",)),  # AT
    Network("64110", "UG", "MTN", ("MTN",)),  # AT
    Network("64111", "UG", "UTL", ("UTL",)),  # AT
    Network("64114", "UG", "Africell", ("Africell",)),  # AT
    Network("64133", "UG", "Smile", ("Smile",)),
    Network("64126", "UG", "Lycamobile", ("LycaMobile",)),
    # Tanzania
    Network("64002", "TZ", "Tigo (Yas)", ("Yas", "Tigo")),  # AT
    Network("64003", "TZ", "Zantel", ("Zantel",)),  # AT
    Network("64004", "TZ", "Vodacom", ("Vodacom",)),  # AT
    Network("64005", "TZ", "Airtel", ("Airtel",)),  # AT
    Network("64007", "TZ", "TTCL", ("Tanzania Telecom", "TTCL")),  # AT
    Network("64009", "TZ", "Halotel", ("Viettel", "Halotel")),  # AT
    # Rwanda
    Network("63510", "RW", "MTN", ("MTN",)),  # AT
    Network("63513", "RW", "Tigo", ("Tigo",)),  # AT (merged into Airtel Rwanda)
    Network("63514", "RW", "Airtel", ("Airtel",)),  # AT
    # Nigeria
    Network("62120", "NG", "Airtel", ("Airtel",)),  # AT
    Network("62130", "NG", "MTN", ("MTN",)),  # AT
    Network("62150", "NG", "Glo", ("Glo",)),  # AT
    Network("62160", "NG", "9mobile (Etisalat)", ("9mobile", "Etisalat")),  # AT
    # Malawi
    Network("65001", "MW", "TNM", ("TNM",)),  # AT
    Network("65010", "MW", "Airtel", ("Airtel",)),  # AT
    # Zambia
    Network("64501", "ZM", "Airtel", ("Airtel",)),
    Network("64502", "ZM", "MTN", ("MTN",)),
    Network("64503", "ZM", "Zamtel", ("ZAMTEL", "Zamtel")),
    # Ethiopia
    Network("63601", "ET", "Ethio Telecom", ("Ethio Telecom",)),
    Network("63602", "ET", "Safaricom", ("Safaricom",)),
    # Ghana
    Network("62001", "GH", "MTN", ("MTN",)),
    Network("62002", "GH", "Telecel", ("Telecel", "Vodafone")),
    Network("62003", "GH", "AirtelTigo", ("at", "AirtelTigo")),
    # South Africa
    Network("65501", "ZA", "Vodacom", ("Vodacom",)),
    Network("65502", "ZA", "Telkom", ("Telkom Mobile", "Telkom")),
    Network("65507", "ZA", "Cell C", ("Cell C",)),
    Network("65510", "ZA", "MTN", ("MTN",)),
    # AT's sandbox
    Network(SANDBOX_NETWORK_CODE, "", "Athena (sandbox)", ()),  # AT
)}

COUNTRY_CALLING_CODES = {"KE": "254", "UG": "256", "TZ": "255", "RW": "250", "NG": "234", "MW": "265",
                         "ZM": "260", "ET": "251", "GH": "233", "ZA": "27"}


def _expand(calling_code, code, national_prefixes):
    return {"+" + calling_code + prefix: code for prefix in national_prefixes.split()}


def _digits(first, last, width=None):
    """National prefixes ``first``..``last`` as one space-separated string (e.g. 740..743)."""
    return " ".join(str(number).zfill(width or len(str(first))) for number in range(first, last + 1))


# The mobile prefixes of the main networks (after the country code, first digits of the national number), from the
# national numbering plans as phonenumbers' carrier data holds them (November 2026). Used by the simulator (no
# phonenumbers there) and when phonenumbers names no carrier. The longest prefix wins.
PREFIX_NETWORKS = {
    **_expand("254", "63902", "70 71 72 79 740 741 742 743 745 746 748 757 758 759 768 769 "
                              + _digits(110, 119) + " " + _digits(140, 146) + " " + _digits(180, 189)),
    **_expand("254", "63903", "73 750 751 752 753 754 755 756 760 762 763 764 765 766 767 78 "
                              + _digits(100, 108) + " " + _digits(135, 139)),
    **_expand("254", "63907", "77 761 120"),
    **_expand("254", "63999", "124"),
    **_expand("254", "63910", "747"),
    **_expand("256", "64101", "70 730 731 732 74 75"),
    **_expand("256", "64111", "71"),
    **_expand("256", "64110", "737 76 77 78 790 791 792 793 794 795"),
    **_expand("256", "64114", "798 799"),
    **_expand("255", "64005", "60 66 68 69"),
    **_expand("255", "64009", "61 62 63"),
    **_expand("255", "64002", "65 67 70 71"),
    **_expand("255", "64004", "72 74 75 76"),
    **_expand("255", "64007", "73"),
    **_expand("250", "63514", "72 73"),
    **_expand("250", "63510", "78 79"),
    **_expand("234", "62120", "701 708 802 808 812 901 902 904 907 911 912"),
    **_expand("234", "62130", "703 704 706 707 803 806 810 813 814 816 903 906 910 913 916"),
    **_expand("234", "62150", "705 805 807 811 815 905 915"),
    **_expand("234", "62160", "809 817 818 908 909"),
    **_expand("265", "65001", "31 88 89"),
    **_expand("265", "65010", "98 99"),
    **_expand("260", "64503", "55 75 95"),
    **_expand("260", "64502", "56 76 96"),
    **_expand("260", "64501", "57 77 97"),
    **_expand("251", "63602", "70 71"),
    **_expand("251", "63601", "80 81 90 91"),
    **_expand("233", "62002", "20 50"),
    **_expand("233", "62003", "23 26 27 56"),
    **_expand("233", "62001", "24 25 53 54 55"),
}


PREFIX_KEY_LENGTH = 7  # "+254" and 3 digits: the longest prefix of the table


def fixed_length_prefixes():
    """:data:`PREFIX_NETWORKS` as ``{prefix of PREFIX_KEY_LENGTH characters: code}``, longest prefix winning, so that
    SQL can look a number's network up with one equality join on ``left(number, 7)``."""
    table = {}
    for prefix in sorted(PREFIX_NETWORKS, key=len):
        missing = PREFIX_KEY_LENGTH - len(prefix)
        for suffix in range(10 ** missing):
            table[prefix + (str(suffix).zfill(missing) if missing else "")] = PREFIX_NETWORKS[prefix]
    return table


def network_for_code(code):
    """The :class:`Network` of an AT ``networkCode``, or None when the code is unknown (or empty)."""
    return NETWORKS.get((code or "").strip())


def network_label(code):
    """A name for reports and lists: 'Safaricom (KE)'; unknown codes keep their number, empty is ''."""
    code = (code or "").strip()
    if not code:
        return ""
    network = NETWORKS.get(code)
    return network.label if network else "Network %s" % code


def prefix_network_code(number):
    """The network of ``number`` (E.164) by its prefix in :data:`PREFIX_NETWORKS`; '' when none matches."""
    if not isinstance(number, str) or not number.startswith("+"):
        return ""
    for length in range(min(len(number), 8), 2, -1):
        code = PREFIX_NETWORKS.get(number[:length])
        if code:
            return code
    return ""


def _carrier_network_code(number):
    """The network phonenumbers' carrier data names for ``number``, as an AT code; '' when it names none we know."""
    if phonenumbers is None or not isinstance(number, str) or not number.startswith("+"):
        return ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ""
    name = phonenumbers_carrier.name_for_number(parsed, "en")
    if not name:
        return ""
    country = phonenumbers.region_code_for_number(parsed)
    for network in NETWORKS.values():
        if network.country == country and name in network.aliases:
            return network.code
    return ""


def guess_network_code(number):
    """The likely network of ``number`` (E.164) before AT reports it: phonenumbers' carrier data when it names a
    network we know, else the prefix table; '' when neither knows (a fixed line, another country)."""
    return _carrier_network_code(number) or prefix_network_code(number)
