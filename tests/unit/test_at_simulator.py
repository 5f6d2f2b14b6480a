"""The Africa's Talking simulator, driven by the real ``africastalking`` SDK and by plain HTTP.

One simulator and one callback receiver serve the whole module (reset before each test), so the
tests stay fast; every HTTP call has a small timeout and nothing sleeps for long.
"""
import json
import time
from decimal import Decimal

import pytest
import requests
from africastalking.Application import ApplicationService
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

from simulator.at_simulator import ATSimulator, _callback_urls, _parse_args
from simulator.at_simulator import main as at_simulator_main

TIMEOUT = 5
SAFARICOM = '+254711000001'
AIRTEL_UG = '+256701000002'


@pytest.fixture(scope='module')
def running_simulator():
    with ATSimulator() as simulator:
        yield simulator


@pytest.fixture
def sim(running_simulator, receiver):
    running_simulator.reset()
    running_simulator.auto_deliver = False
    running_simulator.hang_seconds = 30.0
    running_simulator.delivery_delay = 1.0
    running_simulator.report_repeats = 1
    running_simulator.reorder_reports = False
    running_simulator.set_callback_urls(delivery=receiver.url + '/delivery', inbound=receiver.url + '/inbound',
                                        optout=receiver.url + '/optout')
    receiver.clear()
    return running_simulator


@pytest.fixture
def sms(sim):
    service = SMSService('simulator', 'simulator-key')
    service._baseUrl = sim.url + '/version1'
    return service


def raw_send(sim, to, message='Hello', api_key='simulator-key', **fields):
    """A send without the SDK, which refuses malformed numbers before any request."""
    data = {'username': 'simulator', 'to': to, 'message': message, 'bulkSMSMode': 1, **fields}
    return requests.post(sim.url + '/version1/messaging', data=data, timeout=TIMEOUT,
                         headers={'apiKey': api_key, 'Accept': 'application/json'})


def control(sim, name, payload=None):
    return requests.post(sim.url + '/__sim__/' + name, json=payload or {}, timeout=TIMEOUT, headers=auth(sim))


def auth(sim):
    """The header every control call needs: the simulator's per-run token."""
    return {'X-Simulator-Token': sim.control_token}


def recipients(response):
    return response['SMSMessageData']['Recipients']


# ---------------------------------------------------------------------- sending

def test_send_is_201_with_the_exact_json_content_type(sim):
    response = raw_send(sim, SAFARICOM)
    assert response.status_code == 201
    assert response.headers['Content-Type'] == 'application/json'
    data = response.json()['SMSMessageData']
    assert data['Message'] == 'Sent to 1/1 Total Cost: KES 0.8000'
    [recipient] = data['Recipients']
    assert recipient['statusCode'] == 101
    assert recipient['status'] == 'Success'
    assert recipient['cost'] == 'KES 0.8000'
    assert recipient['messageParts'] == 1
    assert recipient['messageId'].startswith('ATXid_') and len(recipient['messageId']) == 6 + 32


def test_sdk_send_of_a_two_part_message_costs_two_parts(sim, sms):
    text = 'Exam timetable: ' + 'x' * 150  # 166 GSM-7 characters
    response = sms.send(text, [SAFARICOM, AIRTEL_UG], sender_id='UNIVERSITY', timeout=TIMEOUT)
    assert isinstance(response, dict)  # the SDK parsed it: the content type matched exactly
    assert response['SMSMessageData']['Message'] == 'Sent to 2/2 Total Cost: KES 3.2000'
    assert [(r['number'], r['cost'], r['messageParts']) for r in recipients(response)] == [
        (SAFARICOM, 'KES 1.6000', 2), (AIRTEL_UG, 'KES 1.6000', 2)]
    assert sim.balance == Decimal('996.80')
    message = sim.messages[0]
    assert (message['sender_id'], message['username'], message['parts'], message['network_code']) == (
        'UNIVERSITY', 'simulator', 2, '63902')
    assert sim.messages[1]['network_code'] == '64101'


