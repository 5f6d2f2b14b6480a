"""Gateway faults and delivery-report chaos, shared by the Odoo tests (small sizes) and ``bench/stress.py`` (large).

Nothing here is mocked: SMS leave through the real queue and gateway to an AT simulator (in the test process or
a separate one), reports go through the real parser and the real report queue. The checks return a list of
problems (empty when every guarantee holds) and a summary, so that a test asserts on them and the stress script
prints them.
"""

import json
import os
import random
import urllib.request
from collections import Counter

from odoo.tools import split_every

from ..simulator.at_simulator import CONTROL_TOKEN_ENV, CONTROL_TOKEN_HEADER
from ..tools.at_callbacks import parse_delivery_report

FAULT_KINDS = ("timeout", "http_500", "reset", "http_401")
# What a final delivery report may say, with the weights of a real campaign (mostly delivered).
FATES = (
    (("Success", None), 70),
    (("Failed", "DeliveryFailure"), 8),
    (("Failed", "UserDoesNotExist"), 4),
    (("Rejected", "InsufficientCredit"), 4),
    (("AbsentSubscriber", None), 8),
    (("Expired", None), 6),
)
FINAL_SMS_STATES = ("pending", "error", "unknown")


# ----------------------------------------------------------------------
# The simulator, in this process (ATSimulator) or another one (its control URL)
# ----------------------------------------------------------------------

class SimulatorControl:
    """The few simulator calls the chaos needs, through the JSON control API whatever process it runs in."""

    def __init__(self, simulator=None, url=None):
        self.simulator = simulator
        self.url = (url or simulator.url).rstrip("/")

    def _control(self, method, path, payload=None):
        body = json.dumps(payload or {}).encode()
        if self.simulator is not None:
            status, answer = self.simulator.handle_control(method, path, "", body)
            if status != 200:
                raise RuntimeError("simulator control %s: %s" % (path, answer))
            return answer
        token = self.simulator.control_token if self.simulator is not None else os.environ.get(CONTROL_TOKEN_ENV, "")
        request = urllib.request.Request(self.url + path, data=body if method == "POST" else None, method=method,
                                         headers={"Content-Type": "application/json", CONTROL_TOKEN_HEADER: token})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=60) as response:
            return json.loads(response.read())

    def set_faults(self, faults):
        """Replace the pending faults: each hits the next API request to arrive."""
        self._control("POST", "/__sim__/config", {"faults": list(faults)})

    def configure(self, **settings):
        self._control("POST", "/__sim__/config", settings)

    def state(self):
        """``{'stats': {...}, 'messages': [...]}`` with every message received."""
        return self._control("GET", "/__sim__/state")


def random_faults(rng, count):
    """``count`` faults of every kind. A wrong-key answer (401) comes before processing, as at AT; the others
    happen before or after AT processed the request (the message went out, the answer is lost)."""
    faults = []
    for _index in range(count):
        kind = rng.choice(FAULT_KINDS)
        faults.append({"kind": kind, "count": 1,
                       "after_processing": kind != "http_401" and rng.random() < 0.7})
    return faults


# ----------------------------------------------------------------------
# Gateway faults
# ----------------------------------------------------------------------

def queue_personal_sms(env, count, first_number, tag):
    """``count`` queued SMS, each with its own number and text: one AT request each, so faults hit single SMS and
    "sent twice" is visible in the simulator's (number, text) counters."""
    return env["sms.sms"].create([
        {"number": "+%d" % (first_number + index), "body": "%s #%d: exams start Monday at 08:00." % (tag, index)}
        for index in range(count)
    ])


def dispatch_with_faults(env, sms_ids, control, rng, batch_size=25, fault_ratio=0.3, commit=False):
    """Dispatch ``sms_ids`` batch by batch, injecting about ``fault_ratio`` faults per SMS before each batch."""
    for batch in split_every(batch_size, sms_ids):
        control.set_faults(random_faults(rng, rng.randint(0, max(1, round(2 * fault_ratio * len(batch))))))
        env["sms.sms"]._process_queue(ids=list(batch))
        if commit:
            env.cr.commit()
    control.set_faults([])


