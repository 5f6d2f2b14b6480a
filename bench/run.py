#!/usr/bin/env python3
"""Benchmarks of the addon against stock Odoo 17 SMS Marketing, measured in one run on the same data.

`python3 bench/run.py --n 10000` (what `make bench` runs). Each scenario runs in its own process so that its peak
memory (RSS) is its own. Stock's path is stock Odoo's code (mass SMS composer, `sms.sms._send` of the `sms`
module) talking to a zero-latency fake of Odoo's IAP SMS endpoint; ours goes to the local AT simulator, run as a
separate process. Results go to stdout as a table; copy them into bench/RESULTS.md.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import odoo_dev  # noqa: E402  (after the path set-up)

DATABASE = os.environ.get("BENCH_DB", "sms_africastalking_bench")
TEMPLATE = DATABASE + "_template"
PERSONALISED = "Hello {{ object.name }}, exams start Monday."
BROADCAST = "Exams start on Monday at 08:00. Check the timetable on the portal."


# ----------------------------------------------------------------------
# Helpers shared by the scenario processes
# ----------------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def odoo_env():
    """An Odoo registry on the bench database, loaded as a library."""
    import odoo
    from odoo.tools import config

    config.parse_config(["-d", DATABASE, "--addons-path", odoo_dev.addons_path(), *odoo_dev.db_args(),
                         "--log-level", "warn"])
    odoo.service.server.load_server_wide_modules()
    return odoo.registry(DATABASE)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class FakeIapHandler(BaseHTTPRequestHandler):
    """Odoo's IAP SMS endpoint (`/api/sms/3/send`), answering 'success' for every number at once."""

    def do_POST(self):
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        results = [{"uuid": number["uuid"], "state": "success", "credit": 1}
                   for message in payload["params"]["messages"] for number in message["numbers"]]
        body = json.dumps({"jsonrpc": "2.0", "id": payload.get("id"), "result": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def create_mailing(env, count, body, first_number):
    """A list of ``count`` contacts with distinct Kenyan mobiles and an SMS mailing to it (committed)."""
    from odoo import Command

    # SMS left queued by an earlier scenario (prepare only) must not be dispatched by this one.
    env.cr.execute("DELETE FROM sms_sms WHERE state IN ('outgoing', 'process')")
    env["sms.sms"]._gc_device()  # sent SMS of earlier runs, as Odoo's daily autovacuum deletes them
    env.cr.execute("DELETE FROM africastalking_delivery_report")
    mailing_list = env["mailing.list"].create({"name": "Bench %d" % count})
    env.cr.execute(
        """
        WITH contacts AS (
            INSERT INTO mailing_contact (name, mobile, phone_sanitized, create_date, write_date)
            SELECT 'Student ' || n, '+' || (%(first)s + n), '+' || (%(first)s + n),
                   now() at time zone 'UTC', now() at time zone 'UTC'
              FROM generate_series(1, %(count)s) n
         RETURNING id)
        INSERT INTO mailing_subscription (contact_id, list_id, opt_out, create_date, write_date)
        SELECT id, %(list)s, false, now() at time zone 'UTC', now() at time zone 'UTC' FROM contacts
        """,
        {"first": first_number, "count": count, "list": mailing_list.id},
    )
    mailing = env["mailing.mailing"].create({
        "subject": "Bench", "mailing_type": "sms", "body_plaintext": body, "keep_archives": False,
        "mailing_model_id": env["ir.model"]._get_id("mailing.list"),
        "contact_list_ids": [Command.link(mailing_list.id)], "state": "sending",
    })
    env.cr.commit()
    return mailing


def outgoing_count(env, mailing):
    env.cr.execute("SELECT count(*) FROM sms_sms WHERE mailing_id = %s AND state = 'outgoing'", (mailing.id,))
    return env.cr.fetchone()[0]


# ----------------------------------------------------------------------
# Scenarios (each in its own process)
# ----------------------------------------------------------------------

def scenario_stock(count, body, dispatch, workers=1):
    """Stock: the mass SMS composer prepares, then stock `_send` batches of 500 to the (fake) IAP endpoint."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeIapHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    registry = odoo_env()
    from odoo import SUPERUSER_ID, api
    from odoo.addons.mass_mailing_sms.models.mailing_mailing import Mailing as StockMailing

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["ir.config_parameter"].set_param("sms.endpoint", "http://127.0.0.1:%d" % server.server_address[1])
        env["iap.account"].get("sms")  # stock creates it (and commits) on first use: not part of the timing
        mailing = create_mailing(env, count, body, 254700000000)
        result = timed_send(env, mailing, "stock", lambda: StockMailing.action_send_sms(mailing), dispatch, workers)
    server.shutdown()
    return {**result, "rss": peak_rss_mb()}


def timed_send(env, mailing, kind, prepare, dispatch, workers):
    """Time ``prepare()``, then the dispatch of ``mailing`` by ``kind`` ('stock' or 'ours'): in this process after
    preparation, by a second worker process during it (``workers=2``), or by two dispatcher processes started
    together once it is prepared (``workers="2 dispatchers"``)."""
    worker = DispatchWorker(kind, mailing.id) if workers == 2 else None
    dispatchers = ([DispatchWorker(kind, mailing.id, during_preparation=False) for _index in range(2)]
                   if workers == "2 dispatchers" else [])
    started = time.perf_counter()
    prepare()
    env.cr.commit()
    prepared = time.perf_counter()
    if worker:
        done = worker.finish()
    elif dispatchers:
        for dispatcher in dispatchers:
            dispatcher.signal()
        done = max(dispatcher.wait() for dispatcher in dispatchers)
    else:
        if dispatch:
            DISPATCHERS[kind](env, mailing.id)
        done = time.perf_counter()
    sent = env["sms.sms"].search_count([("mailing_id", "=", mailing.id), ("state", "=", "pending")])
    return {"prepare": prepared - started, "dispatch": done - prepared, "sent": sent}


def dispatch_stock(env, mailing_id):
    """Stock's SMS queue: batches of 500 through stock `_send`, a commit after each (sms.sms.send)."""
    from odoo.addons.sms.models.sms_sms import SmsSms as StockSms

    sms = env["sms.sms"]
    while True:
        ids = sms.search([("mailing_id", "=", mailing_id), ("state", "=", "outgoing")], limit=10000).ids
        if not ids:
            return
        for batch in odoo_tools_split(500, ids):
            StockSms._send(sms.browse(batch), unlink_failed=False, unlink_sent=True)
            env.cr.commit()


def dispatch_ours(env, mailing_id):
    """The addon's SMS queue cron (claims, sends concurrently, writes back in bulk) until nothing is queued."""
    while outgoing_count(env, env["mailing.mailing"].browse(mailing_id)):
        env["sms.sms"]._process_queue()
        env.cr.commit()


class DispatchWorker:
    """A second process running the SMS queue while this one prepares, as Odoo does with its two cron workers
    (the default ``--max-cron-threads 2``): the mass-mailing cron prepares, the SMS cron dispatches what each
    committed chunk queued. It stops once told that preparation ended and nothing is left to send."""

    def __init__(self, kind, mailing_id, during_preparation=True):
        command = [sys.executable, __file__, "--dispatch-worker", kind, "--mailing", str(mailing_id)]
        self.process = subprocess.Popen(command + ([] if during_preparation else ["--after-preparation"]),
                                        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the dispatch worker did not start")

    def finish(self):
        """Tell the worker that preparation ended; the ``perf_counter`` time at which it sent the last SMS."""
        self.signal()
        return self.wait()

    def signal(self):
        """Preparation ended (a worker started with ``during_preparation=False`` starts dispatching now)."""
        self.process.stdin.write("prepared\n")
        self.process.stdin.flush()

    def wait(self):
        out, _err = self.process.communicate(timeout=3600)
        if self.process.returncode:
            raise RuntimeError("the dispatch worker failed")
        done_wall = json.loads(out.strip().splitlines()[-1])["done"]
        return time.perf_counter() - (time.time() - done_wall)


DISPATCHERS = {"stock": dispatch_stock, "ours": dispatch_ours}


def run_dispatch_worker(kind, mailing_id, after_preparation):
    """The worker process of DispatchWorker: dispatch until preparation ended and the queue is empty."""
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    prepared = threading.Event()
    dispatch = DISPATCHERS[kind]
    print("ready", flush=True)
    if after_preparation:
        sys.stdin.readline()
        prepared.set()
    else:
        threading.Thread(target=lambda: (sys.stdin.readline(), prepared.set()), daemon=True).start()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        while True:
            finished_preparing = prepared.is_set()
            dispatch(env, mailing_id)
            cr.commit()  # a new snapshot: the next poll sees the chunks committed meanwhile
            if finished_preparing:
                break
            time.sleep(0.05)  # the cron would be triggered by the next chunk's commit
    print(json.dumps({"done": time.time()}), flush=True)


def scenario_ours(count, body, dispatch, latency=0.0, workers=1):
    """Ours: the addon's bulk preparation, then its queue dispatching to the AT simulator (its own process)."""
    from odoo import SUPERUSER_ID, api

    port = free_port()
    simulator = subprocess.Popen(
        [sys.executable, "-m", "tools.at_simulator", "--port", str(port), "--balance", "100000000"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        if latency:
            post_json("http://127.0.0.1:%d/__sim__/config" % port, {"latency": latency})
        registry = odoo_env()
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["africastalking.account"].search([]).active = False
            env["africastalking.account"].create({
                "name": "Bench", "environment": "custom", "api_url": "http://127.0.0.1:%d" % port,
                "username": "simulator", "api_key": "simulator-key",
                "company_id": env.company.id})
            mailing = create_mailing(env, count, body, 254710000000)
            result = timed_send(  # preparation as the mass-mailing cron runs it
                env, mailing, "ours",
                lambda: mailing.with_context(sms_africastalking_prepare_commit=True).action_send_sms(),
                dispatch, workers)
        stats = get_json("http://127.0.0.1:%d/__sim__/state?limit=0" % port)["stats"]
    finally:
        simulator.terminate()
        simulator.wait(10)
    return {**result, "rss": peak_rss_mb(), "received": stats["accepted"], "duplicates": stats["duplicates"]}


def contact_csv(count, first_number):
    """A CSV of ``count`` students (name, national mobile, class) plus one duplicate row, as schools export.

    Every scenario runs on a fresh database (run_scenario()): the numbers are new to it."""
    lines = ["Name,Mobile,Class"]
    lines += ["Student %d,0%d,Form %d" % (index, first_number + index, index % 4 + 1) for index in range(count)]
    lines.append("Duplicate,0%d,Form 1" % first_number)
    return ("\n".join(lines) + "\n").encode()


def scenario_ours_import(count):
    """Ours: the SMS contact import wizard, 100k-row CSV into a new list (normalise, dedup, tags, report)."""
    import base64

    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        mailing_list = env["mailing.list"].create({"name": "Import bench %d" % count})
        wizard = env["sms.contact.import"].create({
            "file": base64.b64encode(contact_csv(count, 720000000)), "filename": "students.csv",
            "list_ids": [(6, 0, mailing_list.ids)], "country_id": env.ref("base.ke").id})
        wizard._onchange_file()
        wizard.column_ids.filtered(lambda c: c.name == "Class").field = "tag"
        env.flush_all()
        cr.commit()
        queries = cr.sql_log_count
        started = time.perf_counter()
        wizard.action_import()
        cr.commit()
        elapsed = time.perf_counter() - started
        queries = cr.sql_log_count - queries
        result = {"seconds": elapsed, "queries": queries, "rows": wizard.row_count, "created": wizard.created_count,
                  "rejected": wizard.rejected_count, "in_list": mailing_list.contact_count, "rss": peak_rss_mb()}
    return result


def scenario_stock_import(count):
    """Stock: Odoo's import (base_import) of the same CSV into mailing contacts, from the list (default_list_ids)."""
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        mailing_list = env["mailing.list"].create({"name": "Stock import bench %d" % count})
        importer = env["base_import.import"].create({
            "res_model": "mailing.contact", "file": contact_csv(count, 720000000), "file_name": "students.csv",
            "file_type": "text/csv"})
        cr.commit()
        options = {"has_headers": True, "quoting": '"', "separator": ",", "encoding": "utf-8",
                   "name_create_enabled_fields": {"tag_ids": True}, "import_set_empty_fields": [],
                   "import_skip_records": [], "fallback_values": {}, "skip": 0, "limit": count + 10,
                   "advanced": False}
        started = time.perf_counter()
        result = importer.with_context(default_list_ids=mailing_list.ids).execute_import(
            ["name", "mobile", "tag_ids"], ["Name", "Mobile", "Class"], options)
        cr.commit()
        elapsed = time.perf_counter() - started
        errors = [message["message"] for message in result.get("messages", [])][:3]
        return {"seconds": elapsed, "created": len(result.get("ids") or []), "errors": errors,
                "in_list": mailing_list.contact_count, "rss": peak_rss_mb()}


def scenario_ours_estimate(count):
    """Ours: the exact cost estimate of a personalised mailing to ``count`` list contacts (segments, rates)."""
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        mailing = create_mailing(env, count, PERSONALISED, 254740000000)
        env.invalidate_all()
        queries = cr.sql_log_count
        started = time.perf_counter()
        estimate = mailing._get_sms_cost_estimate()
        elapsed = time.perf_counter() - started
        return {"seconds": elapsed, "queries": cr.sql_log_count - queries, "recipients": estimate["recipients"],
                "segments": estimate["segments"], "cost": estimate["cost"], "currency": estimate["currency"],
                "rss": peak_rss_mb()}


def sent_mailing_messages(env, count, port):
    """A broadcast of ``count`` SMS sent through the simulator: AT message ids to report on (committed)."""
    env["africastalking.account"].search([]).active = False
    account = env["africastalking.account"].create({
        "name": "Bench", "environment": "custom", "api_url": "http://127.0.0.1:%d" % port,
        "username": "simulator", "api_key": "simulator-key", "company_id": env.company.id})
    mailing = create_mailing(env, count, BROADCAST, 254730000000)
    mailing.with_context(sms_africastalking_prepare_commit=True).action_send_sms()  # as the cron
    while outgoing_count(env, mailing):
        env["sms.sms"]._process_queue()
    env.cr.commit()
    messages = env["africastalking.message"].search_read([("mailing_id", "=", mailing.id)],
                                                        ["at_message_id", "number"])
    return account, mailing, messages


def with_simulator(function):
    """Run ``function(port)`` with an AT simulator process beside it."""
    port = free_port()
    simulator = subprocess.Popen(
        [sys.executable, "-m", "tools.at_simulator", "--port", str(port), "--balance", "100000000"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        return function(port)
    finally:
        simulator.terminate()
        simulator.wait(10)


def scenario_reports_http(count):
    """One delivery report per HTTP request, as AT posts them, against a minimal one-UPDATE route; then the
    queued reports applied in bulk by the report cron's method."""
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()

    def run(port):
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            account, mailing, messages = sent_mailing_messages(env, count, port)
            path = account._callback_path("delivery")
            env.cr.commit()
        http_port = free_port()
        addons = odoo_dev.addons_path() + "," + str(ROOT / "bench" / "addons")
        server = subprocess.Popen(
            [sys.executable, "-m", "odoo", "-d", DATABASE, "--addons-path", addons, *odoo_dev.db_args(),
             "--http-port", str(http_port), "--workers", "0", "--max-cron-threads", "0", "--log-level", "warn"],
            cwd=odoo_dev.BUILD, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(http_port, timeout=60)
            base = "http://127.0.0.1:%d" % http_port
            forms = [{"id": m["at_message_id"], "status": "Success", "phoneNumber": m["number"],
                      "networkCode": "63902"} for m in messages]
            result = {}
            for threads in (1, 4):
                result["minimal_%d" % threads] = post_forms(base + "/sms_africastalking_bench/minimal",
                                                            [{}] * len(forms), threads)
                half = forms[:len(forms) // 2] if threads == 1 else forms[len(forms) // 2:]
                result["reports_%d" % threads] = post_forms(base + path, half, threads)
        finally:
            server.terminate()
            server.wait(20)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            started = time.perf_counter()
            result["applied"] = env["africastalking.delivery.report"]._cron_apply(linger=0)
            result["apply_per_second"] = result["applied"] / (time.perf_counter() - started)
            result["delivered"] = env["mailing.mailing"].browse(mailing.id).delivered
        return result

    return with_simulator(run)


def post_forms(url, forms, threads):
    """POST every form from ``threads`` keep-alive clients; requests per second and non-200 answers."""
    import requests

    failures = []
    chunks = [forms[index::threads] for index in range(threads)]

    def client(chunk):
        with requests.Session() as session:
            for form in chunk:
                response = session.post(url, data=form or {"x": "1"}, timeout=30)
                if response.status_code != 200:
                    failures.append(response.status_code)

    workers = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return {"requests": len(forms), "per_second": len(forms) / elapsed, "failures": len(failures)}


def odoo_tools_split(size, ids):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def wait_for_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the simulator did not start")


def get_json(url):
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def post_json(url, data):
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


SCENARIOS = {
    "stock-prepare": lambda n: scenario_stock(n, PERSONALISED, dispatch=False),
    "ours-prepare": lambda n: scenario_ours(n, PERSONALISED, dispatch=False),
    "stock-broadcast": lambda n: scenario_stock(n, BROADCAST, dispatch=True),
    "ours-broadcast": lambda n: scenario_ours(n, BROADCAST, dispatch=True),
    "stock-broadcast-2-workers": lambda n: scenario_stock(n, BROADCAST, dispatch=True, workers=2),
    "ours-broadcast-2-workers": lambda n: scenario_ours(n, BROADCAST, dispatch=True, workers=2),
    "ours-broadcast-2-dispatchers": lambda n: scenario_ours(n, BROADCAST, dispatch=True, workers="2 dispatchers"),
    "ours-personalised-100ms": lambda n: scenario_ours(n, PERSONALISED, dispatch=True, latency=0.1),
    "reports-http": scenario_reports_http,
    "stock-import": scenario_stock_import,
    "ours-import": scenario_ours_import,
    "ours-estimate": scenario_ours_estimate,
}


# ----------------------------------------------------------------------
# Orchestration
# ----------------------------------------------------------------------

def ensure_template():
    """The bench's template database: Odoo with the addon and the bench addon installed, no data.

    Every scenario then runs on a fresh copy of it (fresh_database()), so that stock and ours start from the same
    state and no run is slowed by the rows of the ones before.
    """
    odoo_dev.odoo_root()
    odoo_dev.check_postgres()
    addons = odoo_dev.addons_path() + "," + str(ROOT / "bench" / "addons")
    step = "-u" if odoo_dev.database_exists(TEMPLATE) else "-i"
    print("%s the bench template database %s..." % ("Updating" if step == "-u" else "Creating", TEMPLATE), flush=True)
    modules = ["-i", "sms_africastalking_bench"] + (["-u", odoo_dev.MODULE] if step == "-u" else [])
    cmd = [sys.executable, "-m", "odoo", "-d", TEMPLATE, "--addons-path", addons, *odoo_dev.db_args(),
           *modules, "--without-demo", "all", "--stop-after-init", "--log-level", "warn"]
    subprocess.run(cmd, check=True, cwd=odoo_dev.BUILD)


def fresh_database():
    """DATABASE as a new copy of the template (PostgreSQL copies its files: about a second)."""
    odoo_dev.drop_database(DATABASE)
    odoo_dev.create_database(DATABASE, template=TEMPLATE)


def run_scenario(name, count, required=True):
    fresh_database()
    env = dict(os.environ, ODOO_LIMIT_LITEVAL_BUFFER=str(50 * 1024 * 1024))  # lift stock's cap, as the baseline
    out = subprocess.run([sys.executable, __file__, "--scenario", name, "--n", str(count)], env=env, cwd=ROOT,
                         capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-3000:])
        if not required:
            return None
        raise SystemExit("scenario %s failed" % name)
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10000, help="recipients per mailing")
    parser.add_argument("--personalised-n", type=int, default=3000,
                        help="recipients of the personalised dispatch at 100 ms latency")
    parser.add_argument("--reports-n", type=int, default=2000, help="delivery reports posted over HTTP")
    parser.add_argument("--import-n", type=int, default=100000, help="rows of the contact import CSV")
    parser.add_argument("--estimate-n", type=int, default=100000,
                        help="recipients of the personalised mailing whose cost is estimated")
    parser.add_argument("--no-stock-import", action="store_true",
                        help="skip stock's base_import of the CSV (minutes at 100k rows)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--dispatch-worker", choices=("ours", "stock"), help=argparse.SUPPRESS)
    parser.add_argument("--mailing", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--after-preparation", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dispatch_worker:
        run_dispatch_worker(args.dispatch_worker, args.mailing, args.after_preparation)
        return
    if args.scenario:
        print(json.dumps(SCENARIOS[args.scenario](args.n)))
        return
    ensure_template()
    results = {}
    for name in ("stock-prepare", "ours-prepare", "stock-broadcast", "ours-broadcast", "stock-broadcast-2-workers",
                 "ours-broadcast-2-workers", "ours-broadcast-2-dispatchers"):
        print("running %s (N=%d)..." % (name, args.n), flush=True)
        results[name] = run_scenario(name, args.n)
    print("running ours-personalised-100ms (N=%d)..." % args.personalised_n, flush=True)
    results["ours-personalised-100ms"] = run_scenario("ours-personalised-100ms", args.personalised_n)
    print("running reports-http (N=%d)..." % args.reports_n, flush=True)
    results["reports-http"] = run_scenario("reports-http", args.reports_n)
    if not args.no_stock_import:
        print("running stock-import (N=%d)..." % args.import_n, flush=True)
        results["stock-import"] = run_scenario("stock-import", args.import_n, required=False)
    print("running ours-import (N=%d)..." % args.import_n, flush=True)
    results["ours-import"] = run_scenario("ours-import", args.import_n)
    print("running ours-estimate (N=%d)..." % args.estimate_n, flush=True)
    results["ours-estimate"] = run_scenario("ours-estimate", args.estimate_n)
    print_table(args, results)
    print_import_estimate_table(args, results)


def print_table(args, results):
    stock_p, ours_p = results["stock-prepare"], results["ours-prepare"]
    stock_b, ours_b = results["stock-broadcast"], results["ours-broadcast"]
    personal = results["ours-personalised-100ms"]
    stock_total = stock_b["prepare"] + stock_b["dispatch"]
    ours_total = ours_b["prepare"] + ours_b["dispatch"]
    print()
    print("| measure (N=%d) | stock | ours | ratio |" % args.n)
    print("|---|---:|---:|---:|")
    print("| prepare, personalised text (s) | %.2f | %.2f | %.1fx |"
          % (stock_p["prepare"], ours_p["prepare"], stock_p["prepare"] / ours_p["prepare"]))
    print("| peak RSS of prepare (MB) | %.0f | %.0f | %.1fx |"
          % (stock_p["rss"], ours_p["rss"], stock_p["rss"] / ours_p["rss"]))
    print("| broadcast, prepare + dispatch (s) | %.2f | %.2f | %.1fx |" % (stock_total, ours_total,
                                                                            stock_total / ours_total))
    print("| broadcast dispatch only (s) | %.2f | %.2f | %.1fx |"
          % (stock_b["dispatch"], ours_b["dispatch"], stock_b["dispatch"] / ours_b["dispatch"]))
    stock_w, ours_w = results["stock-broadcast-2-workers"], results["ours-broadcast-2-workers"]
    stock_w_total, ours_w_total = stock_w["prepare"] + stock_w["dispatch"], ours_w["prepare"] + ours_w["dispatch"]
    print("| broadcast, Send to last SMS with two cron workers (s) | %.2f | %.2f | %.1fx |"
          % (stock_w_total, ours_w_total, stock_w_total / ours_w_total))
    print("| peak RSS of broadcast (MB) | %.0f | %.0f | %.1fx |"
          % (stock_b["rss"], ours_b["rss"], stock_b["rss"] / ours_b["rss"]))
    print("| SMS sent (stock) / received by AT (ours), duplicates | %d | %d, %d dup |"
          % (stock_b["sent"], ours_b["received"], ours_b["duplicates"]))
    two = results["ours-broadcast-2-dispatchers"]
    print()
    print("Two dispatcher processes on the prepared broadcast (N=%d): %.2f s (one: %.2f s), %d received by AT, "
          "%d duplicates; two cron workers: %d received, %d duplicates"
          % (args.n, two["dispatch"], ours_b["dispatch"], two["received"], two["duplicates"], ours_w["received"],
             ours_w["duplicates"]))
    print()
    print("Personalised dispatch, AT answering after 100 ms, N=%d: %.0f SMS/s (%d received, %d duplicates)"
          % (args.personalised_n, args.personalised_n / personal["dispatch"], personal["received"],
             personal["duplicates"]))
    reports = results["reports-http"]
    print()
    print("| delivery reports, one per HTTP request (Odoo -d, --workers 0) | minimal one-UPDATE route | "
          "report route | ratio |")
    print("|---|---:|---:|---:|")
    for threads in (1, 4):
        minimal, ours = reports["minimal_%d" % threads], reports["reports_%d" % threads]
        print("| %d client thread(s), requests/s | %.0f | %.0f | %.0f %% |"
              % (threads, minimal["per_second"], ours["per_second"], 100 * ours["per_second"] / minimal["per_second"]))
    failures = sum(reports[key]["failures"] for key in reports if key.startswith(("minimal", "reports")))
    print("Queued reports applied in bulk: %d at %.0f reports/s; mailing delivered count %d; non-200 answers %d"
          % (reports["applied"], reports["apply_per_second"], reports["delivered"], failures))



def print_import_estimate_table(args, results):
    stock, ours, estimate = results.get("stock-import"), results["ours-import"], results["ours-estimate"]
    print()
    print("| measure | stock | ours | ratio |")
    print("|---|---:|---:|---:|")
    if stock:
        print("| import of a %d-row CSV into a list (s) | %.2f | %.2f | %.1fx |"
              % (args.import_n, stock["seconds"], ours["seconds"], stock["seconds"] / ours["seconds"]))
        print("| peak RSS of the import (MB) | %.0f | %.0f | %.1fx |"
              % (stock["rss"], ours["rss"], stock["rss"] / ours["rss"]))
    else:
        print("| import of a %d-row CSV into a list (s) | - | %.2f | |" % (args.import_n, ours["seconds"]))
    print("| personalised cost estimate, %d recipients (s) | - | %.2f | |" % (args.estimate_n, estimate["seconds"]))
    print()
    print("Import (ours): %d rows, %d contacts created, %d in the list, %d rejected, %d SQL queries (+ COPY); "
          "stock: %s" % (ours["rows"], ours["created"], ours["in_list"], ours["rejected"], ours["queries"],
                         "%d contacts created, %d in the list, errors %s" % (
                             stock["created"], stock["in_list"], stock["errors"]) if stock else "not run"))
    print("Estimate (ours): %d recipients, %d segments, cost %s %s, %d SQL queries"
          % (estimate["recipients"], estimate["segments"], estimate["currency"], estimate["cost"],
             estimate["queries"]))


if __name__ == "__main__":
    main()