def test_mixed_recipients_follow_number_rules(sim):
    sim.add_number_rule('+2547990', 406)
    sim.add_number_rule('+25479901', 500)  # the longest prefix wins
    sim.add_number_rule('+25570', 403)
    to = ','.join([SAFARICOM, '+254799000001', '+254799010001', '+255700000000', '0711000000'])
    data = raw_send(sim, to).json()['SMSMessageData']
    assert [(r['statusCode'], r['status']) for r in data['Recipients']] == [
        (101, 'Success'), (406, 'UserInBlacklist'), (500, 'InternalServerError'), (403, 'InvalidPhoneNumber'),
        (403, 'InvalidPhoneNumber')]
    assert data['Message'] == 'Sent to 1/5 Total Cost: KES 0.8000'
    for refused in data['Recipients'][1:]:
        assert (refused['messageId'], refused['cost']) == ('None', '0')
    assert sim.stats()['accepted'] == 1 and sim.stats()['rejected'] == 4


def test_balance_running_out_mid_request_refuses_the_rest_with_405(sim, sms):
    sim.set_balance(Decimal('2.00'))
    numbers = ['+2547110000%02d' % index for index in range(4)]
    response = sms.send('Fee reminder', numbers, timeout=TIMEOUT)
    assert [r['statusCode'] for r in recipients(response)] == [101, 101, 405, 405]
    assert recipients(response)[2]['status'] == 'InsufficientBalance'
    assert sim.balance == Decimal('0.40')
    assert [sim.count(number) for number in numbers] == [1, 1, 0, 0]


@pytest.mark.parametrize(('username', 'api_key'), [('simulator', 'wrong-key'), ('nobody', 'simulator-key')])
def test_bad_credentials_are_a_text_401(sim, username, api_key):
    response = requests.post(sim.url + '/version1/messaging', timeout=TIMEOUT, headers={'apiKey': api_key},
                             data={'username': username, 'to': SAFARICOM, 'message': 'x'})
    assert response.status_code == 401
    assert response.headers['Content-Type'] == 'text/plain'
    assert response.text == 'The supplied authentication is invalid'
    service = SMSService(username, api_key)
    service._baseUrl = sim.url + '/version1'
    with pytest.raises(AfricasTalkingException, match='The supplied authentication is invalid'):
        service.send('x', [SAFARICOM], timeout=TIMEOUT)
    assert sim.stats()['messages'] == 0


@pytest.mark.parametrize('missing', ['to', 'message'])
def test_missing_fields_are_a_400(sim, missing):
    data = {'username': 'simulator', 'to': SAFARICOM, 'message': 'x'}
    del data[missing]
    response = requests.post(sim.url + '/version1/messaging', data=data, headers={'apiKey': 'simulator-key'},
                             timeout=TIMEOUT)
    assert response.status_code == 400
    assert missing in response.text


def test_invalid_sender_id_answers_an_empty_recipient_list(sim, sms):
    sim.invalid_sender_ids.add('NOTMINE')
    response = sms.send('x', [SAFARICOM], sender_id='NOTMINE', timeout=TIMEOUT)
    assert response == {'SMSMessageData': {'Message': 'InvalidSenderId', 'Recipients': []}}
    assert sim.stats()['messages'] == 0


def test_user_endpoint_reports_the_balance(sim):
    sim.set_balance(Decimal('1785.5'))
    application = ApplicationService('simulator', 'simulator-key')
    application._baseUrl = sim.url + '/version1'
    assert application.fetch_application_data(timeout=TIMEOUT) == {'UserData': {'balance': 'KES 1785.5000'}}
    application._api_key = application._headers['apiKey'] = 'wrong'
    with pytest.raises(AfricasTalkingException):
        application.fetch_application_data(timeout=TIMEOUT)


# ---------------------------------------------------------------------- faults

