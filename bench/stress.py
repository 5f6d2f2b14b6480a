#!/usr/bin/env python3
"""Stress the guarantees: gateway faults with the dispatcher killed and restarted, then delivery-report chaos.

`python3 bench/stress.py` (what `make stress` runs) on a fresh database (STRESS_DB, default
sms_africastalking_stress), the AT simulator in its own process:

1. Gateway faults: ``--sms`` queued SMS, each with its own number and text. A dispatcher (``sms.sms._process_queue``
   in a loop, in a child process) sends them while the simulator injects read timeouts, 5xx, connection resets and
   wrong-key answers before most batches; the parent kills the child with SIGKILL at random moments (``--kills``
   times) and starts a new one. At the end the claims the killed dispatchers left are recovered as the queue does
   after STALE_CLAIM_MINUTES (the clock is moved, not the production delay). Checked: the simulator accepted no
   (number, text) twice, every SMS is sent, failed (with a failure type) or of unknown outcome (with a reason), and
   AT's reports settle every message it accepted.
2. Delivery-report chaos: ``--reports`` SMS sent, one fifth of them reported before the dispatcher writes AT's
   answer; intermediate and final reports, 20 % repeated, all shuffled, queued and applied in bulk in four chunks,
   then replayed. Checked: every final state exact, none ever regressed.

3. Reports racing the dispatcher (issue #14): ``--race`` personalised SMS while AT answers slowly (latency 1.5 s)
   and posts every report at once, twice, final before intermediate, to Odoo's real webhook (an Odoo server in its
   own process); the report cron runs all along in a thread. The reports land while the dispatcher writes its batch.
4. A dispatcher killed (SIGKILL) while reports keep arriving: ``--race`` SMS, the dispatcher child killed once AT
   has accepted part of them, then restarted; the next queue run recovers the claim (its connection is gone), the 48
   hours are passed by moving the stored dates; then a person retries every error.
   Checked in 3 and 4: every SMS AT accepted is settled from its reports (AT id, final state), nothing is left
   processing, the simulator counted no duplicate, also after the retry of every error.

Prints a summary table; exits 1 when a guarantee is broken.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

import odoo_dev  # noqa: E402  (after the path set-up)
from run import free_port, wait_for_port  # noqa: E402

DATABASE = os.environ.get("STRESS_DB", "sms_africastalking_stress")
HANG_SECONDS = 1.5  # a 'timeout' fault holds the request this long; the account gives up after 1 s


def odoo_registry():
    import odoo
    from odoo.tools import config

    config.parse_config(["-d", DATABASE, "--addons-path", odoo_dev.addons_path(), *odoo_dev.db_args(),
                         "--log-level", "error"])
    odoo.service.server.load_server_wide_modules()
    return odoo.registry(DATABASE)


def environment(cr):
    from odoo import SUPERUSER_ID, api

    return api.Environment(cr, SUPERUSER_ID, {})


def chaos_module():
    from odoo.addons.sms_africastalking.tests import chaos

    return chaos


def create_database():
    odoo_dev.odoo_root()
    odoo_dev.check_postgres()
    odoo_dev.drop_database(DATABASE)
    print("Creating the stress database %s..." % DATABASE, flush=True)
    subprocess.run(odoo_dev.odoo_cmd(DATABASE, "-i", odoo_dev.MODULE, "--without-demo", "all", "--stop-after-init",
                                     "--log-level", "warn"), check=True, cwd=odoo_dev.BUILD)


# ----------------------------------------------------------------------
# The dispatcher child: dispatch the queue batch by batch, faults injected before each batch
# ----------------------------------------------------------------------

def child_dispatch(args):
    registry = odoo_registry()
    chaos = chaos_module()
    control = chaos.SimulatorControl(url="http://127.0.0.1:%d" % args.port)
    rng = random.Random(args.seed)
    with registry.cursor() as cr:
        env = environment(cr)
        while True:
            ids = env["sms.sms"].search([("state", "=", "outgoing"), ("to_delete", "!=", True)],
                                        order="id", limit=args.batch).ids
            cr.commit()
            if not ids:
                return 0
            if args.fault_ratio <= 0:
                env["sms.sms"]._process_queue(ids=ids)  # the queue as is: its own claim and commits
                cr.commit()
                continue
            chaos.dispatch_with_faults(env, ids, control, rng, batch_size=args.batch, fault_ratio=args.fault_ratio,
                                       commit=True)


# ----------------------------------------------------------------------
# Phase 1: gateway faults and kills
# ----------------------------------------------------------------------

def phase_faults(args, registry, port, rng):
    chaos = chaos_module()
    control = chaos.SimulatorControl(url="http://127.0.0.1:%d" % port)
    control.configure(hang_seconds=HANG_SECONDS, balance=100000000)
    with registry.cursor() as cr:
        env = environment(cr)
        env["africastalking.account"].search([]).active = False
        account = env["africastalking.account"].create({
            "name": "Stress", "environment": "custom", "api_url": "http://127.0.0.1:%d" % port,
            "username": "simulator", "api_key": "simulator-key", "timeout": 1, "concurrency": 16})
        sms_ids = chaos.queue_personal_sms(env, args.sms, 254740000000, "Stress").ids
        cr.commit()
        account_id = account.id

    started = time.perf_counter()
    kills = restarts = 0
    while True:
        child = subprocess.Popen([sys.executable, __file__, "--child-dispatch", "--port", str(port),
                                  "--seed", str(rng.randrange(1 << 30)), "--batch", str(args.batch),
                                  "--fault-ratio", str(args.fault_ratio)], cwd=ROOT)
        restarts += 1
        if kills < args.kills:
            try:
                child.wait(timeout=rng.uniform(3.0, 9.0))  # loading Odoo takes ~2 s: kill during dispatch
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
                child.wait()
                kills += 1
                continue
        if child.wait() != 0:
            raise SystemExit("the dispatcher failed (exit code %s)" % child.returncode)
        with registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM sms_sms WHERE state = 'outgoing' AND to_delete IS NOT TRUE")
            if not cr.fetchone()[0]:
                break
    dispatch_seconds = time.perf_counter() - started
    control.set_faults([])
    time.sleep(HANG_SECONDS + 0.5)  # a request held by a 'timeout before processing' fault lands late

    with registry.cursor() as cr:
        env = environment(cr)
        # What the queue does STALE_CLAIM_MINUTES after a dispatcher died: its claims become unknown outcomes.
        cr.execute("SELECT count(*) FROM sms_sms WHERE state = 'process'")
        interrupted = cr.fetchone()[0]
        cr.execute("UPDATE sms_sms SET at_claim_date = at_claim_date - interval '2 hours' WHERE state = 'process'")
        env["sms.sms"]._africastalking_recover_stale_claims()
        cr.commit()
        state = control.state()
        problems, summary = chaos.check_dispatch(env, sms_ids, state)
        accepted_before = state["stats"]["accepted"]
        env["sms.sms"]._process_queue()  # a last run of the queue resends nothing
        cr.commit()
        if control.state()["stats"]["accepted"] != accepted_before:
            problems.append("a last run of the queue sent again")
        settle_problems, settled = chaos.settle_with_reports(env, env["africastalking.account"].browse(account_id),
                                                             state, rng)
        cr.commit()
    summary.update(kills=kills, dispatchers=restarts, interrupted=interrupted, settled=settled,
                   seconds=dispatch_seconds)
    return problems + settle_problems, summary


# ----------------------------------------------------------------------
# Phase 2: delivery-report chaos
# ----------------------------------------------------------------------

def phase_reports(args, registry, port, rng):
    chaos = chaos_module()
    with registry.cursor() as cr:
        env = environment(cr)
        account = env["africastalking.account"].search([], limit=1)
        account.write({"timeout": 30, "concurrency": 16})
        sms = env["sms.sms"].create([{"number": "+%d" % (254750000000 + index), "body": "Fees are due on Friday."}
                                     for index in range(args.reports)])
        cr.commit()
        late = sms[: args.reports // 5]._africastalking_claim()  # commits the claim
        late_results = late._africastalking_send_with(account)
        while env["sms.sms"].search_count([("state", "=", "outgoing"), ("to_delete", "!=", True)]):
            env["sms.sms"]._process_queue()
        cr.commit()
        on_time = env["africastalking.message"].search_read([("sms_uuid", "in", (sms - late).mapped("uuid"))],
                                                           ["at_message_id", "number"])
        messages = [(m["at_message_id"], m["number"]) for m in on_time]
        messages += [(result.message_id, result.number) for result in late_results]
        forms, expected = chaos.chaos_forms(rng, messages, repeat_ratio=0.2)
        started = time.perf_counter()
        chaos.enqueue_forms(env, account, forms)
        cr.commit()
        written = []

        def write_late_answers():
            if not written:
                late._africastalking_apply_results(late_results)
                cr.commit()
                written.append(True)

        regressions = chaos.apply_in_chunks(env, expected, chunk=len(forms) // 4, on_chunk=write_late_answers)
        problems = regressions + chaos.check_report_states(env, expected)
        cr.execute("SELECT count(*) FROM africastalking_message WHERE at_message_id = ANY(%s)", (list(expected),))
        rows = cr.fetchone()[0]
        if rows != len(expected):
            problems.append("%d message rows for %d messages" % (rows, len(expected)))
        seconds = time.perf_counter() - started
        rng.shuffle(forms)
        chaos.enqueue_forms(env, account, forms)  # AT retries everything once more
        cr.commit()
        replay = chaos.apply_in_chunks(env, expected, chunk=len(forms))
        problems += replay + chaos.check_report_states(env, expected)
        cr.commit()
    states = {}
    for state, _status, _reason in expected.values():
        states[state] = states.get(state, 0) + 1
    return problems, {"messages": len(expected), "reports": len(forms), "late": len(late_results),
                      "repeated": len(forms) - 2 * len(expected), "delivered": states.get("delivered", 0),
                      "failed": states.get("failed", 0), "regressions": len(regressions) + len(replay),
                      "seconds": seconds}


# ----------------------------------------------------------------------
# Phases 3 and 4: real timing (reports racing the dispatcher, a dispatcher killed while reports arrive)
# ----------------------------------------------------------------------

def start_webhook_server(http_port):
    """Odoo itself, serving the delivery-report webhook (no cron: the applier runs in this process)."""
    server = subprocess.Popen(odoo_dev.odoo_cmd(DATABASE, "--http-port", str(http_port), "--max-cron-threads", "0",
                                                "--log-level", "warn"), cwd=odoo_dev.BUILD)
    wait_for_port(http_port, timeout=120)
    return server


def prepare_race(registry, control, port, http_port, count, first_number, latency):
    chaos = chaos_module()
    control._control("POST", "/__sim__/reset")
    control.configure(balance=100000000, auto_deliver=True, delivery_delay=0, latency=latency, report_repeats=2,
                      reorder_reports=True, failure_rate=0.2, faults=[])
    with registry.cursor() as cr:
        env = environment(cr)
        account = env["africastalking.account"].search([], limit=1)
        account.write({"timeout": 30, "concurrency": 16})
        control.configure(callback_urls={"delivery": "http://127.0.0.1:%d%s" % (
            http_port, account._callback_path("delivery", account._generate_callback_secret()))})
        sms_ids = chaos.queue_personal_sms(env, count, first_number, "Race").ids
        cr.commit()
    return sms_ids


def settle_and_check(registry, control, applier, sms_ids, label):
    chaos = chaos_module()
    state = chaos.wait_for_reports(control, timeout=300)
    applier.drain()
    applier.drain()
    with registry.cursor() as cr:
        problems, summary = chaos.check_settled(environment(cr), sms_ids, state)
    return ["%s: %s" % (label, problem) for problem in problems + applier.errors], summary


def phase_race(args, registry, port, http_port):
    chaos = chaos_module()
    control = chaos.SimulatorControl(url="http://127.0.0.1:%d" % port)
    sms_ids = prepare_race(registry, control, port, http_port, args.race, 254760000000, latency=1.5)
    started = time.perf_counter()
    with chaos.ReportApplier(registry) as applier:
        thread, errors = chaos.run_in_thread(registry, lambda env: env["sms.sms"]._process_queue(ids=sms_ids))
        thread.join(600)
        seconds = time.perf_counter() - started
        problems, summary = settle_and_check(registry, control, applier, sms_ids, "race")
        retried = chaos.retry_every_error(registry, sms_ids)
        retry_problems, after_retry = settle_and_check(registry, control, applier, sms_ids, "race, retry")
    summary.update(retried=retried, seconds=seconds, reports=control.state()["stats"]["reports_posted"],
                   duplicates_after_retry=after_retry["duplicates"])
    return errors + problems + retry_problems, summary


def phase_killed_while_reporting(args, registry, port, http_port, rng):
    chaos = chaos_module()
    control = chaos.SimulatorControl(url="http://127.0.0.1:%d" % port)
    sms_ids = prepare_race(registry, control, port, http_port, args.race, 254770000000, latency=0.3)
    problems = []
    with chaos.ReportApplier(registry) as applier:
        child_args = [sys.executable, __file__, "--child-dispatch", "--port", str(port), "--seed",
                      str(rng.randrange(1 << 30)), "--batch", str(max(50, args.race // 2)), "--fault-ratio", "0"]
        child = subprocess.Popen(child_args, cwd=ROOT)
        # Kill once AT has accepted part of the claimed batch (the reports keep arriving)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and control.state()["stats"]["accepted"] < args.race // 5:
            time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
        child.wait()
        reached_before_kill = control.state()["stats"]["accepted"]
        with registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM sms_sms WHERE id = ANY(%s) AND state = 'process'", (sms_ids,))
            interrupted = cr.fetchone()[0]
        child = subprocess.Popen(child_args, cwd=ROOT)  # restarted: sends what was never claimed
        if child.wait() != 0:
            problems.append("the restarted dispatcher failed (exit code %s)" % child.returncode)
        chaos.wait_for_reports(control, timeout=300)
        with registry.cursor() as cr:
            env = environment(cr)
            # The killed dispatcher's connection is gone: the restarted one (or this next queue run) knows its
            # claim was interrupted at once, without waiting the hour.
            env["sms.sms"]._process_queue()
            cr.commit()
            cr.execute("SELECT count(*) FROM sms_sms WHERE id = ANY(%s) AND state = 'process'", (sms_ids,))
            left_after_run = cr.fetchone()[0]
            if left_after_run:
                problems.append("%d claims of the killed dispatcher still processing after the next queue run"
                                % left_after_run)
        recovery_problems, after_recovery = settle_and_check(registry, control, applier, sms_ids, "recovery")
        with registry.cursor() as cr:
            env = environment(cr)
            chaos.pass_time(env, sms_ids, 49)  # 48 hours later: what never reached AT becomes resendable
            env["sms.sms"]._process_queue()
            cr.commit()
        retried = chaos.retry_every_error(registry, sms_ids)
        retry_problems, after_retry = settle_and_check(registry, control, applier, sms_ids, "kill, retry")
    summary = dict(after_recovery, interrupted=interrupted, reached_before_kill=reached_before_kill,
                   retried=retried, settled_after_retry=after_retry["settled"],
                   accepted_after_retry=after_retry["accepted"], duplicates_after_retry=after_retry["duplicates"],
                   processing_after_retry=after_retry["processing"])
    return problems + recovery_problems + retry_problems, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sms", type=int, default=4000, help="SMS dispatched under faults")
    parser.add_argument("--kills", type=int, default=10, help="times the dispatcher is killed (SIGKILL)")
    parser.add_argument("--reports", type=int, default=10000, help="messages of the delivery-report chaos")
    parser.add_argument("--batch", type=int, default=50, help="SMS per dispatch batch (faults injected per batch)")
    parser.add_argument("--fault-ratio", type=float, default=0.3, help="faults per SMS, on average")
    parser.add_argument("--race", type=int, default=600, help="SMS of the real-timing phases (3 and 4)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--keep-db", action="store_true", help="reuse the database instead of recreating it")
    parser.add_argument("--child-dispatch", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_dispatch:
        return child_dispatch(args)

    if not (args.keep_db and odoo_dev.database_exists(DATABASE)):
        create_database()
    rng = random.Random(args.seed)
    port = free_port()
    simulator = subprocess.Popen([sys.executable, "-m", "simulator.at_simulator", "--port", str(port),
                                  "--seed", str(args.seed)], cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        registry = odoo_registry()
        print("Phase 1: %d SMS under gateway faults, dispatcher killed %d times..." % (args.sms, args.kills),
              flush=True)
        fault_problems, faults = phase_faults(args, registry, port, rng)
        print("Phase 2: delivery-report chaos on %d messages..." % args.reports, flush=True)
        report_problems, reports = phase_reports(args, registry, port, rng)
        http_port = free_port()
        webhook = start_webhook_server(http_port)
        try:
            print("Phase 3: %d SMS, AT slow, reports at once during the write-back..." % args.race, flush=True)
            race_problems, race = phase_race(args, registry, port, http_port)
            print("Phase 4: %d SMS, dispatcher killed while reports arrive..." % args.race, flush=True)
            kill_problems, killed = phase_killed_while_reporting(args, registry, port, http_port, rng)
        finally:
            webhook.terminate()
            webhook.wait(30)
    finally:
        simulator.terminate()
        simulator.wait(10)
    print_summary(faults, reports)
    print_timing_summary(race, killed)
    problems = fault_problems + report_problems + race_problems + kill_problems
    for problem in problems[:30]:
        print("PROBLEM: " + problem)
    print(json.dumps({"faults": faults, "reports": reports, "race": race, "killed": killed,
                      "problems": len(problems)}))
    return 1 if problems else 0


def print_table(title, rows, values, seconds=None):
    """One Markdown table of the summary: ``rows`` are ``(label, key)``; ``seconds``: ``(label, value)``, last."""
    print("| %s | |" % title)
    print("|---|---:|")
    for label, key in rows:
        print("| %s | %s |" % (label, values[key]))
    if seconds:
        print("| %s (s) | %.1f |" % seconds)
    print()


def print_summary(faults, reports):
    print()
    print_table("gateway faults", (
        ("SMS queued", "sms"), ("faults injected (simulator counter)", "faults"),
        ("dispatchers killed (SIGKILL) / started", "kills_of_dispatchers"),
        ("claims still processing after the restarts (dead claims recovered at once)", "interrupted"),
        ("accepted by AT", "accepted"), ("sent twice (duplicates)", "duplicates"),
        ("sent", "sent"), ("failed (with failure type)", "failed"),
        ("unknown outcome (with reason)", "unknown"), ("left without a state", "stateless"),
        ("unknown outcomes settled by AT's reports", "settled"),
    ), dict(faults, kills_of_dispatchers="%d / %d" % (faults["kills"], faults["dispatchers"])),
        seconds=("dispatch time under faults", faults["seconds"]))
    print_table("delivery-report chaos", (
        ("messages", "messages"), ("reports queued (intermediate + final + repeats)", "reports"),
        ("repeated reports", "repeated"), ("reported before the send's answer was written", "late"),
        ("final: delivered", "delivered"), ("final: failed", "failed"), ("regressions", "regressions"),
    ), reports, seconds=("queue + apply time", reports["seconds"]))


def print_timing_summary(race, killed):
    print_table("reports racing the dispatcher (AT latency 1.5 s, reports at once, x2, reordered)", (
        ("SMS", "sms"), ("accepted by AT", "accepted"), ("reports posted", "reports"),
        ("settled from their reports", "settled"), ("left processing", "processing"),
        ("sent twice (duplicates)", "duplicates"), ("errors retried by a person", "retried"),
        ("duplicates after the retry", "duplicates_after_retry"),
    ), race, seconds=("dispatch time", race["seconds"]))
    print_table("dispatcher killed (SIGKILL) while reports arrive", (
        ("SMS", "sms"), ("accepted by AT before the kill", "reached_before_kill"),
        ("claims left by the killed dispatcher", "interrupted"),
        ("accepted by AT (after restart)", "accepted"),
        ("settled from their reports after the recovery (next queue run)", "settled"),
        ("unknown after recovery (never reached AT)", "unknown"),
        ("left processing", "processing"), ("errors retried after 48 h", "retried"),
        ("accepted after the retry", "accepted_after_retry"),
        ("settled after the retry", "settled_after_retry"),
        ("left processing after the retry", "processing_after_retry"),
        ("duplicates after the retry", "duplicates_after_retry"),
    ), killed)


if __name__ == "__main__":
    sys.exit(main())
