"""The gateway adapter against the local AT simulator over real HTTP: outcomes in Odoo's vocabulary."""

import socket
from decimal import Decimal

import pytest

from simulator.at_simulator import ATSimulator
from tools.at_gateway import (
    GATEWAY_AUTHENTICATION,
    SERVER_ERROR,
    SUCCESS,
    UNKNOWN_OUTCOME,
    AfricasTalkingGateway,
    GatewayError,
    OutgoingMessage,
    parse_amount,
)


@pytest.fixture(scope="module")
def simulator():
    with ATSimulator(accounts={"simulator": "simulator-key"}) as sim:
        yield sim


@pytest.fixture
def sim(simulator):
    simulator.reset()
    simulator.set_balance(Decimal("1000"))
    return simulator


def gateway(sim, api_key="simulator-key", **kwargs):
    options = {"base_url": sim.url, "sender_id": "SCHOOL", "timeout": 2, **kwargs}
    return AfricasTalkingGateway("simulator", api_key, **options)


def send(sim, recipients, body="Exams start Monday", **kwargs):
    with gateway(sim, **kwargs) as gw:
        results = gw.send_messages([OutgoingMessage(body, recipients)])
    return {result.key: result for result in results}


def test_accepted_with_id_cost_parts(sim):
    results = send(sim, {"+254711000001": "a", "+254711000002": "b"}, body="x" * 170)
    assert {r.state for r in results.values()} == {SUCCESS}
    first = results["a"]
    assert first.message_id.startswith("ATXid_") and first.parts == 2
    assert (first.currency, first.cost) == ("KES", Decimal("1.6000"))
    assert sim.stats()["send_requests"] == 1
    assert sim.messages[0]["sender_id"] == "SCHOOL"


def test_enqueue_for_bulk_only(sim):
    """AT's documented setting for campaigns: a call with several recipients (one text or many) is enqueued."""
    send(sim, {"+254711000001": "a"})
    assert sim.stats()["enqueued"] == 0, "a single SMS is answered at once"
    send(sim, {"+254711000001": "a", "+254711000002": "b"})
    assert sim.stats()["enqueued"] == 2
    with gateway(sim) as gw:
        gw.send_messages([OutgoingMessage("Hello Ann", {"+254711000003": "c"}),
                          OutgoingMessage("Hello Bob", {"+254711000004": "d"})])
    assert sim.stats()["enqueued"] == 4, "a personalised campaign too"
    send(sim, {"+254711000005": "e", "+254711000006": "f"}, enqueue=False)
    assert sim.stats()["enqueued"] == 4


def test_results_match_by_number_not_position(sim):
    sim.add_number_rule("+254711000001", 406)
    results = send(sim, {"+254711000002": "ok", "+254711000001": "blocked"})
    assert results["ok"].state == SUCCESS
    assert (results["blocked"].state, results["blocked"].failure_reason) == ("blacklisted", "UserInBlacklist")
    assert results["blocked"].message_id is None


@pytest.mark.parametrize(("code", "state"), [(403, "wrong_number_format"), (405, "insufficient_credit"),
                                             (407, "country_not_supported"), (500, SERVER_ERROR),
                                             (502, "rejected"), (401, "unregistered")])
def test_status_codes(sim, code, state):
    sim.add_number_rule("+2547", code)
    assert send(sim, {"+254711000001": 1})[1].state == state


def test_invalid_numbers_never_reach_at(sim):
    results = send(sim, {"0711000001": "national", "+254711000002": "ok"})
    assert results["national"].state == "wrong_number_format"
    assert results["ok"].state == SUCCESS
    assert sim.stats()["messages"] == 1


def test_number_with_a_trailing_newline_never_reaches_at(sim):
    """The gateway's check is tools.phone.is_e164: a regex ``match`` with ``$`` let "+254…\n" through."""
    results = send(sim, {"+254711000001\n": "newline", "+254711000002": "ok"})
    assert results["newline"].state == "wrong_number_format"
    assert results["ok"].state == SUCCESS
    assert [message["number"] for message in sim.messages] == ["+254711000002"]