def test_timeout_fault_is_a_read_timeout_after_processing(sim, sms):
    sim.hang_seconds = 1.0
    sim.inject_fault('timeout')
    with pytest.raises(requests.exceptions.ReadTimeout):
        sms.send('Exam moved', [SAFARICOM], timeout=0.2)
    # The send happened although the client never saw the answer: the "unknown outcome".
    assert sim.count(SAFARICOM, 'Exam moved') == 1
    assert sim.stats()['faults'] == 1


def test_reset_fault_before_processing_is_a_connection_error_and_sends_nothing(sim, sms):
    sim.inject_fault('reset', after_processing=False)
    with pytest.raises(requests.exceptions.ConnectionError):
        sms.send('x', [SAFARICOM], timeout=TIMEOUT)
    assert sim.count(SAFARICOM) == 0
    assert recipients(sms.send('x', [SAFARICOM], timeout=TIMEOUT))[0]['statusCode'] == 101


def test_http_500_fault_after_processing_raises_but_the_message_went_out(sim, sms):
    sim.inject_fault('http_500')
    with pytest.raises(AfricasTalkingException):
        sms.send('x', [SAFARICOM], timeout=TIMEOUT)
    assert sim.count(SAFARICOM) == 1


def test_http_401_fault_and_fault_count(sim, sms):
    sim.inject_fault('http_401', count=2, after_processing=False)
    for _attempt in range(2):
        with pytest.raises(AfricasTalkingException, match='authentication'):
            sms.send('x', [SAFARICOM], timeout=TIMEOUT)
    sms.send('x', [SAFARICOM], timeout=TIMEOUT)
    assert sim.count(SAFARICOM) == 1
    assert sim.stats()['faults'] == 2


def test_faults_target_their_endpoint(sim, sms):
    sim.inject_fault('http_500', endpoint='user')
    sms.send('x', [SAFARICOM], timeout=TIMEOUT)
    response = requests.get(sim.url + '/version1/user', params={'username': 'simulator'},
                            headers={'apiKey': 'simulator-key'}, timeout=TIMEOUT)
    assert response.status_code == 500
    with pytest.raises(ValueError):
        sim.inject_fault('explode')


def test_latency_delays_api_answers(sim, sms):
    sim.set_latency(0.3)
    started = time.monotonic()
    sms.send('x', [SAFARICOM], timeout=TIMEOUT)
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.exceptions.ReadTimeout):
        sms.send('x', [SAFARICOM], timeout=0.1)


# ---------------------------------------------------------------------- delivery reports

def test_delivery_reports_are_posted_intermediate_then_final(sim, sms, receiver):
    response = sms.send('x', [SAFARICOM, AIRTEL_UG], timeout=TIMEOUT)
    ids = [r['messageId'] for r in recipients(response)]
    assert sim.deliver_pending() == [(ids[0], 200), (ids[0], 200), (ids[1], 200), (ids[1], 200)]
    posts = [(content_type, form) for path, content_type, form in receiver.posts if path == '/delivery']
    assert {content_type for content_type, _form in posts} == {'application/x-www-form-urlencoded'}
    assert [form for _type, form in posts][:2] == [
        {'id': ids[0], 'status': 'Sent', 'phoneNumber': SAFARICOM, 'networkCode': '63902', 'retryCount': '0'},
        {'id': ids[0], 'status': 'Success', 'phoneNumber': SAFARICOM, 'networkCode': '63902', 'retryCount': '0'},
    ]
    assert posts[3][1]['networkCode'] == '64101'
    assert [message['delivery_status'] for message in sim.messages] == ['Success', 'Success']
    assert sim.deliver_pending() == []  # nothing is reported twice
    assert sim.stats()['reports_posted'] == 4


