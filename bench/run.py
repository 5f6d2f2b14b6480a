#!/usr/bin/env python3
"""Benchmarks of the addon against stock Odoo 17 SMS Marketing, measured in one run on the same data.

`python3 bench/run.py --n 10000 --realistic` (`make bench` runs `--n 10000`). Stock is measured on a template
database where the addon is NOT installed (`mass_mailing_sms` and what it needs), ours on a template with the addon
(and the bench helper addon, whose minimal route is the yardstick of the delivery-report route). Every scenario runs
in its own process on a fresh copy of its template, ``--repeat`` times (3 by default), stock and ours interleaved
(stock first in odd rounds, ours first in even ones). Stock talks to a zero-latency fake of Odoo's IAP SMS
endpoint, ours to the AT simulator; each in its own process.

Every run writes its raw samples, the commit, the machine and the arguments to ``bench/results/<time>-<commit>.json``
(``--out``); ``python3 bench/report.py <that file> > bench/RESULTS.md`` makes the tables, medians and goals.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import secrets
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

import odoo_dev  # noqa: E402  (after the path set-up)

DATABASE = os.environ.get("BENCH_DB", "sms_africastalking_bench")
TEMPLATES = {"ours": DATABASE + "_template", "stock": DATABASE + "_stock_template"}
BENCH_ADDONS = ROOT / "bench" / "addons"
RESULTS_DIR = ROOT / "bench" / "results"
# The simulators this script starts inherit this control-API token (simulator.at_simulator.CONTROL_TOKEN_ENV).
SIMULATOR_TOKEN_ENV = "AT_SIMULATOR_CONTROL_TOKEN"
os.environ.setdefault(SIMULATOR_TOKEN_ENV, secrets.token_urlsafe(24))
PERSONALISED = "Hello {{ object.name }}, exams start Monday."
BROADCAST = "Exams start on Monday at 08:00. Check the timetable on the portal."
LINK = " Timetable: https://school.example.com/exams/timetable"
MAX_WAIT = 3600  # seconds a scenario may take before it counts as failed
# From this many recipients the threaded broadcast also runs without Odoo's time limit, for both sides: stock's
# preparation then takes longer than its cron thread may run (limit_time_real, 120 s)
UNLIMITED_FROM_N = 50000


# ----------------------------------------------------------------------
# Helpers shared by the scenario processes
# ----------------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def addons_path():
    return odoo_dev.addons_path() + "," + str(BENCH_ADDONS)


def odoo_env():
    """An Odoo registry on the bench database, loaded as a library."""
    import odoo
    from odoo.tools import config

    config.parse_config(["-d", DATABASE, "--addons-path", addons_path(), *odoo_dev.db_args(), "--log-level", "warn"])
    odoo.service.server.load_server_wide_modules()
    return odoo.registry(DATABASE)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def process_cpu_seconds(pid):
    """The CPU time (user + system) a running process used so far, in seconds."""
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends_cpu_seconds(conn):
    """The CPU time the PostgreSQL backends connected to the database (but ``conn``'s own) used so far, in seconds:
    the server's pooled connections stay open to its end. None when they cannot be read (another machine)."""
    with conn.cursor() as cr:
        cr.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid != pg_backend_pid()")
        pids = [row[0] for row in cr.fetchall()]
    try:
        return sum(process_cpu_seconds(pid) for pid in pids)
    except OSError:
        return None


def process_peak_rss_mb(pid):
    """Peak RSS of another (live) process, from /proc (Linux)."""
    try:
        for line in Path("/proc/%d/status" % pid).read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class FakeIapHandler(BaseHTTPRequestHandler):
    """Odoo's IAP SMS endpoint (`/api/sms/3/send`), answering 'success' for every number at once."""

    def do_POST(self):
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        results = [{"uuid": number["uuid"], "state": "success", "credit": 1}
                   for message in payload["params"]["messages"] for number in message["numbers"]]
        with self.server.lock:
            self.server.received += len(results)
            self.server.requests += 1
        body = json.dumps({"jsonrpc": "2.0", "id": payload.get("id"), "result": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        body = json.dumps({"received": self.server.received, "requests": self.server.requests}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def run_fake_iap(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), FakeIapHandler)
    server.lock = threading.Lock()
    server.received = server.requests = 0
    server.serve_forever()


class StockGateway:
    """Stock's side: the fake IAP endpoint, in its own process as the AT simulator is for ours, set as
    `sms.endpoint`."""

    kind = "stock"

    def __enter__(self):
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, __file__, "--fake-iap", str(self.port)], cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def configure(self, env):
        env["ir.config_parameter"].set_param("sms.endpoint", "http://127.0.0.1:%d" % self.port)
        env["iap.account"].get("sms")  # stock creates it (and commits) on first use: not part of the timing

    def stats(self):
        state = get_json("http://127.0.0.1:%d/" % self.port)
        return {"received": state["received"], "requests": state["requests"], "duplicates": None}

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)


class OursGateway:
    """Ours: the AT simulator in its own process, and an AT account of the company pointing at it."""

    kind = "ours"

    def __init__(self, latency=0.0):
        self.latency = latency

    def __enter__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulator.at_simulator", "--port", str(self.port), "--balance", "100000000",
             "--log-level", "WARNING"],  # its output is discarded: no log line per request
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        if self.latency:
            post_json("http://127.0.0.1:%d/__sim__/config" % self.port, {"latency": self.latency})
        return self

    def configure(self, env):
        env["africastalking.account"].search([]).active = False
        return env["africastalking.account"].create({
            "name": "Bench", "environment": "custom", "api_url": "http://127.0.0.1:%d" % self.port,
            "username": "simulator", "api_key": "simulator-key", "company_id": env.company.id})

    def stats(self):
        stats = get_json("http://127.0.0.1:%d/__sim__/state?limit=0" % self.port)["stats"]
        return {"received": stats["accepted"], "requests": stats["send_requests"], "duplicates": stats["duplicates"]}

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)


def gateway(kind, latency=0.0):
    return StockGateway() if kind == "stock" else OursGateway(latency)


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------

# Realistic numbers: (country, how the i-th number is written). Several countries, E.164, national, spaced, 00.
NUMBER_FORMATS = (
    ("KE", lambda k: "+2547%08d" % k),
    ("KE", lambda k: "+2547%08d" % k),
    ("KE", lambda k: "+2547%08d" % k),
    ("KE", lambda k: "+2547%08d" % k),
    ("KE", lambda k: "07{0[0]}{0[1]} {0[2]}{0[3]}{0[4]} {0[5]}{0[6]}{0[7]}".format("2%07d" % k)),
    ("KE", lambda k: "07{0[0]}{0[1]}{0[2]}{0[3]}{0[4]}{0[5]}{0[6]}{0[7]}".format("2%07d" % k)),
    ("UG", lambda k: "+256 77{0[0]} {0[1]}{0[2]}{0[3]} {0[4]}{0[5]}{0[6]}".format("%07d" % k)),
    ("TZ", lambda k: "+255 75{0[0]} {0[1]}{0[2]}{0[3]} {0[4]}{0[5]}{0[6]}".format("%07d" % k)),
    ("NG", lambda k: "0803 {0[0]}{0[1]}{0[2]} {0[3]}{0[4]}{0[5]}{0[6]}".format("%07d" % k)),
    ("RW", lambda k: "00250 78{0[0]} {0[1]}{0[2]}{0[3]} {0[4]}{0[5]}{0[6]}".format("%07d" % k)),
)
# Per 100 contacts of a realistic list: which are blacklisted, opted out, a duplicate number, an invalid number.
REALISTIC_SHARES = {"blacklisted": range(88, 93), "opted_out": range(93, 96), "duplicate": range(96, 98),
                    "invalid": range(98, 100)}


def realistic_rows(count, first):
    """``count`` contacts as (name, written number, country code, role); numbers start at ``first``."""
    rows = []
    for index in range(count):
        share = index % 100
        role = next((name for name, shares in REALISTIC_SHARES.items() if share in shares), "normal")
        country, write = NUMBER_FORMATS[index % len(NUMBER_FORMATS)]
        if role == "duplicate":
            _name, number, country, _role = rows[index - share + 12]  # a contact's number of this hundred, again
        elif role == "invalid":
            number = "+2547%d" % (index % 1000)  # too short for a Kenyan mobile
        else:
            number = write(first + index)
        rows.append(("Student %d" % index, number, country, role))
    return rows