def test_balance_runs_out_mid_request(sim):
    sim.set_balance(Decimal("0.80"))
    results = send(sim, {"+254711000001": 1, "+254711000002": 2})
    assert sorted(r.state for r in results.values()) == ["insufficient_credit", SUCCESS]


def test_wrong_key(sim):
    results = send(sim, {"+254711000001": 1}, api_key="nope")
    assert results[1].state == "unregistered"
    assert "nope" not in (results[1].failure_reason or "")
    assert sim.stats()["accepted"] == 0


def test_invalid_sender_id(sim):
    sim.invalid_sender_ids.add("SCHOOL")
    results = send(sim, {"+254711000001": 1})
    assert (results[1].state, results[1].failure_reason) == ("unregistered", "InvalidSenderId")


@pytest.mark.parametrize("fault", ["timeout", "http_500", "reset"])
def test_no_usable_answer_is_unknown_outcome(sim, fault):
    sim.hang_seconds = 1.5
    sim.inject_fault(fault)
    results = send(sim, {"+254711000001": 1}, timeout=0.5)
    assert results[1].state == UNKNOWN_OUTCOME
    assert sim.stats()["faults"] == 1


def test_connection_refused_is_retried_then_server_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with AfricasTalkingGateway("simulator", "k", base_url="http://127.0.0.1:%d" % port, timeout=1,
                               connect_retries=1) as gw:
        (result,) = gw.send_messages([OutgoingMessage("hi", {"+254711000001": 1})])
    assert result.state == SERVER_ERROR


def test_personalised_texts_go_concurrently_one_request_each(sim):
    messages = [OutgoingMessage("Hello %d" % i, {"+2547110000%02d" % i: i}) for i in range(20)]
    with gateway(sim, concurrency=4) as gw:
        results = gw.send_messages(messages)
    assert len(results) == 20 and {r.state for r in results} == {SUCCESS}
    assert sim.stats()["send_requests"] == 20


def test_max_recipients_splits_requests(sim):
    recipients = {"+2547110000%02d" % i: i for i in range(5)}
    with gateway(sim, max_recipients=2) as gw:
        results = gw.send_messages([OutgoingMessage("Same text", recipients)])
    assert len(results) == 5
    assert sim.stats()["send_requests"] == 3


def test_balance(sim):
    with gateway(sim) as gw:
        assert gw.fetch_balance() == ("KES", Decimal("1000.0000"))
    with gateway(sim, api_key="bad") as gw, pytest.raises(GatewayError, match="username or API key") as error:
        gw.fetch_balance()
    assert error.value.kind == GATEWAY_AUTHENTICATION  # Odoo shows the translated text of this kind


@pytest.mark.parametrize(("text", "expected"), [("KES 0.8000", ("KES", Decimal("0.8000"))), ("0", (None, Decimal(0))),
                                                ("", (None, None)), ("KES abc", ("KES", None)), (None, (None, None))])
def test_parse_amount(text, expected):
    assert parse_amount(text) == expected