def test_hostile_report_timing_repeats_and_reorders(sim, sms, receiver):
    sim.report_repeats, sim.reorder_reports = 3, True
    [message_id] = [r['messageId'] for r in recipients(sms.send('x', [SAFARICOM], timeout=TIMEOUT))]
    assert sim.deliver_pending() == [(message_id, 200), (message_id, 200)]
    assert [form['status'] for form in receiver.forms('/delivery')] == ['Success'] * 3 + ['Sent'] * 3
    assert sim.messages[0]['delivery_status'] == 'Success', 'the late intermediate report changes nothing'
    assert sim.stats()['reports_posted'] == 6
    assert sim.deliver_pending() == []


def test_enqueue_is_recorded(sim, sms):
    sms.send('x', [SAFARICOM, AIRTEL_UG], enqueue=True, timeout=TIMEOUT)
    sms.send('y', [SAFARICOM], timeout=TIMEOUT)
    assert [message['enqueue'] for message in sim.messages] == [True, True, False]
    assert sim.stats()['enqueued'] == 2


def test_intermediate_only_then_final_only(sim, sms, receiver):
    [message_id] = [r['messageId'] for r in recipients(sms.send('x', [SAFARICOM], timeout=TIMEOUT))]
    assert sim.deliver_pending(final=False) == [(message_id, 200)]
    assert sim.messages[0]['delivery_status'] == 'Sent'
    assert sim.deliver_pending(intermediate=False) == [(message_id, 200)]
    assert [form['status'] for form in receiver.forms('/delivery')] == ['Sent', 'Success']


def test_delivery_rules_and_set_fate_choose_the_final_status(sim, sms, receiver):
    sim.add_delivery_rule('+256')
    sim.add_delivery_rule('+2547119', status='AbsentSubscriber')
    to = [SAFARICOM, AIRTEL_UG, '+254711900000', '+254711000009']
    ids = [r['messageId'] for r in recipients(sms.send('x', to, timeout=TIMEOUT))]
    sim.set_fate(ids[3], 'Rejected', 'UserInBlackList')
    sim.deliver_pending(intermediate=False)
    finals = {form['id']: form for form in receiver.forms('/delivery')}
    assert finals[ids[0]]['status'] == 'Success' and 'failureReason' not in finals[ids[0]]
    assert (finals[ids[1]]['status'], finals[ids[1]]['failureReason']) == ('Failed', 'DeliveryFailure')
    assert finals[ids[2]]['status'] == 'AbsentSubscriber' and 'failureReason' not in finals[ids[2]]
    assert (finals[ids[3]]['status'], finals[ids[3]]['failureReason']) == ('Rejected', 'UserInBlackList')
    assert sim.messages[3]['failure_reason'] == 'UserInBlackList'
    with pytest.raises(ValueError):
        sim.set_fate(ids[3], 'Success')  # already final
    with pytest.raises(KeyError):
        sim.set_fate('ATXid_unknown', 'Success')
    with pytest.raises(ValueError):
        sim.set_fate(ids[0], 'Delivered')


def test_rejected_recipients_get_no_report(sim, receiver):
    sim.add_number_rule('+2547990', 406)
    raw_send(sim, SAFARICOM + ',+254799000001')
    posted = sim.deliver_pending()
    assert len(posted) == 2
    assert {form['phoneNumber'] for form in receiver.forms('/delivery')} == {SAFARICOM}


def test_a_report_is_retried_until_the_callback_answers_200(sim, sms, receiver):
    [message_id] = [r['messageId'] for r in recipients(sms.send('x', [SAFARICOM], timeout=TIMEOUT))]
    receiver.statuses.extend([200, 503])  # 'Sent' acknowledged, the final report refused once
    assert sim.deliver_pending() == [(message_id, 200), (message_id, 503)]
    assert sim.messages[0]['delivery_status'] == 'Sent'
    assert sim.deliver_pending() == [(message_id, 200)]
    assert sim.messages[0]['delivery_status'] == 'Success'