def create_mailing(env, count, body, first_number, realistic=False):
    """A list of ``count`` contacts and an SMS mailing to it (committed).

    Plain: distinct Kenyan mobiles in E.164, nobody excluded. Realistic: 5 % blacklisted, 3 % opted out, 2 % a
    number already in the list, 2 % invalid, numbers of five countries written in several formats; the text carries
    a tracked link and the opt-out link, and the mailing keeps its archives.
    """
    from odoo import Command

    mailing_list = env["mailing.list"].create({"name": "Bench %d" % count})
    if realistic:
        stats = insert_realistic_contacts(env, mailing_list, count, first_number)
        body += LINK
        if "sms_fallback_rate" in env.company._fields:
            # Ours refuses a send it cannot price (the SMS ledger's gate): the other countries of the list get the
            # company's fallback rate, as its administrator would set it (Settings › SMS).
            env.company.sms_fallback_rate = 1.5
    else:
        stats = {}
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
        "subject": "Bench", "mailing_type": "sms", "body_plaintext": body, "keep_archives": realistic,
        "sms_allow_unsubscribe": realistic,
        "mailing_model_id": env["ir.model"]._get_id("mailing.list"),
        "contact_list_ids": [Command.link(mailing_list.id)],
    })
    env.cr.commit()
    return mailing, stats


def insert_realistic_contacts(env, mailing_list, count, first_number):
    """The realistic list, by SQL; the sanitized number computed as Odoo's phone mixin computes it."""
    rows = realistic_rows(count, first_number % 10000000)
    countries = {code: env.ref("base.%s" % code.lower()) for code in {row[2] for row in rows}}
    contacts = env["mailing.contact"]
    sanitized = [contacts._phone_format_number(number, countries[country], force_format="E164") or None
                 for _name, number, country, _role in rows]
    env.cr.execute(
        """
        WITH data AS (
            SELECT * FROM unnest(%(names)s::varchar[], %(numbers)s::varchar[], %(sanitized)s::varchar[],
                                 %(countries)s::int[], %(opt_out)s::bool[])
                       AS d(name, mobile, sanitized, country_id, opt_out)),
        contacts AS (
            INSERT INTO mailing_contact (name, mobile, phone_sanitized, country_id, create_date, write_date)
            SELECT name, mobile, sanitized, country_id, now() at time zone 'UTC', now() at time zone 'UTC'
              FROM data
         RETURNING id, name)
        INSERT INTO mailing_subscription (contact_id, list_id, opt_out, create_date, write_date)
        SELECT contacts.id, %(list)s, data.opt_out, now() at time zone 'UTC', now() at time zone 'UTC'
          FROM contacts JOIN data ON data.name = contacts.name
        """,
        {"names": [row[0] for row in rows], "numbers": [row[1] for row in rows], "sanitized": sanitized,
         "countries": [countries[row[2]].id for row in rows], "opt_out": [row[3] == "opted_out" for row in rows],
         "list": mailing_list.id},
    )
    blacklisted = [number for number, row in zip(sanitized, rows, strict=True) if row[3] == "blacklisted"]
    env["phone.blacklist"].create([{"number": number} for number in blacklisted])
    env.flush_all()
    roles = [row[3] for row in rows]
    return {role: roles.count(role) for role in set(roles)} | {
        "invalid_sanitized": sum(1 for number in sanitized if not number),
        "distinct_valid": len({number for number in sanitized if number}),
        "countries": sorted(countries)}


def sms_counts(env, mailing_id):
    env.cr.execute("SELECT state, count(*) FROM sms_sms WHERE mailing_id = %s GROUP BY state", (mailing_id,))
    return dict(env.cr.fetchall())


def trace_counts(env, mailing_id):
    env.cr.execute("SELECT trace_status, count(*) FROM mailing_trace WHERE mass_mailing_id = %s GROUP BY 1",
                   (mailing_id,))
    return dict(env.cr.fetchall())


def left_to_claim(env, mailing_id):
    """The mailing's SMS still queued. Not those another dispatcher holds ('process'): a dispatcher that looked for
    them would spin through the queue, taking CPU from the one sending them, where the cron's run would end."""
    env.cr.execute("SELECT count(*) FROM sms_sms WHERE mailing_id = %s AND state = 'outgoing'", (mailing_id,))
    return env.cr.fetchone()[0]


# ----------------------------------------------------------------------
# Mailing scenarios (each in its own process, on a fresh database)
# ----------------------------------------------------------------------

def scenario_mailing(kind, count, body, dispatch, workers=1, latency=0.0, realistic=False):
    """Prepare a mailing as the mass-mailing cron does, then dispatch it: in this process after preparation
    (``workers=1``), by a second process polling during it as a second cron worker of a prefork server does
    (``workers=2``), or by two dispatcher processes started together once it is prepared (``"2 dispatchers"``)."""
    from odoo import SUPERUSER_ID, api

    with gateway(kind, latency) as sms_gateway:
        registry = odoo_env()
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            sms_gateway.configure(env)
            mailing, data = create_mailing(env, count, body, 254710000000, realistic)
            mailing.state = "sending"
            env.cr.commit()
            # What the mass-mailing cron calls (ours adds its commit-per-chunk context to the cron's call)
            prepare = (mailing.action_send_sms if kind == "stock" else
                       mailing.with_context(sms_africastalking_prepare_commit=True).action_send_sms)
            result = timed_send(env, mailing, kind, prepare, dispatch, workers)
            result.update(sms=sms_counts(env, mailing.id), traces=trace_counts(env, mailing.id), data=data)
        result.update(sms_gateway.stats())
    return {**result, "rss": peak_rss_mb()}


def timed_send(env, mailing, kind, prepare, dispatch, workers):
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
            run_queue(env, mailing.id)
        done = time.perf_counter()
    return {"prepare": prepared - started, "dispatch": done - prepared, "total": done - started}


def run_queue(env, mailing_id):
    """The SMS queue cron's method (`sms.sms._process_queue`, stock's or ours) until nothing is left to claim (two
    dispatchers: the scenario ends when both have ended)."""
    while left_to_claim(env, mailing_id):
        env["sms.sms"]._process_queue()
        env.cr.commit()


class DispatchWorker:
    """A second process running the SMS queue while this one prepares (or once told it is prepared)."""

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
        self.process.stdin.write("prepared\n")
        self.process.stdin.flush()

    def wait(self):
        out, _err = self.process.communicate(timeout=MAX_WAIT)
        if self.process.returncode:
            raise RuntimeError("the dispatch worker failed")
        done_wall = json.loads(out.strip().splitlines()[-1])["done"]
        return time.perf_counter() - (time.time() - done_wall)


def run_dispatch_worker(mailing_id, after_preparation):
    """The worker process of DispatchWorker: dispatch until preparation ended and the queue is empty."""
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    prepared = threading.Event()
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
            run_queue(env, mailing_id)
            cr.commit()  # a new snapshot: the next poll sees the chunks committed meanwhile
            if finished_preparing:
                break
            time.sleep(0.05)  # the cron would be triggered by the next chunk's commit
    print(json.dumps({"done": time.time()}), flush=True)


def scenario_threaded(kind, count, body, realistic=False, time_limits=True):
    """Send on Odoo's default server: one process, threaded (``--workers 0``), two cron threads.

    Timed from the Send button (`action_put_in_queue`, committed, as the user's request does) until the last SMS
    left: the mass-mailing cron prepares, the SMS queue cron dispatches, both in the server. Stock's mailing does not
    wake its SMS queue cron (hourly): the bench triggers it as soon as the mailing is done, and again while SMS are
    left (stock sends 10,000 per run) — in stock's favour. Every other cron is pushed back a day, for both.
    "prepare" ends when the mass-mailing cron job ends (it deletes its trigger then).

    ``time_limits``: Odoo's default limits (``limit_time_real`` 120 s, which the threaded server applies to its cron
    threads by restarting the whole process). A side whose cron thread passes it ends the sample with
    ``unfinished`` (the restart rolls its job back, and the next run starts it again: it would never end). Without,
    the server runs with ``--limit-time-real 0``, for both sides.
    """
    import psycopg2

    from odoo import SUPERUSER_ID, api

    with gateway(kind) as sms_gateway:
        registry = odoo_env()
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            sms_gateway.configure(env)
            mailing, data = create_mailing(env, count, body, 254710000000, realistic)
            cr.execute("UPDATE ir_cron SET nextcall = now() at time zone 'UTC' + interval '1 day'")
            sms_cron = env.ref("sms.ir_cron_sms_scheduler_action").id
            mass_cron = env.ref("mass_mailing.ir_cron_mass_mailing_queue").id
            cr.commit()
        server = OdooServer(kind, workers=0, cron_threads=2,
                            extra=() if time_limits else ("--limit-time-real", "0"))
        try:
            server.wait_ready()
            time.sleep(1)  # the cron threads LISTEN once the registry is loaded
            poll = psycopg2.connect(**pg_params(DATABASE))
            poll.autocommit = True
            notify = psycopg2.connect(**pg_params("postgres"))
            notify.autocommit = True
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                started = time.perf_counter()
                env["mailing.mailing"].browse(mailing.id).action_put_in_queue()
                cr.commit()
            watch = _ThreadedRunWatch(kind, server, poll, notify, mailing.id, (mass_cron, sms_cron), started)
            prepared, done, unfinished, elapsed = watch.run()
            server_rss = process_peak_rss_mb(server.process.pid)
            server_cpu = process_cpu_seconds(server.process.pid)
            database_cpu = backends_cpu_seconds(poll)
            gateway_cpu = process_cpu_seconds(sms_gateway.process.pid)
            poll.close()
            notify.close()
        finally:
            server.stop()
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            result = {"prepare": prepared, "total": done, "dispatch": done - prepared if done else None,
                      "server_rss": server_rss, "server_cpu": server_cpu, "database_cpu": database_cpu,
                      "gateway_cpu": gateway_cpu, "time_limits": time_limits,
                      "sms": sms_counts(env, mailing.id), "traces": trace_counts(env, mailing.id), "data": data}
            if watch.timeline:
                result["timeline"] = watch.timeline
            if unfinished:
                result.update(unfinished=unfinished, unfinished_after=elapsed)
        result.update(sms_gateway.stats())
    return result


