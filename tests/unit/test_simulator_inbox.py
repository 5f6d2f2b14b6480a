"""The simulator's phone inbox: its page and the JSON endpoints the page polls and posts to.

One simulator (seeded, so the failure-rate draws repeat) and one callback receiver serve the module; every
HTTP call has a small timeout.
"""

import pytest
import requests

from simulator.at_simulator import ATSimulator, _parse_args

TIMEOUT = 5
AMINA = '+254711000001'
BARAKA = '+254722000002'
UGANDA = '+256701000003'


@pytest.fixture(scope='module')
def running_simulator():
    with ATSimulator(seed=20240601) as simulator:
        yield simulator


@pytest.fixture
def sim(running_simulator, receiver):
    running_simulator.reset()
    running_simulator.set_callback_urls(delivery=receiver.url + '/delivery', inbound=receiver.url + '/inbound',
                                        optout=receiver.url + '/optout')
    receiver.clear()
    return running_simulator


def send(sim, to, message, sender_id='UNIVERSITY'):
    response = requests.post(sim.url + '/version1/messaging', timeout=TIMEOUT,
                             headers={'apiKey': 'simulator-key', 'Accept': 'application/json'},
                             data={'username': 'simulator', 'to': to, 'message': message, 'from': sender_id})
    assert response.status_code == 201
    return [recipient['messageId'] for recipient in response.json()['SMSMessageData']['Recipients']]


def get(sim, name, **params):
    return requests.get(sim.url + '/__sim__/' + name, params=params, timeout=TIMEOUT,
                        headers={'X-Simulator-Token': sim.control_token})


def post(sim, name, payload):
    return requests.post(sim.url + '/__sim__/' + name, json=payload, timeout=TIMEOUT,
                         headers={'X-Simulator-Token': sim.control_token})


def thread(sim, number):
    response = get(sim, 'thread', number=number)
    assert response.status_code == 200
    return response.json()['entries']


# ---------------------------------------------------------------------- the page