def test_unreachable_callback_keeps_the_report_pending(sim, sms):
    sim.set_callback_urls(delivery='http://127.0.0.1:9/unreachable')
    [message_id] = [r['messageId'] for r in recipients(sms.send('x', [SAFARICOM], timeout=TIMEOUT))]
    assert sim.deliver_pending(final=False) == [(message_id, None)]
    assert sim.messages[0]['delivery_status'] is None


def test_auto_deliver_posts_reports_by_itself(sim, sms, receiver):
    sim.auto_deliver = True
    sim.delivery_delay = 0.05
    sms.send('x', [SAFARICOM], timeout=TIMEOUT)
    deadline = time.monotonic() + 3
    while len(receiver.forms('/delivery')) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [form['status'] for form in receiver.forms('/delivery')] == ['Sent', 'Success']


# ---------------------------------------------------------------------- inbound and opt-out

def test_inbound_and_optout_are_posted_in_at_shape(sim, receiver):
    assert sim.send_inbound(SAFARICOM, 'STOP', to='20414', link_id='link-1') == 200
    assert sim.send_optout(SAFARICOM, sender_id='UNIVERSITY') == 200
    [inbound] = receiver.forms('/inbound')
    assert set(inbound) == {'date', 'from', 'id', 'linkId', 'text', 'to', 'networkCode'}
    assert (inbound['from'], inbound['text'], inbound['to'], inbound['linkId'], inbound['networkCode']) == (
        SAFARICOM, 'STOP', '20414', 'link-1', '63902')
    assert time.strptime(inbound['date'], '%Y-%m-%d %H:%M:%S')
    assert receiver.forms('/optout') == [{'senderId': 'UNIVERSITY', 'phoneNumber': SAFARICOM}]
    sim.set_callback_urls()
    with pytest.raises(RuntimeError):
        sim.send_inbound(SAFARICOM, 'HELP')


# ---------------------------------------------------------------------- counters

def test_counters_and_duplicates(sim, sms):
    sms.send('Exam moved', [SAFARICOM, AIRTEL_UG], timeout=TIMEOUT)
    sms.send('Exam moved', [SAFARICOM], timeout=TIMEOUT)
    sms.send('Exam moved', [SAFARICOM], sender_id='UNIVERSITY', timeout=TIMEOUT)  # another sender: not a duplicate
    sms.send('Other text', [SAFARICOM], timeout=TIMEOUT)
    requests.get(sim.url + '/__sim__/state', timeout=TIMEOUT, headers=auth(sim))  # control calls are not counted
    # The SDK opens a connection per call; the control call one more
    assert sim.stats() == {'requests': 4, 'send_requests': 4, 'messages': 5, 'accepted': 5, 'rejected': 0,
                           'duplicates': 1, 'faults': 0, 'reports_posted': 0, 'enqueued': 0, 'premium': 0,
                           'connections': 5}
    assert sim.count(SAFARICOM) == 4
    assert sim.count(SAFARICOM, 'Exam moved') == 3
    assert sim.count(AIRTEL_UG, 'Other text') == 0


def test_reset_forgets_state_but_keeps_accounts_and_callbacks(sim, sms):
    sim.add_number_rule('+256', 406)
    sim.inject_fault('http_500', count=5)
    sim.set_balance(Decimal('1'))
    sim.reset()
    assert sim.stats()['messages'] == 0 and sim.messages == []
    assert sim.balance == Decimal('1000')
    assert sim.config()['faults'] == [] and sim.config()['number_rules'] == []
    assert sim.callback_urls['delivery'].endswith('/delivery')
    assert recipients(sms.send('x', [AIRTEL_UG], timeout=TIMEOUT))[0]['statusCode'] == 101


# ---------------------------------------------------------------------- control endpoints