class _ThreadedRunWatch:
    """Polls the database every 20 ms while the threaded server sends a mailing (scenario_threaded)."""

    def __init__(self, kind, server, poll, notify, mailing_id, crons, started):
        self.kind, self.server, self.poll, self.notify = kind, server, poll, notify
        self.mailing_id, (self.mass_cron, self.sms_cron), self.started = mailing_id, crons, started
        # With BENCH_TIMELINE: (seconds since Send, SMS prepared, SMS left to send) every 2 s
        self.timeline = []

    def run(self):
        """``(prepare seconds, total seconds, unfinished, seconds elapsed)``."""
        prepared = done = unfinished = None
        renotify, checked_log, sampled = 1, 0, 0.0
        left_ids = None  # the mailing's SMS not sent yet, once it is prepared
        with self.poll.cursor() as pcr:
            pcr.execute("SET max_parallel_workers_per_gather = 0")  # the poll takes one core at most
        while not done:
            time.sleep(0.02)
            elapsed = time.perf_counter() - self.started
            if elapsed > MAX_WAIT:
                raise RuntimeError("the threaded server did not send the mailing")
            if elapsed > checked_log + 1:  # once a second
                checked_log = elapsed
                unfinished = self.server.time_limit_reached()
                if unfinished:
                    break
            with self.poll.cursor() as pcr:
                state, mass_pending, sms_pending = self._states(pcr)
                if os.environ.get("BENCH_TIMELINE") and elapsed >= sampled + 2:
                    sampled = elapsed
                    self._sample(pcr, elapsed)
                if state == "draft":
                    raise RuntimeError("the mailing was put back to draft (blocked)")
                if state == "in_queue":
                    if elapsed > renotify:  # in case the first NOTIFY came before the cron threads LISTEN
                        renotify = elapsed + 1
                        self._notify()
                    continue
                # The mass-mailing cron job deletes its trigger when it ends (stock leaves the mailing in 'sending'
                # until its next daily run finds nobody left)
                if prepared is None and not mass_pending:
                    prepared = elapsed
                if prepared is None:
                    continue
                left_ids = self._left_to_send(pcr, left_ids, sms_pending)
                if not left_ids:
                    done = elapsed
        return prepared, done, unfinished, elapsed

    def _left_to_send(self, pcr, left_ids, sms_pending):
        """Once prepared: the SMS left to send (sms_left_to_send); stock's queue cron is woken while some are."""
        left_ids = sms_left_to_send(pcr, self.mailing_id, left_ids)
        if left_ids and self.kind == "stock" and not sms_pending:
            pcr.execute("INSERT INTO ir_cron_trigger (cron_id, call_at) VALUES (%s, now() at time zone 'UTC')",
                        (self.sms_cron,))
            self._notify()
        return left_ids

    def _states(self, pcr):
        """``(mailing state, mass-mailing cron triggered, SMS queue cron triggered)``"""
        pcr.execute(
            """SELECT state,
                      EXISTS(SELECT 1 FROM ir_cron_trigger WHERE cron_id = %(mass)s),
                      EXISTS(SELECT 1 FROM ir_cron_trigger WHERE cron_id = %(sms)s)
                 FROM mailing_mailing WHERE id = %(mailing)s""",
            {"mass": self.mass_cron, "sms": self.sms_cron, "mailing": self.mailing_id})
        return pcr.fetchone()

    def _sample(self, pcr, elapsed):
        pcr.execute("SELECT count(*), count(*) FILTER (WHERE state IN ('outgoing', 'process')) "
                    "FROM sms_sms WHERE mailing_id = %s", (self.mailing_id,))
        self.timeline.append((round(elapsed, 2), *pcr.fetchone()))

    def _notify(self):
        with self.notify.cursor() as ncr:
            ncr.execute("SELECT pg_notify('cron_trigger', %s)", (DATABASE,))


def sms_left_to_send(pcr, mailing_id, left_ids=None):
    """The ids of the mailing's SMS still to send (outgoing or claimed). The first call (``left_ids`` None) scans
    the table; later ones look up by primary key only the SMS left at the previous call: polled every 20 ms, a count
    over the mailing's 100,000 SMS (sent ones stay until the daily garbage collection) would keep a core of the
    machine busy, taken from the side measured."""
    if left_ids is None:
        pcr.execute("SELECT id FROM sms_sms WHERE mailing_id = %s AND state IN ('outgoing', 'process')",
                    (mailing_id,))
    else:
        pcr.execute("SELECT id FROM sms_sms WHERE id = ANY(%s) AND state IN ('outgoing', 'process')", (left_ids,))
    return [row[0] for row in pcr.fetchall()]


def pg_params(dbname):
    return {"dbname": dbname, "host": os.environ.get("PGHOST", "127.0.0.1"),
            "port": os.environ.get("PGPORT", "5432"), "user": os.environ.get("PGUSER") or None}


def server_log_handlers():
    """``--log-handler`` options from BENCH_SERVER_LOG (comma-separated ``logger:LEVEL``), e.g.
    ``odoo.addons.sms_africastalking:DEBUG`` for a timeline of the preparation's chunks and the dispatch's batches
    in .build/bench-server-<kind>.log."""
    return [option for handler in filter(None, os.environ.get("BENCH_SERVER_LOG", "").split(","))
            for option in ("--log-handler", handler)]


class OdooServer:
    """`odoo -d DATABASE` as a server process (its log in .build/bench-server-<kind>.log)."""

    def __init__(self, kind, workers=0, cron_threads=0, extra=()):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        odoo_dev.BUILD.mkdir(exist_ok=True)
        self.log = open(odoo_dev.BUILD / ("bench-server-%s.log" % kind), "ab")  # noqa: SIM115  (closed in stop)
        self.log_start = self.log.tell()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "odoo", "-d", DATABASE, "--addons-path", addons_path(), *odoo_dev.db_args(),
             "--http-port", str(self.port), "--workers", str(workers), "--max-cron-threads", str(cron_threads),
             "--log-level", "warn", *server_log_handlers(), *extra],
            cwd=odoo_dev.BUILD, stdout=self.log, stderr=self.log)

    def time_limit_reached(self):
        """What the server logged when a thread passed its time limit or the process its memory limit (Odoo then
        restarts the threaded server, rolling the thread's transaction back), or None."""
        self.log.flush()
        with open(self.log.name, "rb") as log:
            log.seek(self.log_start)
            for line in log:
                if b"limit" in line and b"reached" in line:
                    return line.decode(errors="replace").strip()[-300:]
        return None

    def wait_ready(self, timeout=180):
        """Until the registry is loaded: the port opens before it, and the first request waits for it."""
        import requests

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the Odoo server stopped (see %s)" % self.log.name)
            try:
                if requests.get(self.base + "/web/login", timeout=60).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("the Odoo server did not answer")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


# ----------------------------------------------------------------------
# Import and estimate
# ----------------------------------------------------------------------

def contact_csv(count, first_number, realistic=False):
    """A CSV of ``count`` students (name, mobile, class) plus one duplicate row, as schools export.

    Plain: Kenyan national numbers. Realistic: the numbers of the realistic list (countries, formats, duplicates,
    invalid ones) in international or national form as written."""
    lines = ["Name,Mobile,Class"]
    if realistic:
        rows = realistic_rows(count, first_number % 10000000)
        lines += ["%s,%s,Form %d" % (name, number, index % 4 + 1)
                  for index, (name, number, _country, _role) in enumerate(rows)]
    else:
        lines += ["Student %d,0%d,Form %d" % (index, first_number + index, index % 4 + 1) for index in range(count)]
    lines.append("Duplicate,0%d,Form 1" % first_number)
    return ("\n".join(lines) + "\n").encode()


