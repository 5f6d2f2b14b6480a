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

from ..tools.at_callbacks import parse_delivery_report
from ..tools.at_simulator import CONTROL_TOKEN_ENV, CONTROL_TOKEN_HEADER

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