def test_state_endpoint(sim, sms):
    sms.send('x', [SAFARICOM, AIRTEL_UG], timeout=TIMEOUT)
    response = requests.get(sim.url + '/__sim__/state', timeout=TIMEOUT, headers=auth(sim))
    assert response.status_code == 200
    assert response.headers['Content-Type'] == 'application/json'
    state = response.json()
    assert state['stats']['accepted'] == 2
    assert [message['number'] for message in state['messages']] == [SAFARICOM, AIRTEL_UG]
    assert state['config']['balance'] == '998.4000'
    limited = requests.get(sim.url + '/__sim__/state', params={'limit': 1}, timeout=TIMEOUT, headers=auth(sim)).json()
    assert [message['number'] for message in limited['messages']] == [AIRTEL_UG]


def test_config_endpoint_applies_settings(sim, sms):
    response = control(sim, 'config', {
        'balance': '1.6', 'latency': 0, 'auto_deliver': False, 'delivery_delay': 0.5, 'hang_seconds': 2,
        'number_rules': [{'prefix': '+256', 'status_code': 407}],
        'delivery_rules': [{'prefix': '+2547', 'status': 'Expired'}],
        'faults': [{'kind': 'http_500', 'count': 1, 'after_processing': False}],
        'invalid_sender_ids': ['BAD'], 'callback_urls': {'inbound': 'http://127.0.0.1:9/in'},
    })
    assert response.status_code == 200
    config = response.json()
    assert config['number_rules'] == [{'prefix': '+256', 'status_code': 407}]
    assert config['delivery_rules'] == [{'prefix': '+2547', 'status': 'Expired', 'failure_reason': None}]
    assert sim.callback_urls['inbound'] == 'http://127.0.0.1:9/in'
    assert sim.callback_urls['delivery'].endswith('/delivery')  # untouched
    # The JSON never shows a callback's path: it holds the Odoo account's secret.
    assert config['callback_urls'] == {'inbound': 'http://127.0.0.1:9/…', 'delivery': config['callback_urls'][
        'delivery'], 'optout': config['callback_urls']['optout'], 'subscription': None}
    assert '/delivery' not in json.dumps(config)
    assert (sim.delivery_delay, sim.hang_seconds, sim.invalid_sender_ids) == (0.5, 2.0, {'BAD'})
    with pytest.raises(AfricasTalkingException):
        sms.send('x', [SAFARICOM], timeout=TIMEOUT)
    statuses = [r['statusCode'] for r in recipients(sms.send('x', [SAFARICOM, AIRTEL_UG], timeout=TIMEOUT))]
    assert statuses == [101, 407]


@pytest.mark.parametrize('payload', [
    {'balance': 'lots'},
    {'latency': -1},
    {'auto_deliver': 'yes'},
    {'number_rules': [{'prefix': '+256', 'status_code': 999}]},
    {'number_rules': [{'prefix': '+256'}]},
    {'delivery_rules': [{'prefix': '+256', 'status': 'Delivered'}]},
    {'faults': [{'kind': 'explode'}]},
    {'callback_urls': {'elsewhere': 'http://x'}},
    {'callback_urls': {'inbound': 'http://169.254.169.254/latest/meta-data'}},
    {'callback_urls': {'delivery': 'http://odoo.example.com/sms'}},
    {'callback_urls': {'delivery': 'file:///etc/passwd'}},
    {'colour': 'blue'},
    {'balance': '5', 'colour': 'blue'},
])
def test_config_endpoint_refuses_bad_input_and_changes_nothing(sim, payload):
    before = sim.config()
    response = control(sim, 'config', payload)
    assert response.status_code == 400
    assert response.json()['error']
    assert sim.config() == before


def test_control_endpoints_refuse_non_json(sim):
    headers = {**auth(sim), 'Content-Type': 'application/json'}
    response = requests.post(sim.url + '/__sim__/config', data=b'not json', timeout=TIMEOUT, headers=headers)
    assert (response.status_code, 'error' in response.json()) == (400, True)
    assert requests.post(sim.url + '/__sim__/config', json=[1], timeout=TIMEOUT, headers=auth(sim)).status_code == 400
    assert requests.get(sim.url + '/__sim__/nothing', timeout=TIMEOUT, headers=auth(sim)).status_code == 404
    assert requests.get(sim.url + '/__sim__/reset', timeout=TIMEOUT, headers=auth(sim)).status_code == 405