def scenario_ours_import(count, realistic=False):
    """Ours: the SMS contact import wizard, the CSV into a new list (normalise, dedup, tags, report)."""
    import base64

    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        mailing_list = env["mailing.list"].create({"name": "Import bench %d" % count})
        wizard = env["sms.contact.import"].create({
            "file": base64.b64encode(contact_csv(count, 720000000, realistic)), "filename": "students.csv",
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
        return {"seconds": elapsed, "queries": queries, "rows": wizard.row_count, "created": wizard.created_count,
                "rejected": wizard.rejected_count, "in_list": mailing_list.contact_count, "rss": peak_rss_mb()}


def scenario_stock_import(count, realistic=False):
    """Stock: Odoo's import (base_import) of the same CSV into mailing contacts, from the list (default_list_ids)."""
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        mailing_list = env["mailing.list"].create({"name": "Stock import bench %d" % count})
        importer = env["base_import.import"].create({
            "res_model": "mailing.contact", "file": contact_csv(count, 720000000, realistic),
            "file_name": "students.csv", "file_type": "text/csv"})
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


def scenario_ours_estimate(count, realistic=False):
    """Ours: the exact cost estimate of a personalised mailing to ``count`` list contacts (segments, rates)."""
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        mailing, _data = create_mailing(env, count, PERSONALISED, 254740000000, realistic)
        env.invalidate_all()
        queries = cr.sql_log_count
        started = time.perf_counter()
        estimate = mailing._get_sms_cost_estimate()
        elapsed = time.perf_counter() - started
        return {"seconds": elapsed, "queries": cr.sql_log_count - queries, "recipients": estimate["recipients"],
                "segments": estimate["segments"], "cost": estimate["cost"], "currency": estimate["currency"],
                "rss": peak_rss_mb()}


# ----------------------------------------------------------------------
# Delivery reports over HTTP
# ----------------------------------------------------------------------

WARM_UP_REQUESTS = 200
SERVER_MODES = {"threaded": 0, "prefork-2": 2}  # --workers


def scenario_reports_http(count, rounds=3, realistic=False):
    """One delivery report per HTTP request, as AT posts them, against the minimal INSERT route of the bench addon,
    on the same server: ``--workers 0`` and ``--workers 2``, 1 and 4 clients. The server is warmed up (registry
    loaded, then WARM_UP_REQUESTS to each route from 4 clients) before anything is timed; each measure posts
    ``count`` requests to each route, ``rounds`` times, route order alternating. Then the queued reports are
    applied in bulk by the report cron's method."""
    del realistic  # the reports are the same whatever the recipients
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    per_mode = WARM_UP_REQUESTS + rounds * 2 * count
    result = {"rounds": [], "warm_up": WARM_UP_REQUESTS}
    with gateway("ours") as sms_gateway, registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        account = sms_gateway.configure(env)
        mailing, _data = create_mailing(env, per_mode * len(SERVER_MODES), BROADCAST, 254730000000)
        mailing.with_context(sms_africastalking_prepare_commit=True).action_send_sms()  # as the cron
        run_queue(env, mailing.id)
        messages = env["africastalking.message"].search_read([("mailing_id", "=", mailing.id)],
                                                            ["at_message_id", "number"])
        path = account._callback_path("delivery", account._generate_callback_secret())
        cr.commit()
    forms = [{"id": m["at_message_id"], "status": "Success", "phoneNumber": m["number"], "networkCode": "63902"}
             for m in messages]
    for mode, workers in SERVER_MODES.items():
        mode_forms, forms = forms[:per_mode], forms[per_mode:]
        server = OdooServer("reports", workers=workers, cron_threads=0)
        try:
            server.wait_ready()
            minimal = server.base + "/sms_africastalking_bench/minimal"
            warm = mode_forms[:WARM_UP_REQUESTS]
            post_forms(minimal, warm, 4)
            post_forms(server.base + path, warm, 4)
            batches = iter(range(WARM_UP_REQUESTS, per_mode, count))
            for round_index in range(rounds):
                for clients in (1, 4):
                    start = next(batches)
                    batch = mode_forms[start:start + count]
                    routes = [("minimal", minimal), ("reports", server.base + path)]
                    for route, url in (routes if round_index % 2 == 0 else routes[::-1]):
                        measure = post_forms(url, batch, clients)
                        result["rounds"].append({"mode": mode, "clients": clients, "route": route,
                                                 "round": round_index, **measure})
        finally:
            server.stop()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        cr.execute("SELECT count(*) FROM africastalking_message")
        result["messages_in_database"] = cr.fetchone()[0]
        started = time.perf_counter()
        result["applied"] = env["africastalking.delivery.report"]._cron_apply(linger=0)
        result["apply_per_second"] = result["applied"] / (time.perf_counter() - started)
        result["delivered"] = env["mailing.mailing"].browse(mailing.id).delivered
    return result


def post_forms(url, forms, threads):
    """POST every form from ``threads`` keep-alive clients; requests per second and non-200 answers."""
    import requests

    failures = []
    chunks = [forms[index::threads] for index in range(threads)]

    def client(chunk):
        with requests.Session() as session:
            for form in chunk:
                response = session.post(url, data=form, timeout=30)
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

    request = urllib.request.Request(url, headers={"X-Simulator-Token": os.environ[SIMULATOR_TOKEN_ENV]})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def post_json(url, data):
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "X-Simulator-Token": os.environ[SIMULATOR_TOKEN_ENV]})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# ----------------------------------------------------------------------
# Delivery reports applied in bulk, into a big message log
# ----------------------------------------------------------------------

# Messages the log holds before the reports come (--reports-held; the scenario process gets it from run_scenario).
REPORTS_HELD = int(os.environ.get("BENCH_REPORTS_HELD", "1000000"))
HELD_PER_MAILING = 100000  # the message log is made of mailings of this size (the last one awaits its reports)
HELD_FIRST_NUMBER = 254720000000  # the same people in every mailing of the log
# The reports of one round, per 100 messages of the awaiting mailing (AT's mix in a school's mailing): a final
# report for each (88 Success; failed: 5 DeliveryFailure, 3 UserIsInactive (a dead number), 2 "Rejected" without a
# reason, 2 UserAccountSuspended, of which 1 in 500 messages UserInBlacklist instead: a number blocked at the network
# fails once, then the blacklist keeps it out of later mailings), an intermediate report before it for 30 (Sent or
# Buffered), one after it for 5 (out of order), a second final report for 3 (AT's retry); one late report per 100
# messages for a message of an earlier, already delivered mailing, and one per 500 whose AT id no message has (it
# waits).
REPORT_MIX_SQL = """
WITH slice AS (
    SELECT row_number() OVER (ORDER BY id) AS k, at_message_id, number
      FROM africastalking_message
     WHERE mailing_id = %(mailing)s AND state = 'pending' AND at_message_id IS NOT NULL
     ORDER BY id LIMIT %(messages)s
), final AS (
    SELECT k, at_message_id, number,
           CASE WHEN k %% 100 < 88 THEN 'Success' WHEN k %% 100 IN (96, 97) THEN 'Rejected'
                ELSE 'Failed' END AS status,
           CASE WHEN k %% 100 < 88 OR k %% 100 IN (96, 97) THEN NULL
                WHEN k %% 100 < 93 THEN 'DeliveryFailure' WHEN k %% 100 < 96 THEN 'UserIsInactive'
                WHEN k %% 500 = 99 THEN 'UserInBlacklist' ELSE 'UserAccountSuspended' END AS reason
      FROM slice
), queued AS (
    -- (when it arrives, message, status, reason): arrival spreads each kind over the round, so that an
    -- intermediate may come in a later batch than its final, and a retry in a later one than the first
    SELECT k AS arrives, at_message_id, number, CASE WHEN k %% 2 = 0 THEN 'Sent' ELSE 'Buffered' END, NULL
      FROM slice WHERE k %% 100 < 30
    UNION ALL SELECT k + 1500, at_message_id, number, status, reason FROM final
    UNION ALL SELECT k + 4000, at_message_id, number, 'Sent', NULL FROM slice WHERE k %% 100 >= 95
    UNION ALL SELECT k + 6000, at_message_id, number, status, reason FROM final WHERE k %% 100 %% 33 = 7
    UNION ALL SELECT s.k + 300, m.at_message_id, m.number, 'Success', NULL
      FROM slice s JOIN LATERAL (SELECT at_message_id, number FROM africastalking_message
                                  WHERE mailing_id = %(old_mailing)s AND id = (
                                        SELECT min(id) FROM africastalking_message
                                         WHERE mailing_id = %(old_mailing)s) + s.k) m ON true
     WHERE s.k %% 100 = 50
    UNION ALL SELECT k + 700, 'ATXid_unknown_' || %(round)s || '_' || k, number, 'Success', NULL
      FROM slice WHERE k %% 500 = 250
)
INSERT INTO africastalking_delivery_report (account_id, message_id, status, phone_number, network_code,
                                            failure_reason, retry_count, received_at)
SELECT %(account)s, q.at_message_id, q.status, q.number, '63902', q.reason, 0, now() at time zone 'UTC'
  FROM queued q(arrives, at_message_id, number, status, reason)
 ORDER BY arrives
"""
REPORTS_PER_MESSAGE = 1.39  # about: 1 + 0.30 + 0.05 + 0.03 + 0.01 (see REPORT_MIX_SQL)


