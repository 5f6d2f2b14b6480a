"""The network table behind AT's ``networkCode`` and the prefix guess before a number's first report."""
import phonenumbers
import pytest
from phonenumbers import carrier

from tools import networks
from tools.networks import (
    NETWORKS,
    PREFIX_NETWORKS,
    SANDBOX_NETWORK_CODE,
    guess_network_code,
    network_for_code,
    network_label,
    prefix_network_code,
)


@pytest.mark.parametrize(("code", "country", "name"), [
    ("63902", "KE", "Safaricom"), ("63903", "KE", "Airtel"), ("63907", "KE", "Telkom"),
    ("64110", "UG", "MTN"), ("64101", "UG", "Airtel"), ("64004", "TZ", "Vodacom"), ("64005", "TZ", "Airtel"),
    ("63510", "RW", "MTN"), ("62130", "NG", "MTN"), ("65001", "MW", "TNM"), ("64502", "ZM", "MTN"),
])
def test_network_codes_of_at_countries(code, country, name):
    network = network_for_code(code)
    assert (network.country, network.name) == (country, name)
    assert network_label(code) == "%s (%s)" % (name, country)


def test_unknown_and_empty_codes():
    assert network_for_code("12345") is None
    assert network_label("12345") == "Network 12345"
    assert network_label("") == "" and network_label(None) == ""
    assert network_label(" 63902 ") == "Safaricom (KE)"
    assert network_label(SANDBOX_NETWORK_CODE) == "Athena (sandbox)"


@pytest.mark.parametrize(("number", "code"), [
    ("+254712345678", "63902"), ("+254110123456", "63902"), ("+254733123456", "63903"), ("+254100123456", "63903"),
    ("+254770123456", "63907"), ("+256772123456", "64110"), ("+256701234567", "64101"), ("+256712345678", "64111"),
    ("+255754123456", "64004"), ("+255684123456", "64005"), ("+255621234567", "64009"), ("+255734123456", "64007"),
    ("+255712345678", "64002"), ("+250788123456", "63510"), ("+250731234567", "63514"),
    ("+2348031234567", "62130"), ("+2348021234567", "62120"), ("+2348051234567", "62150"),
    ("+2348091234567", "62160"), ("+265991234567", "65010"), ("+265881234567", "65001"),
    ("+260971234567", "64501"), ("+260961234567", "64502"), ("+260951234567", "64503"),
])
def test_guess_by_prefix_and_by_carrier_data(number, code):
    assert prefix_network_code(number) == code
    assert guess_network_code(number) == code


@pytest.mark.parametrize("number", ["", None, "0712345678", "+1", "+442071234567", 254712345678])
def test_no_guess_for_what_is_not_a_known_mobile_number(number):
    assert prefix_network_code(number) == ""
    assert guess_network_code(number) == ""


def test_prefix_table_agrees_with_phonenumbers_carrier_data():
    """Every prefix of the table names the network phonenumbers names for a number under it (where it names one
    we know): the simulator, which has only the table, reports what the addon guesses."""
    disagreements = []
    for prefix, code in PREFIX_NETWORKS.items():
        network = NETWORKS[code]
        calling_code = networks.COUNTRY_CALLING_CODES[network.country]
        national_length = {"234": 10, "233": 9}.get(calling_code, 9)
        number = prefix + "1" * (national_length - (len(prefix) - 1 - len(calling_code)))
        parsed = phonenumbers.parse(number)
        name = carrier.name_for_number(parsed, "en")
        if name and name not in network.aliases:
            disagreements.append((prefix, network.name, name))
    assert disagreements == []


def test_guess_without_phonenumbers_uses_the_table(monkeypatch):
    monkeypatch.setattr(networks, "phonenumbers", None)
    assert guess_network_code("+254712345678") == "63902"
    assert guess_network_code("+442071234567") == ""


def test_every_prefix_points_at_a_known_network_of_its_country():
    for prefix, code in PREFIX_NETWORKS.items():
        network = NETWORKS[code]
        assert prefix.startswith("+" + networks.COUNTRY_CALLING_CODES[network.country]), prefix


def test_fixed_length_prefixes_give_what_the_prefix_lookup_gives():
    table = networks.fixed_length_prefixes()
    assert {len(key) for key in table} == {networks.PREFIX_KEY_LENGTH}
    for number in ("+254712345678", "+254110123456", "+254733123456", "+2348031234567", "+265991234567",
                   "+254747123456", "+256798123456"):
        assert table[number[:networks.PREFIX_KEY_LENGTH]] == prefix_network_code(number)
    assert max(len(prefix) for prefix in PREFIX_NETWORKS) <= networks.PREFIX_KEY_LENGTH