def test_deliver_and_fate_endpoints(sim, sms, receiver):
    ids = [r['messageId'] for r in recipients(sms.send('x', [SAFARICOM, AIRTEL_UG], timeout=TIMEOUT))]
    assert control(sim, 'fate', {'message_id': ids[1], 'status': 'Failed'}).json() == {'ok': True}
    assert control(sim, 'fate', {'message_id': 'ATXid_none', 'status': 'Failed'}).status_code == 404
    assert control(sim, 'fate', {'message_id': ids[1], 'status': 'Nope'}).status_code == 400
    assert control(sim, 'fate', {'status': 'Failed'}).status_code == 400
    response = control(sim, 'deliver', {'intermediate': False})
    assert response.json() == {'posted': [[ids[0], 200], [ids[1], 200]]}
    assert [form['status'] for form in receiver.forms('/delivery')] == ['Success', 'Failed']


def test_inbound_optout_and_reset_endpoints(sim, sms, receiver):
    assert control(sim, 'inbound', {'from': SAFARICOM, 'text': 'START'}).json() == {'http_status': 200}
    assert control(sim, 'optout', {'phone_number': SAFARICOM}).json() == {'http_status': 200}
    assert receiver.forms('/inbound')[0]['to'] == '12345'
    assert receiver.forms('/optout') == [{'senderId': 'AFRICASTKNG', 'phoneNumber': SAFARICOM}]
    assert control(sim, 'inbound', {'text': 'START'}).status_code == 400
    sms.send('x', [SAFARICOM], timeout=TIMEOUT)
    assert control(sim, 'reset').json() == {'ok': True}
    assert sim.stats()['messages'] == 0


@pytest.mark.parametrize('path', ['/__sim__/config', '/version1/messaging'])
def test_oversized_bodies_are_refused_with_413(sim, path):
    response = requests.post(sim.url + path, data=b'x' * (1024 * 1024 + 1), timeout=TIMEOUT,
                             headers={'apiKey': 'simulator-key'})
    assert response.status_code == 413
    assert sim.stats()['messages'] == 0


def test_unknown_paths_are_404(sim):
    assert requests.get(sim.url + '/elsewhere', timeout=TIMEOUT).status_code == 404
    assert requests.get(sim.url + '/version1/nothing', timeout=TIMEOUT).status_code == 404


# ---------------------------------------------------------------------- command line

def test_command_line_callback_urls():
    args = _parse_args(['--callback-base', 'http://odoo/sms/1/secret', '--optout-url', 'http://other/optout'])
    assert _callback_urls(args) == {'delivery': 'http://odoo/sms/1/secret/delivery',
                                    'inbound': 'http://odoo/sms/1/secret/inbound',
                                    'optout': 'http://other/optout',
                                    'subscription': 'http://odoo/sms/1/secret/subscription'}
    assert _callback_urls(_parse_args([])) == {'delivery': None, 'inbound': None, 'optout': None,
                                               'subscription': None}


# ---------------------------------------------------------------------- control API hardening (issue 15, item 9)

def test_control_calls_need_the_run_token(sim):
    for method, path in (('GET', '/__sim__/state'), ('GET', '/__sim__/phones'), ('POST', '/__sim__/reset'),
                         ('POST', '/__sim__/optout')):
        for headers in ({}, {'X-Simulator-Token': 'guess'}):
            response = requests.request(method, sim.url + path, json={'phone_number': SAFARICOM}, headers=headers,
                                        timeout=TIMEOUT)
            assert response.status_code == 403, (method, path, headers)
    assert ATSimulator().control_token != sim.control_token, 'a new token per run'