def fill_message_log(env, account, held):
    """``held`` AT messages with their mailing traces, SMS trackers and (for the last mailing) SMS, by SQL, in the
    shape the dispatcher leaves them: mailings of HELD_PER_MAILING recipients (the same people each time); every
    mailing but the last delivered (message 'delivered' with its report date and network, trace 'sent', its SMS
    deleted by the SMS autovacuum), the last one sent and awaiting its reports (message and trace 'pending', AT's
    id, cost and parts on both, its SMS 'pending' marked to_delete). No contacts (the traces point at ids no
    screen opens). Returns the mailings, oldest first."""
    mailings = env["mailing.mailing"]
    for index in range(-(-held // HELD_PER_MAILING)):
        count = min(HELD_PER_MAILING, held - index * HELD_PER_MAILING)
        last = (index + 1) * HELD_PER_MAILING >= held
        mailing = env["mailing.mailing"].create({
            "subject": "Log %d" % index, "mailing_type": "sms", "body_plaintext": BROADCAST,
            "mailing_model_id": env["ir.model"]._get_id("mailing.list")})
        mailing.state = "sending" if last else "done"
        env.flush_all()
        env.cr.execute(HELD_MAILING_SQL, {
            "mailing": mailing.id, "count": count, "first": HELD_FIRST_NUMBER, "account": account.id,
            "company": account.company_id.id, "body": BROADCAST, "delivered": not last})
        env.cr.commit()
        mailings |= mailing
    # What autovacuum has done long since in a database that grew to this size (hint bits, visibility map,
    # statistics): else the first reads of the timed run would do it. The aged mode measures bloat, not this.
    conn = odoo_dev.pg_connect(DATABASE)
    conn.autocommit = True
    with conn.cursor() as cr:
        for table in ("africastalking_message", "mailing_trace", "sms_tracker", "sms_sms"):
            cr.execute("VACUUM (ANALYZE) %s" % table)
    conn.close()
    return mailings


HELD_MAILING_SQL = """
WITH n AS (
    SELECT g AS n, md5('sms-' || %(mailing)s || '-' || g) AS uuid,
           'ATXid_' || md5('at-' || %(mailing)s || '-' || g) AS at_id, '+' || (%(first)s + g) AS number,
           now() at time zone 'UTC' - interval '1 day' * (CASE WHEN %(delivered)s THEN 30 ELSE 0 END) AS sent
      FROM generate_series(1, %(count)s) g
), sms AS (
    INSERT INTO sms_sms (uuid, number, body, state, to_delete, mailing_id, company_id, at_claim_date,
                         create_uid, write_uid, create_date, write_date)
    SELECT uuid, number, %(body)s, 'pending', true, %(mailing)s, %(company)s, sent, 1, 1, sent, sent
      FROM n WHERE NOT %(delivered)s
 RETURNING id, uuid
), traces AS (
    INSERT INTO mailing_trace (trace_type, model, res_id, mass_mailing_id, trace_status, sent_datetime, sms_number,
                               sms_id_int, sms_code, at_message_id, at_status, at_parts, at_cost, at_currency,
                               at_network_code, create_uid, write_uid, create_date, write_date)
    SELECT 'sms', 'mailing.contact', n.n, %(mailing)s, CASE WHEN %(delivered)s THEN 'sent' ELSE 'pending' END,
           n.sent, n.number, COALESCE(sms.id, 0), substr(md5('code' || n.uuid), 1, 20), n.at_id,
           'Success', 1, 0.8, 'KES', CASE WHEN %(delivered)s THEN '63902' END, 1, 1, n.sent, n.sent
      FROM n LEFT JOIN sms ON sms.uuid = n.uuid
 RETURNING id, res_id
), trackers AS (
    INSERT INTO sms_tracker (sms_uuid, mailing_trace_id, create_uid, write_uid, create_date, write_date)
    SELECT n.uuid, traces.id, 1, 1, n.sent, n.sent FROM traces JOIN n ON n.n = traces.res_id
)
INSERT INTO africastalking_message (account_id, company_id, sms_uuid, number, body, mailing_id, state, at_message_id,
                                    status_code, at_status, cost, currency, parts, origin, network_code, report_date,
                                    send_date, create_date, write_date)
SELECT %(account)s, %(company)s, uuid, number, %(body)s, %(mailing)s,
       CASE WHEN %(delivered)s THEN 'delivered' ELSE 'pending' END, at_id, 101, 'Success', 0.8, 'KES', 1, 'mailing',
       CASE WHEN %(delivered)s THEN '63902' END, CASE WHEN %(delivered)s THEN sent + interval '1 minute' END,
       sent, sent, sent
  FROM n ORDER BY n
"""


# The shape of the log fill_message_log writes: a template filled by an earlier run is reused only when its name
# carries this version (change it with the fill's SQL, or with the table's storage: 2 is the message log's fillfactor).
LOG_SHAPE_VERSION = 2


def log_mailings(env):
    """The mailings of the message log, oldest first (empty when the database has none)."""
    return env["mailing.mailing"].search([("subject", "=like", "Log %")], order="id")


def fill_log_database(held):
    """Fill DATABASE's message log (the --fill-log step of ensure_log_template); how long it took."""
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    with gateway("ours") as sms_gateway, registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        account = sms_gateway.configure(env)
        env.cr.commit()
        started = time.perf_counter()
        fill_message_log(env, account, held)
        return {"fill_seconds": time.perf_counter() - started}


def scenario_reports_bulk(count, rounds=3, held=1000000):
    """The report cron's method applying ``count`` queued reports (REPORT_MIX_SQL: finals, failures with reasons,
    intermediates, retries, out of order, late and unknown ones) into a message log of ``held`` messages
    (fill_message_log), ``rounds`` times, each round on the next messages of the awaiting mailing. The log comes
    from the database (a copy of the log template, ensure_log_template), else it is filled here."""
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    result = {"rounds": []}
    with gateway("ours") as sms_gateway, registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        mailings = log_mailings(env)
        if mailings:
            # The log's account, pointed at this run's simulator (its reports and messages must share it)
            env.cr.execute("SELECT account_id FROM africastalking_message WHERE mailing_id = %s LIMIT 1",
                           [mailings[0].id])
            account = env["africastalking.account"].browse(env.cr.fetchone()[0])
            account.api_url = "http://127.0.0.1:%d" % sms_gateway.port
            result["log"] = "copied from the log template"
        else:
            account = sms_gateway.configure(env)
            env.cr.commit()
            started = time.perf_counter()
            mailings = fill_message_log(env, account, held)
            result["fill_seconds"] = time.perf_counter() - started
            result["log"] = "filled by the scenario"
        env.cr.commit()
        queue = env["africastalking.delivery.report"]
        for round_index in range(rounds):
            env.cr.execute(REPORT_MIX_SQL, {
                "mailing": mailings[-1].id, "old_mailing": mailings[0].id, "account": account.id,
                "messages": round(count / REPORTS_PER_MESSAGE), "round": round_index})
            queued = env.cr.rowcount
            env.cr.commit()
            env.cr.execute("SELECT count(*) FROM africastalking_message")
            in_database = env.cr.fetchone()[0]
            started = time.perf_counter()
            applied = queue._cron_apply(linger=0, auto_commit=True)
            seconds = time.perf_counter() - started
            env.cr.execute("SELECT state, count(*) FROM africastalking_message WHERE mailing_id = %s GROUP BY state",
                           [mailings[-1].id])
            states = dict(env.cr.fetchall())
            env.cr.execute("SELECT count(*) FROM africastalking_delivery_report WHERE waiting")
            result["rounds"].append({
                "round": round_index, "queued": queued, "applied": applied, "seconds": seconds,
                "per_second": queued / seconds, "messages_in_database": in_database, "states": states,
                "waiting": env.cr.fetchone()[0]})
    return result


def ensure_log_template(args):
    """The template holding the message log of the reports-bulk scenario: ours (aged with --aged) with
    --reports-held messages (fill_message_log, about 2 minutes at 1,000,000), made once and reused by later runs
    (updated with this checkout's code like the other templates). Returns its name and how it came about."""
    base = aged_template("ours", args) if args.aged else TEMPLATES["ours"]
    name = "%s_log%dv%d" % (base, args.reports_held, LOG_SHAPE_VERSION)
    if odoo_dev.database_exists(name):
        update_template(name)
        return name, {"log_template": name, "made_by_this_run": False}
    print("Filling a message log of %d messages into %s (once: later runs reuse it)..." % (args.reports_held, name),
          flush=True)
    odoo_dev.drop_database(DATABASE)
    copy_database(base, DATABASE)
    command = [sys.executable, __file__, "--fill-log", "--reports-held", str(args.reports_held)]
    out = subprocess.run(command, check=True, cwd=ROOT, env=scenario_environment(args), capture_output=True,
                         text=True)
    filled = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])
    copy_database(DATABASE, name)
    return name, {"log_template": name, "made_by_this_run": True, **filled}