def test_send_sms_batch_takes_and_returns_odoo_shapes(sim):
    """Odoo's provider entry point: stock's message shape in, one Odoo-shaped result per uuid out."""
    sim.add_number_rule("+254711000002", 403)
    messages = [
        {"content": "Exams start Monday", "numbers": [{"uuid": "u1", "number": "+254711000001"},
                                                      {"uuid": "u2", "number": "+254711000002"},
                                                      {"uuid": "u3", "number": "+254711000001"},
                                                      {"uuid": "u4", "number": "0711 000 004"}]},
        {"content": "Fees are due", "numbers": [{"uuid": "u5", "number": "+254711000005"}]},
    ]
    with gateway(sim) as gw:
        results = {result["uuid"]: result for result in gw._send_sms_batch(messages, delivery_reports_url="x")}
    assert set(results) == {"u1", "u2", "u3", "u4", "u5"}
    assert {uuid: result["state"] for uuid, result in results.items()} == {
        "u1": SUCCESS, "u2": "wrong_number_format", "u3": SUCCESS, "u4": "wrong_number_format", "u5": SUCCESS}
    # The same number twice with one text: two requests, two AT ids; each text its own request.
    assert results["u1"]["at_message_id"] != results["u3"]["at_message_id"]
    assert sim.stats()["send_requests"] == 3
    accepted = dict(results["u5"])
    assert set(accepted) == {"uuid", "state", "failure_reason", "number", "at_message_id", "at_status_code",
                             "at_status", "cost", "currency", "parts"}
    assert accepted["failure_reason"] is None and accepted["at_message_id"].startswith("ATXid_")
    assert (accepted["currency"], accepted["cost"], accepted["parts"]) == ("KES", Decimal("0.8000"), 1)
    assert results["u2"].get("failure_reason") == "InvalidPhoneNumber"
    assert results["u2"]["at_status_code"] == 403
    assert results["u4"]["failure_reason"] == "InvalidPhoneNumber" and results["u4"]["at_message_id"] is None
    with pytest.raises(KeyError):
        results["u1"]["sms_twilio_sid"]


def test_premium_answer_leaves_from_the_short_code_with_the_link_id(sim):
    """AT's send_premium: bulkSMSMode=0, the short code as sender, the inbound's linkId; one request each."""
    sim.set_callback_urls(inbound="http://127.0.0.1:9/unreachable")  # the phone's SMS needs an inbound URL
    sim.send_inbound("+254711000001", "Results please", to="22384", premium=True)
    link_id = sim.link_id_of("+254711000001")
    assert link_id
    with gateway(sim) as gw:
        results = gw.send_messages([
            OutgoingMessage("Your results: A", {"+254711000001": "p"}, short_code="22384", link_id=link_id),
            OutgoingMessage("Ordinary", {"+254711000002": "b"}),
        ])
    assert {result.key: result.state for result in results} == {"p": SUCCESS, "b": SUCCESS}
    by_number = {message["number"]: message for message in sim.messages}
    premium = by_number["+254711000001"]
    assert (premium["premium"], premium["sender_id"], premium["link_id"]) == (True, "22384", link_id)
    assert premium["enqueue"] is False, "a premium answer is never enqueued as bulk"
    assert (by_number["+254711000002"]["premium"], by_number["+254711000002"]["sender_id"]) == (False, "SCHOOL")
    assert sim.stats()["premium"] == 1


def test_premium_answer_with_a_foreign_link_id_fails_in_the_report(sim):
    sim.set_callback_urls(inbound="http://127.0.0.1:9/unreachable")
    sim.send_inbound("+254711000001", "Results please", to="22384", premium=True)
    link_id = sim.link_id_of("+254711000001")
    with gateway(sim) as gw:
        (result,) = gw.send_messages([OutgoingMessage("For you", {"+254711000002": "x"}, short_code="22384",
                                                      link_id=link_id)])
        (wrong_code,) = gw.send_messages([OutgoingMessage("For you", {"+254711000001": "y"}, short_code="11111",
                                                          link_id=link_id)])
    assert result.state == SUCCESS and wrong_code.state == SUCCESS, "AT accepts, then its report fails it"
    fates = {(m["number"], m["sender_id"]): sim.thread(m["number"])[0]["fate_reason"] for m in sim.messages}
    assert fates == {("+254711000002", "22384"): "InvalidLinkId", ("+254711000001", "11111"): "InvalidLinkId"}


def test_one_keep_alive_connection_per_sending_thread(sim):
    """A connection is not thread-safe: each sending thread has its own, reused for all its requests."""
    messages = [OutgoingMessage("Hello %d" % i, {"+2547110001%02d" % i: i}) for i in range(12)]
    gw = gateway(sim, concurrency=4)
    results = gw.send_messages(messages)
    assert len(results) == 12 and {result.state for result in results} == {SUCCESS}
    connections = list(gw._connections)
    assert 1 <= len(connections) <= 4, "at most one per worker of the pool"
    assert len({id(connection) for connection in connections}) == len(connections)
    assert sim.stats()["connections"] == len(connections)
    gw.close()
    assert gw._connections == []