def check_dispatch(env, sms_ids, simulator_state):
    """Every SMS has a final state with a reason, and the simulator accepted no (number, text) twice.

    Also: an SMS Odoo calls sent reached AT once, and an SMS AT accepted is never called failed (only sent or
    unknown). Returns ``(problems, summary)``.
    """
    env.flush_all()
    env.cr.execute("SELECT uuid, number, body, state, failure_type, at_failure_reason FROM sms_sms "
                   "WHERE id = ANY(%s)", (list(sms_ids),))
    rows = env.cr.fetchall()
    accepted = Counter((m["number"], m["text"]) for m in simulator_state["messages"] if m["status_code"] in
                       (100, 101, 102))
    problems = []
    duplicates = sum(count - 1 for count in accepted.values() if count > 1)
    if duplicates or simulator_state["stats"].get("duplicates"):
        problems.append("%d messages sent twice (simulator: %s)" % (duplicates,
                                                                    simulator_state["stats"].get("duplicates")))
    env.cr.execute("SELECT sms_uuid, count(*) FROM africastalking_message WHERE sms_uuid = ANY(%s) "
                   "GROUP BY sms_uuid", ([row[0] for row in rows],))
    logged = dict(env.cr.fetchall())
    states = Counter()
    for uuid, number, body, state, failure_type, reason in rows:
        states[state] += 1
        reached = accepted.get((number, body), 0)
        if state not in FINAL_SMS_STATES:
            problems.append("SMS to %s left in state %s" % (number, state))
        elif state == "error" and not failure_type:
            problems.append("failed SMS to %s without a failure type" % number)
        elif state == "unknown" and not reason:
            problems.append("unknown outcome to %s without a reason" % number)
        elif state == "pending" and reached != 1:
            problems.append("SMS to %s is called sent but AT received it %d times" % (number, reached))
        elif state == "error" and reached:
            problems.append("SMS to %s is called failed but AT accepted it" % number)
        if logged.get(uuid) != 1:
            problems.append("SMS to %s has %s message log rows" % (number, logged.get(uuid, 0)))
    summary = {
        "sms": len(rows),
        "faults": simulator_state["stats"].get("faults", 0),
        "accepted": sum(accepted.values()),
        "duplicates": duplicates,
        "sent": states["pending"],
        "failed": states["error"],
        "unknown": states["unknown"],
        "stateless": sum(count for state, count in states.items() if state not in FINAL_SMS_STATES),
    }
    return problems, summary


def settle_with_reports(env, account, simulator_state, rng):
    """AT's final reports for everything it accepted (random fates, shuffled): every message AT accepted ends
    delivered or failed, unknown outcomes included. Returns ``(problems, settled unknown count)``."""
    accepted = [m for m in simulator_state["messages"] if m["status_code"] in (100, 101, 102)]
    env.cr.execute("SELECT count(*) FROM africastalking_message WHERE state = 'unknown'")
    unknown_before = env.cr.fetchone()[0]
    fates = {m["id"]: pick_fate(rng) for m in accepted}
    forms = [report_form(m["id"], m["number"], *fates[m["id"]]) for m in accepted]
    rng.shuffle(forms)
    enqueue_forms(env, account, forms)
    env["africastalking.delivery.report"]._cron_apply(linger=0)
    env.flush_all()
    env.cr.execute("SELECT at_message_id, state FROM africastalking_message WHERE at_message_id = ANY(%s)",
                   (list(fates),))
    states = dict(env.cr.fetchall())
    problems = []
    for message_id, (status, _reason) in fates.items():
        expected = "delivered" if status == "Success" else "failed"
        if states.get(message_id) != expected:
            problems.append("message %s is %s, its report said %s" % (message_id, states.get(message_id), status))
    # The report reached the message of its SMS: no unknown outcome left for a number AT accepted, no report
    # kept aside without its SMS.
    env.cr.execute("SELECT number FROM africastalking_message WHERE state = 'unknown' AND number = ANY(%s)",
                   ([m["number"] for m in accepted],))
    problems += ["unknown outcome to %s not settled by its report" % row[0] for row in env.cr.fetchall()]
    env.cr.execute("SELECT at_message_id FROM africastalking_message WHERE sms_uuid IS NULL "
                   "AND at_message_id = ANY(%s)", (list(fates),))
    problems += ["report %s kept without its SMS" % row[0] for row in env.cr.fetchall()]
    env.cr.execute("SELECT count(*) FROM africastalking_message WHERE state = 'unknown'")
    return problems, unknown_before - env.cr.fetchone()[0]


# ----------------------------------------------------------------------
# Delivery-report chaos
# ----------------------------------------------------------------------

def pick_fate(rng):
    return rng.choices([fate for fate, _weight in FATES], weights=[weight for _fate, weight in FATES])[0]


def report_form(message_id, number, status, reason=None):
    """A delivery report as AT posts it (form fields, strings)."""
    form = {"id": message_id, "status": status, "phoneNumber": number, "networkCode": "63902", "retryCount": "0"}
    if reason:
        form["failureReason"] = reason
    return form