def update_template(database):
    """``-u`` the addon in a template database made from ours (this checkout's code)."""
    cmd = [sys.executable, "-m", "odoo", "-d", database, "--addons-path", addons_path(), *odoo_dev.db_args(),
           "-u", odoo_dev.MODULE, "--stop-after-init", "--log-level", "warn"]
    subprocess.run(cmd, check=True, cwd=odoo_dev.BUILD)


# ----------------------------------------------------------------------
# Aged database: earlier mailings and their reports
# ----------------------------------------------------------------------

AGED_FIRST_NUMBER = 254710000000  # the numbers the scenarios' lists use: the same people, messaged again


def age_database(kind, count, mailings):
    """``mailings`` earlier broadcasts of ``count`` recipients each, sent and delivered by ``kind``'s own code on
    DATABASE, each followed by Odoo's daily garbage collection of sent SMS: the history (traces, trackers, message
    log, report queue churn), bloat and index growth a database has after a school year. No VACUUM is run beyond
    what autovacuum does as PostgreSQL configures it by default: where the server runs with autovacuum off (some
    test machines do), its default thresholds are applied after each mailing (autovacuum_pass), the work the daemon
    would have done in the days between two mailings."""
    from odoo import SUPERUSER_ID, api

    with gateway(kind) as sms_gateway:
        registry = odoo_env()
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            sms_gateway.configure(env)
            cr.commit()
            for index in range(mailings):
                mailing, _data = create_mailing(env, count, BROADCAST, AGED_FIRST_NUMBER)
                mailing.state = "sending"
                cr.commit()
                if kind == "stock":
                    mailing.action_send_sms()
                else:
                    mailing.with_context(sms_africastalking_prepare_commit=True).action_send_sms()
                cr.commit()
                run_queue(env, mailing.id)
                (deliver_stock if kind == "stock" else deliver_ours)(env, mailing)
                cr.commit()
                # Odoo's daily autovacuum job deletes the SMS flagged to_delete once sent (stock's _gc_device, for
                # both sides): the earlier mailings went out on earlier days
                env["sms.sms"]._gc_device()
                cr.commit()
                autovacuum_pass()
                print("aged %s: mailing %d/%d sent and delivered" % (kind, index + 1, mailings), file=sys.stderr,
                      flush=True)
    return {"mailings": mailings, "recipients": count}


# PostgreSQL's default autovacuum settings: a table is vacuumed past 50 + 20 % dead rows or 1,000 + 20 % rows
# inserted since its last vacuum, analyzed past 50 + 10 % rows changed since its last analysis.
AUTOVACUUM_DEFAULTS = {"vacuum": (50, 0.2), "insert": (1000, 0.2), "analyze": (50, 0.1)}


def server_autovacuum():
    """"on", or "emulated" where the server runs without autovacuum (the ageing applies its thresholds itself)."""
    conn = odoo_dev.pg_connect()
    with conn.cursor() as cr:
        cr.execute("SHOW autovacuum")
        state = cr.fetchone()[0]
    conn.close()
    return "on" if state == "on" else "emulated"


def autovacuum_pass(database=None):
    """What autovacuum on PostgreSQL's default settings does to DATABASE, when the server runs without it: VACUUM
    or ANALYZE each table past its default thresholds. Returns the tables worked on (None: autovacuum is on, it
    does this itself)."""
    if server_autovacuum() == "on":
        return None
    conn = odoo_dev.pg_connect(database or DATABASE)
    conn.autocommit = True
    worked = {}
    with conn.cursor() as cr:
        cr.execute("SELECT s.relname, greatest(c.reltuples, 0), s.n_dead_tup, s.n_ins_since_vacuum, "
                   "s.n_mod_since_analyze FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid")
        for table, rows, dead, inserted, changed in cr.fetchall():
            vacuum = (dead > AUTOVACUUM_DEFAULTS["vacuum"][0] + AUTOVACUUM_DEFAULTS["vacuum"][1] * rows
                      or inserted > AUTOVACUUM_DEFAULTS["insert"][0] + AUTOVACUUM_DEFAULTS["insert"][1] * rows)
            analyze = changed > AUTOVACUUM_DEFAULTS["analyze"][0] + AUTOVACUUM_DEFAULTS["analyze"][1] * rows
            if vacuum or analyze:
                command = "VACUUM (ANALYZE)" if vacuum and analyze else ("VACUUM" if vacuum else "ANALYZE")
                cr.execute("%s %s" % (command, '"%s"' % table.replace('"', '""')))
                worked[table] = command
    conn.close()
    return worked


def deliver_stock(env, mailing, chunk=5000):
    """What stock's /sms/status route does with IAP's 'delivered' reports, by chunks of trackers."""
    delivered = env["sms.sms"].IAP_TO_SMS_STATE_SUCCESS["delivered"]
    trackers = env["sms.tracker"].search([("mailing_trace_id.mass_mailing_id", "=", mailing.id)])
    for start in range(0, len(trackers), chunk):
        trackers[start:start + chunk]._action_update_from_sms_state(delivered)
        env.cr.commit()
        env.invalidate_all()


def deliver_ours(env, mailing):
    """AT's 'Success' report for every SMS of the mailing, queued as the webhook queues them, applied by the
    report cron's method."""
    env.cr.execute(
        """
        INSERT INTO africastalking_delivery_report (account_id, message_id, status, phone_number, network_code,
                                                    retry_count, received_at)
        SELECT account_id, at_message_id, 'Success', number, '63902', 0, now() at time zone 'UTC'
          FROM africastalking_message
         WHERE mailing_id = %s AND at_message_id IS NOT NULL
        """, [mailing.id])
    env.cr.commit()
    while env["africastalking.delivery.report"]._cron_apply(linger=0):
        env.cr.commit()


# Version of the ageing: templates aged by an earlier version are made again (2: autovacuum_pass)
AGED_VERSION = 2


def aged_template(kind, args):
    return "%s_aged%dx%dv%d" % (TEMPLATES[kind], args.aged, args.aged_n, AGED_VERSION)


def aged_kinds(args):
    """The sides whose aged template a run needs: ours alone with --ours-only (stock's ageing is the long part)."""
    return ["ours"] if args.ours_only else list(TEMPLATES)


def ensure_aged_templates(args):
    """The aged copy of each template, made once per size (K and --aged-n) and then reused by every later run and
    round (ours is updated with this checkout's code at every run, like its fresh template). Returns, per side,
    whether this run made it and how long the ageing took (``None`` when reused)."""
    made = {}
    for kind in aged_kinds(args):
        aged = aged_template(kind, args)
        if odoo_dev.database_exists(aged):
            if kind == "ours":
                update_template(aged)
            made[kind] = {"made_by_this_run": False, "ageing_seconds": None}
            continue
        print("Ageing a copy of the %s template: %d mailings of %d recipients (once: later runs reuse %s)..." % (
            kind, args.aged, args.aged_n, aged), flush=True)
        started = time.perf_counter()
        fresh_database(TEMPLATES[kind])
        command = [sys.executable, __file__, "--age", kind, "--n", str(args.aged_n), "--aged", str(args.aged)]
        subprocess.run(command, check=True, cwd=ROOT, env=scenario_environment(args))
        copy_database(DATABASE, aged)
        made[kind] = {"made_by_this_run": True, "ageing_seconds": round(time.perf_counter() - started, 1)}
    return made


def copy_database(source, target, attempts=20):
    """CREATE DATABASE target TEMPLATE source; autovacuum may be working in the source (a fresh, bloated copy is
    what it looks for): its workers are stopped for the copy, then resume on their own."""
    for _attempt in range(attempts):
        conn = odoo_dev.pg_connect()
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                       "AND pid <> pg_backend_pid()", [source])
        conn.close()
        try:
            odoo_dev.create_database(target, template=source)
            return
        except Exception as exc:  # noqa: BLE001  (psycopg2's ObjectInUse: retried)
            last = exc
            time.sleep(0.5)
    raise RuntimeError("could not copy %s: %s" % (source, last))