@pytest.mark.parametrize('path', ['/', '/phones'])
def test_the_page_is_served_as_html(sim, path):
    response = requests.get(sim.url + path, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers['Content-Type'] == 'text/html; charset=utf-8'
    assert '<title>Phones' in response.text
    assert 'fetch("/__sim__/"' in response.text


def test_the_page_loads_nothing_from_outside(sim):
    page = requests.get(sim.url + '/', timeout=TIMEOUT).text
    assert 'src="http' not in page and 'href="http' not in page and '@import' not in page


def test_the_page_is_not_an_api_request(sim):
    requests.get(sim.url + '/phones', timeout=TIMEOUT)
    get(sim, 'phones')
    assert sim.stats()['requests'] == 0
    assert requests.post(sim.url + '/phones', timeout=TIMEOUT).status_code == 404


# ---------------------------------------------------------------------- phones and threads

def test_phones_lists_the_numbers_that_received_a_message_most_recent_first(sim):
    assert get(sim, 'phones').json()['phones'] == []
    send(sim, '%s,%s,0711' % (AMINA, BARAKA), 'Exams start on Monday')  # 0711 is refused: not a phone
    send(sim, AMINA, 'Your fees balance is KES 12,500')
    sim.add_number_rule(UGANDA, 406)
    send(sim, UGANDA, 'Refused: blacklisted at AT')

    data = get(sim, 'phones').json()
    assert [phone['number'] for phone in data['phones']] == [AMINA, BARAKA]
    amina, baraka = data['phones']
    assert (amina['received'], amina['sent'], amina['pending']) == (2, 0, 2)
    assert amina['last']['text'] == 'Your fees balance is KES 12,500'
    assert baraka['last']['text'] == 'Exams start on Monday'
    assert data['stats']['messages'] == 5 and data['stats']['rejected'] == 2
    assert data['config']['failure_rate'] == 0


def test_a_thread_shows_every_message_as_received_newest_first(sim):
    [first] = send(sim, AMINA, 'Exams start on Monday')
    long_text = 'Habari! ' * 30  # 240 GSM characters: 2 parts
    [second] = send(sim, AMINA, long_text, sender_id='20414')
    send(sim, BARAKA, 'Not for Amina')

    entries = thread(sim, AMINA)
    assert [entry['id'] for entry in entries] == [second, first]
    newest = entries[0]
    assert newest == {
        'direction': 'received', 'id': second, 'number': AMINA, 'text': long_text, 'sender_id': '20414',
        'parts': 2, 'cost': 'KES 1.6000', 'created_at': newest['created_at'], 'delivery_status': 'Pending',
        'failure_reason': None, 'final': False, 'fate_status': 'Success', 'fate_reason': None,
    }
    sim.deliver_pending()
    assert [entry['delivery_status'] for entry in thread(sim, AMINA)] == ['Success', 'Success']
    assert all(entry['final'] for entry in thread(sim, AMINA))


def test_a_number_left_unencoded_in_the_query_string_still_finds_its_thread(sim):
    send(sim, AMINA, 'Hello')
    response = requests.get(sim.url + '/__sim__/thread?number=' + AMINA, timeout=TIMEOUT,
                            headers={'X-Simulator-Token': sim.control_token})  # '+' reads as ' '
    assert response.json()['number'] == AMINA
    assert [entry['text'] for entry in response.json()['entries']] == ['Hello']


def test_a_thread_needs_a_number(sim):
    response = get(sim, 'thread')
    assert response.status_code == 400
    assert 'number' in response.json()['error']
    assert thread(sim, '+254799999999') == []


# ---------------------------------------------------------------------- replies and opt-outs

def test_a_reply_reaches_the_inbound_callback_and_shows_in_the_thread(sim, receiver):
    send(sim, AMINA, 'Exams start on Monday')
    response = post(sim, 'inbound', {'from': AMINA, 'text': 'SIMAMA'})
    assert response.json() == {'http_status': 200}

    [form] = receiver.forms('/inbound')
    assert (form['from'], form['text'], form['to']) == (AMINA, 'SIMAMA', '12345')
    reply, received = thread(sim, AMINA)
    assert reply['direction'] == 'sent' and reply['kind'] == 'reply'
    assert (reply['text'], reply['http_status'], reply['answered']) == ('SIMAMA', 200, True)
    assert reply['id'] == form['id']
    assert received['direction'] == 'received'
    phone = get(sim, 'phones').json()['phones'][0]
    assert (phone['received'], phone['sent'], phone['last']['text']) == (1, 1, 'SIMAMA')


def test_odoo_refusing_a_reply_is_shown(sim, receiver):
    receiver.status = 404
    assert post(sim, 'inbound', {'from': BARAKA, 'text': 'STOP', 'to': '20414'}).json() == {'http_status': 404}
    [reply] = thread(sim, BARAKA)
    assert (reply['http_status'], reply['to']) == (404, '20414')
    # A phone that only sent something is listed too.
    assert [phone['number'] for phone in get(sim, 'phones').json()['phones']] == [BARAKA]


def test_the_bulk_optout_callback_is_posted_and_shown(sim, receiver):
    send(sim, AMINA, 'Promo')
    assert post(sim, 'optout', {'phone_number': AMINA, 'sender_id': 'UNIVERSITY'}).json() == {'http_status': 200}
    assert receiver.forms('/optout') == [{'senderId': 'UNIVERSITY', 'phoneNumber': AMINA}]
    optout = thread(sim, AMINA)[0]
    assert (optout['kind'], optout['to'], optout['http_status']) == ('optout', 'UNIVERSITY', 200)


def test_nothing_is_shown_when_no_callback_url_is_configured(sim, receiver):
    sim.set_callback_urls(delivery=receiver.url + '/delivery')
    assert post(sim, 'inbound', {'from': AMINA, 'text': 'STOP'}).status_code == 400
    assert post(sim, 'optout', {'phone_number': AMINA}).status_code == 400
    assert thread(sim, AMINA) == [] and receiver.posts == []


# ---------------------------------------------------------------------- fates chosen on the page

@pytest.mark.parametrize(('status', 'reason', 'expected_reason'), [
    ('Success', None, None),
    ('Failed', 'UserInBlacklist', 'UserInBlacklist'),
    ('AbsentSubscriber', 'ignored', None),
])
def test_a_fate_chosen_on_the_page_reports_that_message_only(sim, receiver, status, reason, expected_reason):
    chosen, other = send(sim, '%s,%s' % (AMINA, BARAKA), 'Exams start on Monday')
    response = post(sim, 'fate', {'message_id': chosen, 'status': status, 'failure_reason': reason,
                                  'deliver': True})
    assert response.status_code == 200
    assert response.json() == {'ok': True, 'posted': [[chosen, 200], [chosen, 200]]}

    sent, final = receiver.forms('/delivery')
    assert (sent['id'], sent['status']) == (chosen, 'Sent')
    assert (final['id'], final['status'], final.get('failureReason')) == (chosen, status, expected_reason)
    [entry] = thread(sim, AMINA)
    assert (entry['delivery_status'], entry['failure_reason'], entry['final']) == (status, expected_reason, True)
    assert thread(sim, BARAKA)[0]['delivery_status'] == 'Pending'
    assert {phone['number']: phone['pending'] for phone in get(sim, 'phones').json()['phones']} == {
        AMINA: 0, BARAKA: 1}

    again = post(sim, 'fate', {'message_id': chosen, 'status': 'Failed', 'deliver': True})
    assert again.status_code == 400  # a final report cannot be taken back
    assert len(receiver.forms('/delivery')) == 2


def test_a_fate_without_deliver_waits_for_the_next_delivery(sim, receiver):
    [message_id] = send(sim, AMINA, 'Hello')
    assert post(sim, 'fate', {'message_id': message_id, 'status': 'Expired'}).json() == {'ok': True}
    assert receiver.forms('/delivery') == []
    assert thread(sim, AMINA)[0]['fate_status'] == 'Expired'
    sim.deliver_pending()
    assert receiver.forms('/delivery')[-1]['status'] == 'Expired'


def test_delivering_an_unknown_message_is_404(sim):
    response = post(sim, 'fate', {'message_id': 'ATXid_nope', 'status': 'Success', 'deliver': True})
    assert response.status_code == 404
    with pytest.raises(KeyError):
        sim.deliver_messages(['ATXid_nope'])


# ---------------------------------------------------------------------- settings

def test_settings_of_the_page_are_applied_together(sim):
    response = post(sim, 'config', {'latency': 0.25, 'failure_rate': 0.3, 'balance': '50', 'auto_deliver': False,
                                    'delivery_delay': 3})
    assert response.status_code == 200
    config = response.json()
    assert (config['latency'], config['failure_rate'], config['balance'], config['delivery_delay']) == (
        0.25, 0.3, '50.0000', 3)
    assert sim.failure_rate == 0.3
    sim.set_latency(0)


@pytest.mark.parametrize('rate', [-0.1, 1.5, 'often', None, [0.5]])
def test_a_bad_failure_rate_changes_nothing(sim, rate):
    sim.set_failure_rate(0.2)
    response = post(sim, 'config', {'failure_rate': rate, 'latency': 1})
    assert response.status_code == 400
    assert sim.config()['latency'] == 0
    assert sim.failure_rate == 0.2
    with pytest.raises((ValueError, TypeError)):
        sim.set_failure_rate(rate)
    with pytest.raises(ValueError):
        sim.set_failure_rate(float('nan'))


def test_every_message_fails_at_a_failure_rate_of_one(sim, receiver):
    post(sim, 'config', {'failure_rate': 1})
    send(sim, '%s,%s' % (AMINA, BARAKA), 'Exams')
    sim.deliver_pending(intermediate=False)
    assert [(form['status'], form['failureReason']) for form in receiver.forms('/delivery')] == [
        ('Failed', 'DeliveryFailure')] * 2


def test_the_failure_rate_is_a_repeatable_random_fraction(sim):
    numbers = ['+2547110%05d' % index for index in range(400)]

    def fates():
        sim.reset()
        sim.set_failure_rate(0.25)
        send(sim, ','.join(numbers), 'Exams')
        return [entry['fate_status'] for number in numbers for entry in thread(sim, number)]

    first = fates()
    assert 60 < first.count('Failed') < 140  # 100 expected; far outside means the rate is not applied
    assert set(first) == {'Success', 'Failed'}
    assert fates() == first  # seeded, and a reset restarts the draws


def test_delivery_rules_win_over_the_failure_rate(sim):
    sim.set_failure_rate(1)
    sim.add_delivery_rule(AMINA, 'Success')
    send(sim, '%s,%s' % (AMINA, BARAKA), 'Exams')
    assert thread(sim, AMINA)[0]['fate_status'] == 'Success'
    assert thread(sim, BARAKA)[0]['fate_status'] == 'Failed'


def test_reset_forgets_the_phones_and_the_failure_rate(sim):
    sim.set_failure_rate(0.5)
    send(sim, AMINA, 'Hello')
    post(sim, 'inbound', {'from': AMINA, 'text': 'HELP'})
    assert post(sim, 'reset', {}).json() == {'ok': True}
    data = get(sim, 'phones').json()
    assert data['phones'] == [] and data['config']['failure_rate'] == 0
    assert data['stats']['messages'] == 0


def test_counters_show_duplicates(sim):
    send(sim, AMINA, 'Exams start on Monday')
    send(sim, AMINA, 'Exams start on Monday')
    stats = get(sim, 'phones').json()['stats']
    assert (stats['requests'], stats['messages'], stats['duplicates']) == (2, 2, 1)
    assert [entry['text'] for entry in thread(sim, AMINA)] == ['Exams start on Monday'] * 2


def test_reset_restores_the_initial_failure_rate(receiver):
    with ATSimulator(seed=7, failure_rate=1) as sim:
        sim.set_failure_rate(0)
        sim.reset()
        assert sim.failure_rate == 1
        send(sim, AMINA, 'Exams')
        assert thread(sim, AMINA)[0]['fate_status'] == 'Failed'


def test_the_command_line_sets_the_failure_rate_and_seed():
    args = _parse_args(['--failure-rate', '0.05', '--seed', '3'])
    assert (args.failure_rate, args.seed) == (0.05, 3)
    assert _parse_args([]).failure_rate == 0
    with pytest.raises(SystemExit):
        _parse_args(['--failure-rate', '5'])


def test_the_phone_list_is_limited_to_the_most_recent(sim):
    send(sim, ','.join('+2547220%05d' % index for index in range(5)), 'Exams')
    data = get(sim, 'phones', limit=2).json()
    assert [phone['number'] for phone in data['phones']] == ['+254722000004', '+254722000003']
    assert data['phone_count'] == 5
    assert len(get(sim, 'phones').json()['phones']) == 5  # 200 by default
    assert get(sim, 'phones', limit=-1).status_code == 400