def test_cross_origin_posts_are_refused_even_with_the_token(sim, receiver):
    for origin in ('http://evil.example', 'null', 'http://127.0.0.1:1'):
        response = requests.post(sim.url + '/__sim__/optout', json={'phone_number': SAFARICOM}, timeout=TIMEOUT,
                                 headers={**auth(sim), 'Origin': origin})
        assert response.status_code == 403
    # A form post (no preflight in a browser) is refused: control calls are JSON.
    response = requests.post(sim.url + '/__sim__/optout', data={'phone_number': SAFARICOM}, timeout=TIMEOUT,
                             headers=auth(sim))
    assert response.status_code == 403
    assert receiver.forms('/optout') == []
    response = requests.post(sim.url + '/__sim__/optout', json={'phone_number': SAFARICOM}, timeout=TIMEOUT,
                             headers={**auth(sim), 'Origin': sim.url})
    assert response.status_code == 200, 'the phone page itself (same origin) works'


def test_dns_rebinding_host_gets_neither_page_nor_token(sim):
    for path in ('/phones', '/__sim__/state'):
        response = requests.get(sim.url + path, headers={**auth(sim), 'Host': 'evil.example:%s' % sim.port},
                                timeout=TIMEOUT)
        assert response.status_code == 403
        assert sim.control_token not in response.text


def test_the_page_embeds_the_token(sim):
    page = requests.get(sim.url + '/phones', timeout=TIMEOUT).text
    assert '<meta name="simulator-token" content="%s">' % sim.control_token in page


def test_callback_urls_are_loopback_only(sim):
    for url in ('http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/x', 'http://example.com/cb',
                'gopher://127.0.0.1/x'):
        with pytest.raises(ValueError):
            sim.set_callback_urls(delivery=url)
    sim.set_callback_urls(delivery='http://localhost:8069/x', inbound='http://[::1]:8069/y')
    remote = ATSimulator(allow_remote=True)
    remote.set_callback_urls(delivery='http://odoo.example.com/sms/1/secret/delivery')


def test_no_secret_in_json_answers(sim):
    sim.set_callback_urls(delivery='http://127.0.0.1:8069/sms_africastalking/1/s3cret-value/delivery')
    for path in ('/__sim__/state', '/__sim__/phones'):
        assert 's3cret-value' not in requests.get(sim.url + path, headers=auth(sim), timeout=TIMEOUT).text
    assert sim.callback_urls['delivery'].endswith('/s3cret-value/delivery'), 'the Python API still has it'


def test_non_loopback_host_needs_an_explicit_flag(caplog):
    with pytest.raises(ValueError):
        ATSimulator(host='0.0.0.0')  # noqa: S104 - the point of the test
    assert at_simulator_main(['--host', '0.0.0.0', '--port', '0']) == 2  # noqa: S104
    assert 'allow-remote' in caplog.text


def test_answers_leave_without_nagle_delay(sim, monkeypatch):
    """The handler writes headers and body apart: with Nagle's algorithm a small answer on a kept-alive connection
    waited for the client's delayed ACK (about 40 ms a request, on top of the configured latency)."""
    import socket

    from simulator import at_simulator

    seen = []
    setup = at_simulator._RequestHandler.setup

    def spy(handler):
        setup(handler)
        seen.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(at_simulator._RequestHandler, 'setup', spy)
    with requests.Session() as session:
        for _index in range(2):
            answer = session.post(sim.url + '/version1/messaging', timeout=TIMEOUT, headers={'apiKey': 'simulator-key'},
                                  data={'username': 'simulator', 'to': SAFARICOM, 'message': 'Hi'})
            assert answer.status_code == 201
    assert seen and all(seen), seen


def test_log_level_option():
    """Every API request is logged at INFO (the console of `make run`); the bench discards the output and asks for
    WARNING: a line per request is a sixth of the simulator's CPU for a small request."""
    assert _parse_args([]).log_level == 'INFO'
    assert _parse_args(['--log-level', 'WARNING']).log_level == 'WARNING'