# ----------------------------------------------------------------------
# Screens a person waits on
# ----------------------------------------------------------------------

def scenario_screens(count, realistic=False):
    """The screens of bench/screens.py over ``count`` traces, messages and records (0: each screen at its goal
    size), through a real server."""
    del realistic  # the screens' data is generated in bulk, the same either way
    import screens

    sizes = screens.sizes_for(count)
    from odoo import SUPERUSER_ID, api

    registry = odoo_env()
    with gateway("ours") as _gateway:  # the estimate asks AT's balance, as it does in production
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            _gateway.configure(env)
            started = time.perf_counter()
            data = screens.seed(env, sizes)
            seeded = time.perf_counter() - started
            login = screens.screens_user(env, os.environ.get("BENCH_SCREENS_AS") or "admin")
        server = OdooServer("screens")
        try:
            server.wait_ready()
            client = screens.WebClient(server.base, DATABASE, login=login, password=login)
            only = [name for name in os.environ.get("BENCH_SCREENS", "").split(",") if name]
            return {"seed_seconds": seeded, "sizes": sizes,
                    "screens": screens.time_screens(client, data, sizes, only=only)}
        finally:
            server.stop()


# name: (template, function(n, realistic, rounds))
SCENARIOS = {
    "stock-prepare": ("stock", lambda n, r, _k: scenario_mailing("stock", n, PERSONALISED, False, realistic=r)),
    "ours-prepare": ("ours", lambda n, r, _k: scenario_mailing("ours", n, PERSONALISED, False, realistic=r)),
    "stock-broadcast": ("stock", lambda n, r, _k: scenario_mailing("stock", n, BROADCAST, True, realistic=r)),
    "ours-broadcast": ("ours", lambda n, r, _k: scenario_mailing("ours", n, BROADCAST, True, realistic=r)),
    "stock-broadcast-threaded": ("stock", lambda n, r, _k: scenario_threaded("stock", n, BROADCAST, realistic=r)),
    "ours-broadcast-threaded": ("ours", lambda n, r, _k: scenario_threaded("ours", n, BROADCAST, realistic=r)),
    "stock-broadcast-threaded-unlimited": ("stock", lambda n, r, _k: scenario_threaded(
        "stock", n, BROADCAST, realistic=r, time_limits=False)),
    "ours-broadcast-threaded-unlimited": ("ours", lambda n, r, _k: scenario_threaded(
        "ours", n, BROADCAST, realistic=r, time_limits=False)),
    "stock-broadcast-2-workers": ("stock", lambda n, r, _k: scenario_mailing("stock", n, BROADCAST, True, 2,
                                                                             realistic=r)),
    "ours-broadcast-2-workers": ("ours", lambda n, r, _k: scenario_mailing("ours", n, BROADCAST, True, 2,
                                                                           realistic=r)),
    "ours-broadcast-2-dispatchers": ("ours", lambda n, r, _k: scenario_mailing(
        "ours", n, BROADCAST, True, "2 dispatchers", realistic=r)),
    "ours-personalised-100ms": ("ours", lambda n, r, _k: scenario_mailing(
        "ours", n, PERSONALISED, True, latency=0.1, realistic=r)),
    "ours-personalised-100ms-2-dispatchers": ("ours", lambda n, r, _k: scenario_mailing(
        "ours", n, PERSONALISED, True, "2 dispatchers", latency=0.1, realistic=r)),
    "reports-http": ("ours", lambda n, r, k: scenario_reports_http(n, k, r)),
    "reports-bulk": ("ours", lambda n, _r, k: scenario_reports_bulk(n, k, REPORTS_HELD)),
    "stock-import": ("stock", lambda n, r, _k: scenario_stock_import(n, r)),
    "ours-import": ("ours", lambda n, r, _k: scenario_ours_import(n, r)),
    "ours-estimate": ("ours", lambda n, r, _k: scenario_ours_estimate(n, r)),
    "ours-screens": ("ours", lambda n, r, _k: scenario_screens(n, r)),
}


# ----------------------------------------------------------------------
# Orchestration
# ----------------------------------------------------------------------

def plan(args):
    """Groups of scenarios run side by side, each with its size: [(group, [scenario, ...], n)]."""
    groups = [
        ("prepare", ["stock-prepare", "ours-prepare"], args.n),
        ("broadcast", ["stock-broadcast", "ours-broadcast"], args.n),
        ("broadcast-threaded", ["stock-broadcast-threaded", "ours-broadcast-threaded"], args.n),
        ("broadcast-threaded-unlimited", ["stock-broadcast-threaded-unlimited", "ours-broadcast-threaded-unlimited"],
         args.n),
        ("broadcast-2-workers", ["stock-broadcast-2-workers", "ours-broadcast-2-workers"], args.n),
        ("broadcast-2-dispatchers", ["ours-broadcast-2-dispatchers"], args.n),
        ("personalised-100ms", ["ours-personalised-100ms", "ours-personalised-100ms-2-dispatchers"],
         args.personalised_n),
        ("import-stock-size", ["stock-import", "ours-import"], args.stock_import_n),
        ("import", ["ours-import"], args.import_n),
        ("estimate", ["ours-estimate"], args.estimate_n),
        ("screens", ["ours-screens"], args.screens_n),
    ]
    if args.no_stock_import:
        groups = [group for group in groups if group[0] != "import-stock-size"]
    if args.import_n == args.stock_import_n and not args.no_stock_import:
        groups = [group for group in groups if group[0] != "import"]  # the side-by-side group has it
    if not args.with_prefork and not args.only:
        groups = [group for group in groups if group[0] != "broadcast-2-workers"]
    if args.n < UNLIMITED_FROM_N and not args.only:  # below, both sides finish within Odoo's default time limit
        groups = [group for group in groups if group[0] != "broadcast-threaded-unlimited"]
    if args.only:
        wanted = set(args.only.split(","))
        groups = [group for group in groups if group[0] in wanted]
    if args.ours_only:  # e.g. memory at 1,000,000 recipients, where stock would take hours
        groups = [(group, [name for name in names if not name.startswith("stock-")], count)
                  for group, names, count in groups]
    return groups


def ensure_templates():
    """The two template databases, no data: stock (mass_mailing_sms, NOT the addon) and ours (the addon and the
    bench helper addon). Created on first use, updated (``-u``) at every run so that they hold this checkout's code.
    Every scenario runs on a fresh copy of its template (fresh_database())."""
    odoo_dev.odoo_root()
    odoo_dev.check_postgres()
    modules = {"stock": ["mass_mailing_sms"], "ours": [odoo_dev.MODULE, "sms_africastalking_bench"]}
    for kind, template in TEMPLATES.items():
        exists = odoo_dev.database_exists(template)
        if exists and kind == "stock":
            continue  # stock's code does not change with this checkout
        print("%s the %s template database %s..." % ("Updating" if exists else "Creating", kind, template),
              flush=True)
        step = ["-u" if exists and kind == "ours" else "-i", ",".join(modules[kind])]
        cmd = [sys.executable, "-m", "odoo", "-d", template, "--addons-path", addons_path(), *odoo_dev.db_args(),
               *step, "--without-demo", "all", "--stop-after-init", "--log-level", "warn"]
        subprocess.run(cmd, check=True, cwd=odoo_dev.BUILD)
    installed = {kind: installed_modules(template) for kind, template in TEMPLATES.items()}
    if odoo_dev.MODULE in installed["stock"]:
        raise SystemExit("the stock template %s has %s installed: drop it" % (TEMPLATES["stock"], odoo_dev.MODULE))
    return installed


def installed_modules(database):
    conn = odoo_dev.pg_connect(database)
    with conn.cursor() as cr:
        cr.execute("SELECT name FROM ir_module_module WHERE state = 'installed' ORDER BY name")
        names = [row[0] for row in cr.fetchall()]
    conn.close()
    return names


def fresh_database(template):
    """DATABASE as a new copy of the template (PostgreSQL copies its files: about a second)."""
    odoo_dev.drop_database(DATABASE)
    odoo_dev.create_database(DATABASE, template=template)


def scenario_environment(args):
    return dict(os.environ, ODOO_LIMIT_LITEVAL_BUFFER=str(50 * 1024 * 1024),  # lift stock's cap, for both
                BENCH_REPORTS_HELD=str(args.reports_held), BENCH_SCREENS=args.screen or "",
                BENCH_SCREENS_AS=args.screens_as)