def test_gateway_kept_open_reuses_its_threads_and_connections(sim):
    """A dispatch run keeps its gateway open from one batch to the next: the batches share the sending threads and
    their kept-alive connections instead of opening ``concurrency`` new ones each."""
    with gateway(sim, concurrency=4) as gw:
        for batch in range(3):
            messages = [OutgoingMessage("Hello %d" % i, {"+2547110%03d%02d" % (batch, i): i}) for i in range(12)]
            assert {result.state for result in gw.send_messages(messages)} == {SUCCESS}
    assert sim.stats()["send_requests"] == 36
    assert sim.stats()["connections"] <= 4


def test_connection_closed_by_at_is_opened_again(sim):
    """A kept-alive connection that ended (here reset while AT answered: outcome unknown) is not used again; the
    next request opens a new one and is answered."""
    with gateway(sim, concurrency=1, timeout=0.5) as gw:
        (first,) = gw.send_messages([OutgoingMessage("One", {"+254711000001": 1})])
        sim.inject_fault("reset")
        (reset,) = gw.send_messages([OutgoingMessage("Two", {"+254711000002": 2})])
        (after,) = gw.send_messages([OutgoingMessage("Three", {"+254711000003": 3})])
    assert (first.state, reset.state, after.state) == (SUCCESS, UNKNOWN_OUTCOME, SUCCESS)
    assert sim.stats()["connections"] == 2


def test_through_a_proxy_requests_sends(monkeypatch):
    """The kept-alive connection goes straight to AT; behind a proxy of the environment, requests' session (which
    speaks to proxies) sends."""
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    direct = AfricasTalkingGateway("user", "key", base_url="https://api.africastalking.com")
    assert direct._transport is not direct._session
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    proxied = AfricasTalkingGateway("user", "key", base_url="https://api.africastalking.com")
    assert proxied._transport is proxied._session


def test_proxy_of_the_environment_read_once_per_gateway(monkeypatch):
    """requests reads the environment's proxy settings again for every request (a third of the CPU of a small
    request); the gateway reads them once, with the same rules (NO_PROXY)."""
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    session = AfricasTalkingGateway("user", "key", base_url="https://api.africastalking.com")._session
    assert session.proxies.get("https") == "http://proxy.example:3128"
    assert not session.trust_env
    monkeypatch.setenv("NO_PROXY", "api.africastalking.com")
    assert not AfricasTalkingGateway("user", "key", base_url="https://api.africastalking.com")._session.proxies


def _self_signed_certificate(folder):
    """A certificate and key for 127.0.0.1, the certificate being its own authority."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def test_https_verifies_the_server_with_the_ca_bundle(tmp_path, monkeypatch):
    """Over TLS the kept-alive connection checks AT's certificate as requests does: with the CA bundle of the
    environment (REQUESTS_CA_BUNDLE) it is answered; with requests' own bundle this self-signed server is refused
    before anything is sent, which the gateway reports as an unknown outcome, as it did through requests."""
    import json
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    cert_file, key_file = _self_signed_certificate(tmp_path)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [{
                "number": "+254711000001", "status": "Success", "statusCode": 101, "cost": "KES 0.8000",
                "messageId": "ATXid_tls", "messageParts": 1}]}}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "https://127.0.0.1:%d" % server.server_address[1]
    try:
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name, raising=False)
        with AfricasTalkingGateway("user", "key", base_url=url, timeout=5) as gw:
            (refused,) = gw.send_messages([OutgoingMessage("Hi", {"+254711000001": 1})])
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert_file)
        with AfricasTalkingGateway("user", "key", base_url=url, timeout=5) as gw:
            (accepted,) = gw.send_messages([OutgoingMessage("Hi", {"+254711000001": 1})])
    finally:
        server.shutdown()
        server.server_close()
    assert refused.state == UNKNOWN_OUTCOME
    assert (accepted.state, accepted.message_id) == (SUCCESS, "ATXid_tls")