def chaos_forms(rng, messages, repeat_ratio=0.2):
    """Reports for ``messages`` (``[(AT id, number)]``): an intermediate and a final one each, ``repeat_ratio`` of
    them repeated, every one shuffled. Returns ``(forms, expected)`` with ``expected[id] = (state, status,
    failure reason)``."""
    forms, expected = [], {}
    for message_id, number in messages:
        status, reason = pick_fate(rng)
        forms.append(report_form(message_id, number, rng.choice(("Sent", "Submitted", "Buffered"))))
        forms.append(report_form(message_id, number, status, reason))
        if status == "Success":
            expected[message_id] = ("delivered", status, False)
        else:
            expected[message_id] = ("failed", status, reason or status)
    forms += [dict(form) for form in rng.sample(forms, round(repeat_ratio * len(forms)))]
    rng.shuffle(forms)
    return forms, expected


def enqueue_forms(env, account, forms):
    """What the webhook does for each report: parse (the real parser), then one INSERT into the report queue."""
    queue = env["africastalking.delivery.report"]
    for form in forms:
        queue._enqueue(account.id, parse_delivery_report(form))


def message_states(env, message_ids):
    env.flush_all()
    env.cr.execute("SELECT at_message_id, state, at_status, failure_reason FROM africastalking_message "
                   "WHERE at_message_id = ANY(%s)", (list(message_ids),))
    return {row[0]: tuple(row[1:]) for row in env.cr.fetchall()}


def apply_in_chunks(env, message_ids, chunk, on_chunk=None):
    """Apply the queued reports ``chunk`` at a time; after each chunk, no final state may have changed.
    Returns the list of regressions found."""
    regressions, seen_final = [], {}
    while env["africastalking.delivery.report"]._cron_apply(limit=chunk):
        if on_chunk:
            on_chunk()
        for message_id, state in message_states(env, message_ids).items():
            before = seen_final.get(message_id)
            if before and before != state:
                regressions.append("message %s went from %s to %s" % (message_id, before, state))
            if state[0] in ("delivered", "failed"):
                seen_final[message_id] = state
    return regressions


def check_report_states(env, expected):
    """Every message ends in the state of its final report, with its status and failure reason."""
    problems = []
    states = message_states(env, expected)
    for message_id, (state, status, reason) in expected.items():
        got = states.get(message_id)
        if got is None:
            problems.append("message %s has no row" % message_id)
            continue
        if got[:2] != (state, status) or (state == "failed" and got[2] != reason):
            problems.append("message %s: expected %s, got %s" % (message_id, (state, status, reason), got))
    return problems


def fresh_rng(seed=None):
    return random.Random(seed)



# ----------------------------------------------------------------------
# Real timing: reports racing the dispatcher, a dispatcher killed while reports arrive (issue #14)
# ----------------------------------------------------------------------
# These run on committed data with real cursors (one per thread), as the cron workers and the webhook do: the
# dispatcher commits its claim, AT's reports are posted to Odoo's real webhook while AT still answers, an applier
# thread applies them as the report cron does.

def superuser_env(cr):
    from odoo import SUPERUSER_ID, api

    return api.Environment(cr, SUPERUSER_ID, {})


def committed_inbound_account(env, name):
    """A committed AT account of the company (in Kenya) and the full URL of its inbound webhook on the test server:
    ``(account id, url)``, for tests that post inbound SMS from several threads at once. AT itself is never called
    (its URL answers nothing)."""
    from odoo.tools import config

    from .common import SIM_API_KEY, SIM_USERNAME

    env.company.country_id = env.ref("base.ke")
    account = env["africastalking.account"].create({
        "name": name, "environment": "custom", "api_url": "http://127.0.0.1:9",
        "username": SIM_USERNAME, "api_key": SIM_API_KEY, "company_id": env.company.id})
    url = "http://127.0.0.1:%s%s" % (config["http_port"], account._callback_path(
        "inbound", account._generate_callback_secret()))
    return account.id, url


class ReportApplier:
    """The delivery-report cron, running all along in its own thread (each run on a fresh cursor)."""

    def __init__(self, registry):
        import threading

        self.registry = registry
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="report-applier", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(60)

    def _run(self):
        while not self._stop.is_set():
            self.drain(linger=0.5)

    def drain(self, linger=0.0):
        try:
            with self.registry.cursor() as cr:
                # Committing per batch as the cron does outside tests, so that a batch meeting a concurrent update
                # is retried as the cron retries it (without, the first conflict raised: a flake under load)
                superuser_env(cr)["africastalking.delivery.report"]._cron_apply(linger=linger, auto_commit=True)
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            self.errors.append(repr(exc))