def run_scenario(name, count, args, template_database=None):
    template, _function = SCENARIOS[name]
    if template_database or args.aged:
        odoo_dev.drop_database(DATABASE)
        copy_database(template_database or aged_template(template, args), DATABASE)
    else:
        fresh_database(TEMPLATES[template])
    env = scenario_environment(args)
    command = [sys.executable, __file__, "--scenario", name, "--n", str(count), "--repeat", str(args.repeat)]
    started = time.perf_counter()
    out = subprocess.run(command + (["--realistic"] if args.realistic else []), env=env, cwd=ROOT,
                         capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-3000:])
        return {"error": (out.stderr or out.stdout)[-2000:], "wall": time.perf_counter() - started}
    return {**json.loads(lines[-1]), "wall": time.perf_counter() - started}


def git(*args):
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return out.stdout.strip()


def machine():
    import odoo.release

    conn = odoo_dev.pg_connect()
    with conn.cursor() as cr:
        cr.execute("SHOW server_version")
        postgres = cr.fetchone()[0]
    conn.close()
    memory = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal:")), 0)
    return {"cores": os.cpu_count(), "memory_gib": round(memory / 1024 / 1024, 1), "postgresql": postgres,
            "python": platform.python_version(), "odoo": odoo.release.version, "platform": platform.platform(),
            "cpu": next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                         if line.startswith("model name")), platform.processor()),
            "load_average_at_start": os.getloadavg()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000, help="recipients per mailing")
    parser.add_argument("--repeat", type=int, default=3, help="samples of every scenario (rounds)")
    parser.add_argument("--realistic", action="store_true",
                        help="realistic lists: 5%% blacklisted, 3%% opted out, 2%% duplicates, 2%% invalid, five "
                             "countries and several formats, a tracked link, the opt-out link, keep-archives on")
    parser.add_argument("--personalised-n", type=int, default=3000,
                        help="recipients of the personalised dispatch at 100 ms latency")
    parser.add_argument("--reports-n", type=int, default=500,
                        help="delivery reports (and as many yardstick requests) per measure over HTTP")
    parser.add_argument("--reports-bulk-n", type=int, default=20000,
                        help="queued delivery reports applied in bulk by the report cron's method, per round")
    parser.add_argument("--reports-held", type=int, default=1000000,
                        help="AT messages (with their traces) the database holds before those reports are applied")
    parser.add_argument("--import-n", type=int, help="rows of the contact import CSV (ours; default: --n)")
    parser.add_argument("--stock-import-n", type=int,
                        help="rows of the CSV imported by stock and ours side by side (default: --n, at most 10,000: "
                             "stock's base_import takes minutes at 100,000 rows)")
    parser.add_argument("--estimate-n", type=int,
                        help="recipients of the personalised mailing whose cost is estimated (default: --n)")
    parser.add_argument("--screens-n", type=int, default=0,
                        help="traces, messages and records behind every timed screen (default: 0, each screen at "
                             "its goal size: 1,000,000 traces and messages, 100,000 records)")
    parser.add_argument("--screen", help="comma-separated screens to time (default: all; see bench/screens.py "
                                          "GOALS); the data of every screen is seeded either way")
    parser.add_argument("--screens-as", choices=("admin", "team-member"), default="admin",
                        help="who opens the screens: the administrator (an SMS manager: no team rule applies), or a "
                             "marketing user of a team, whose team record rules every screen's query carries")
    parser.add_argument("--aged", type=int, default=0, metavar="K",
                        help="run every scenario on an aged database: K earlier broadcasts of --aged-n recipients, "
                             "sent and delivered by each side's own code (the aged templates are made once)")
    parser.add_argument("--aged-n", type=int, default=100000, help="recipients of each earlier broadcast")
    parser.add_argument("--age", choices=("ours", "stock"), help=argparse.SUPPRESS)
    parser.add_argument("--fill-log", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-stock-import", action="store_true", help="skip the import side by side")
    parser.add_argument("--with-prefork", action="store_true",
                        help="also the broadcast with a second cron worker process (as `--workers 2` runs crons)")
    parser.add_argument("--only", help="comma-separated groups to run (prepare, broadcast, broadcast-threaded, "
                                       "broadcast-threaded-unlimited, "
                                       "broadcast-2-workers, broadcast-2-dispatchers, personalised-100ms, "
                                       "import-stock-size, import, estimate, screens, reports-http, reports-bulk)")
    parser.add_argument("--ours-only", action="store_true",
                        help="run only the addon's scenarios (stock's are skipped: no ratio)")
    parser.add_argument("--note", default="", help="a note stored in the results (e.g. 'small development run')")
    parser.add_argument("--out", help="the results file (default bench/results/<UTC time>-<commit>.json)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--dispatch-worker", choices=("ours", "stock"), help=argparse.SUPPRESS)
    parser.add_argument("--mailing", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--after-preparation", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fake-iap", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.import_n = args.import_n or args.n
    args.stock_import_n = args.stock_import_n or min(args.n, 10000)
    args.estimate_n = args.estimate_n or args.n
    if args.screen:
        import screens

        unknown = set(args.screen.split(",")) - set(screens.GOALS)
        if unknown:
            parser.error("unknown screen(s) %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(screens.GOALS)))
    if args.fake_iap:
        run_fake_iap(args.fake_iap)
        return
    if args.age:
        print(json.dumps(age_database(args.age, args.n, args.aged)))
        return
    if args.fill_log:
        print(json.dumps(fill_log_database(args.reports_held)))
        return
    if args.dispatch_worker:
        run_dispatch_worker(args.mailing, args.after_preparation)
        return
    if args.scenario:
        print(json.dumps(SCENARIOS[args.scenario][1](args.n, args.realistic, args.repeat)))
        return
    run_all(args)


def run_all(args):
    started = datetime.datetime.now(datetime.timezone.utc)
    wall = time.perf_counter()
    commit = git("rev-parse", "HEAD")
    results = {
        "format": 1, "note": args.note, "started": started.isoformat(timespec="seconds"),
        "commit": commit, "commit_subject": git("log", "-1", "--format=%s"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "machine": machine(),
        "settings": {key: value for key, value in vars(args).items()
                     if key not in ("scenario", "dispatch_worker", "mailing", "after_preparation", "out",
                                    "fake_iap", "age", "fill_log")},
        "argv": sys.argv[1:], "samples": [],
    }
    out = Path(args.out) if args.out else RESULTS_DIR / ("%s-%s.json" % (started.strftime("%Y%m%dT%H%M%SZ"),
                                                                          commit[:8]))
    out.parent.mkdir(parents=True, exist_ok=True)
    results["templates"] = {kind: {"database": TEMPLATES[kind], "modules": modules}
                            for kind, modules in ensure_templates().items()}
    if args.aged:
        made = ensure_aged_templates(args)
        for kind in aged_kinds(args):
            results["templates"][kind]["aged"] = {"database": aged_template(kind, args), "mailings": args.aged,
                                                  "recipients": args.aged_n, "autovacuum": server_autovacuum(),
                                                  **made[kind]}
        save(out, results, wall)
    groups = plan(args)
    for round_index in range(args.repeat):
        for group, names, count in groups:
            for name in (names if round_index % 2 == 0 else names[::-1]):
                print("round %d/%d: %s (N=%s)..." % (round_index + 1, args.repeat, name,
                                                      count or "each screen's goal size"), flush=True)
                sample = run_scenario(name, count, args)
                results["samples"].append({"group": group, "scenario": name, "n": count, "round": round_index,
                                           "result": sample})
                save(out, results, wall)
    if not args.only or "reports-http" in args.only.split(","):
        print("reports-http (%d requests per measure, %d rounds)..." % (args.reports_n, args.repeat), flush=True)
        sample = run_scenario("reports-http", args.reports_n, args)
        results["samples"].append({"group": "reports-http", "scenario": "reports-http", "n": args.reports_n,
                                   "round": 0, "result": sample})
    if not args.only or "reports-bulk" in args.only.split(","):
        print("reports-bulk (%d queued reports into %d messages, %d rounds)..." % (
            args.reports_bulk_n, args.reports_held, args.repeat), flush=True)
        log_template, log = ensure_log_template(args)
        sample = run_scenario("reports-bulk", args.reports_bulk_n, args, log_template)
        results["samples"].append({"group": "reports-bulk", "scenario": "reports-bulk", "n": args.reports_bulk_n,
                                   "round": 0, "result": {**sample, **log}})
        save(out, results, wall)
    results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    save(out, results, wall)
    print("results: %s" % out)
    print("report:  python3 bench/report.py %s > bench/RESULTS.md" % out)
    failed = [sample["scenario"] for sample in results["samples"] if "error" in sample["result"]]
    if failed:
        raise SystemExit("failed scenarios: %s" % ", ".join(failed))


def save(out, results, wall):
    results["duration_seconds"] = round(time.perf_counter() - wall, 1)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    tmp.replace(out)


if __name__ == "__main__":
    main()