def run_in_thread(registry, function):
    """``function(env)`` in a thread with its own cursor (committed at the end, as a cron run); returns the
    thread and the list its exception lands in."""
    import threading

    errors = []

    def target():
        try:
            with registry.cursor() as cr:
                function(superuser_env(cr))
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            errors.append(repr(exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def finish(thread, timeout=600):
    """Wait for a thread of run_in_thread to end. A loaded machine may take minutes: a test that went on while it
    still ran would read a half-written state and blame the code."""
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError("the thread still runs after %d s" % timeout)


def killed_dispatch(env, sms_ids, reached):
    """A dispatcher that claims ``sms_ids`` (committed, as the queue does), hands the first ``reached`` of them to
    AT, then dies (SIGKILL) before writing any answer: its transaction is rolled back, its claim stays behind."""
    sms = env["sms.sms"].browse(sms_ids)
    claimed = sms._africastalking_claim()
    env.cr.commit()
    for account, group in claimed[:reached]._africastalking_group_by_account().items():
        group._africastalking_send_with(account)
    env.cr.rollback()


def wait_for_reports(simulator_control, timeout=60):
    """Until the simulator has no report left to post (every accepted message reported and acknowledged)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = simulator_control.state()
        if all(m["delivery_status"] in ("Success", "Failed", "Rejected", "AbsentSubscriber", "Expired")
               for m in state["messages"] if m["status_code"] in (100, 101, 102)):
            return state
        time.sleep(0.2)
    return simulator_control.state()


def pass_time(env, sms_ids, hours):
    """Time travel: the SMS were claimed ``hours`` earlier than stored (and their log rows sent then)."""
    env.cr.execute("UPDATE sms_sms SET at_claim_date = at_claim_date - make_interval(hours => %s) "
                   "WHERE id = ANY(%s) AND at_claim_date IS NOT NULL", (hours, list(sms_ids)))
    env.cr.execute("UPDATE africastalking_message SET send_date = send_date - make_interval(hours => %s) "
                   "WHERE sms_uuid IN (SELECT uuid FROM sms_sms WHERE id = ANY(%s))", (hours, list(sms_ids)))
    env.cr.commit()


def check_settled(env, sms_ids, simulator_state):
    """Every SMS AT accepted is settled from its reports, nothing is left processing, nothing was sent twice.

    Returns ``(problems, summary)``: for each accepted (number, text), the SMS has a log row with AT's id in the
    state of AT's final report; no SMS is 'process'; the simulator counted no duplicate.
    """
    env.invalidate_all()
    env.cr.execute("SELECT id, uuid, number, body, state FROM sms_sms WHERE id = ANY(%s)", (list(sms_ids),))
    sms_rows = env.cr.fetchall()
    by_key = {(number, body): (sms_id, uuid, state) for sms_id, uuid, number, body, state in sms_rows}
    env.cr.execute("SELECT at_message_id, sms_uuid, state FROM africastalking_message WHERE sms_uuid = ANY(%s) "
                   "AND at_message_id IS NOT NULL", ([row[1] for row in sms_rows],))
    logged = {at_id: (uuid, state) for at_id, uuid, state in env.cr.fetchall()}
    accepted = [m for m in simulator_state["messages"] if m["status_code"] in (100, 101, 102)]
    problems = []
    duplicates = simulator_state["stats"].get("duplicates", 0)
    if duplicates:
        problems.append("%d messages sent twice" % duplicates)
    settled = 0
    for message in accepted:
        sms = by_key.get((message["number"], message["text"]))
        if sms is None:
            continue
        expected = "delivered" if message["delivery_status"] == "Success" else "failed"
        got = logged.get(message["id"])
        if got is None or got[0] != sms[1]:
            problems.append("SMS to %s accepted by AT (%s) has no log row with its AT id" % (message["number"],
                                                                                            message["id"]))
        elif got[1] != expected:
            problems.append("SMS to %s is %s, AT reported %s" % (message["number"], got[1],
                                                                 message["delivery_status"]))
        else:
            settled += 1
    states = Counter(state for _id, _uuid, _number, _body, state in sms_rows)
    if states["process"]:
        problems.append("%d SMS left processing" % states["process"])
    env.cr.execute("SELECT count(*) FROM africastalking_delivery_report WHERE waiting")
    summary = {"sms": len(sms_rows), "accepted": len(accepted), "settled": settled, "duplicates": duplicates,
               "processing": states["process"], "unknown": states["unknown"], "error": states["error"],
               "waiting reports": env.cr.fetchone()[0]}
    return problems, summary


def retry_every_error(registry, sms_ids):
    """What a person does with the failed SMS: Retry all of them; then the queue runs (a cron worker)."""
    with registry.cursor() as cr:
        failed = superuser_env(cr)["sms.sms"].search([("id", "in", list(sms_ids)), ("state", "=", "error")])
        failed.resend_failed()
        failed_ids = failed.ids
    thread, errors = run_in_thread(registry, lambda env: env["sms.sms"]._process_queue(ids=failed_ids))
    thread.join(600)
    if errors:
        raise RuntimeError("the queue failed: %s" % errors)
    return len(failed_ids)
