#!/usr/bin/env python3
"""Run the addon on the Odoo 17 installed on this machine: `test`, `run`, `shell-args`.

Odoo is never part of this repository: it must be importable by this ``python3`` (see README). The addon folder
must carry the technical name, so a link ``~/.cache/sms_africastalking/<hash>/addons/sms_africastalking`` points at this
checkout whatever the clone's folder is called.
"""

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = "sms_africastalking"
BUILD = ROOT / ".build"  # logs and the working directory of Odoo processes
# The addons-path entry holding a link named after the module. It lives outside the checkout: a link inside it
# to the checkout itself would make a loop for every tool that walks the module's folder (e.g. the .pot export).
ADDONS_LINK_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sms_africastalking" / (
    hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]) / "addons"
SIMULATOR_PORT = int(os.environ.get("SIMULATOR_PORT", 8071))


def fail(message):
    print("error: " + message, file=sys.stderr)
    sys.exit(2)


def odoo_root():
    """The Odoo 17 source tree this python3 imports, or a clear failure."""
    try:
        import odoo
        import odoo.release
    except ImportError:
        fail("Odoo 17 is not installed: `python3 -c 'import odoo'` fails. Install an Odoo 17.0 source tree "
             "into this Python (pip install -r <tree>/requirements.txt; pip install -e <tree>), see README.md.")
    if odoo.release.version_info[0] != 17:
        fail("Odoo %s is installed; this addon needs Odoo 17.0." % odoo.release.version)
    return Path(odoo.__file__).resolve().parents[1]


def db_args():
    host = os.environ.get("PGHOST", "127.0.0.1")
    port = os.environ.get("PGPORT", "5432")
    user = os.environ.get("PGUSER", "")
    args = ["--db_host", host, "--db_port", port]
    if user:
        args += ["--db_user", user]
    return args


def check_postgres():
    import psycopg2

    try:
        psycopg2.connect(dbname="postgres", host=os.environ.get("PGHOST", "127.0.0.1"),
                         port=os.environ.get("PGPORT", "5432"), user=os.environ.get("PGUSER") or None,
                         connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        fail("PostgreSQL cannot be reached (%s). Start it, or set PGHOST/PGPORT/PGUSER." % str(exc).strip())


def addons_path():
    root = odoo_root()
    link_dir = ADDONS_LINK_DIR
    link_dir.mkdir(parents=True, exist_ok=True)
    link = link_dir / MODULE
    if link.is_symlink() and link.resolve() != ROOT:
        link.unlink()
    if not link.exists():
        link.symlink_to(ROOT, target_is_directory=True)
    paths = [root / "odoo" / "addons", root / "addons", link_dir]
    return ",".join(str(path) for path in paths if path.is_dir())


def odoo_cmd(database, *extra):
    return [sys.executable, "-m", "odoo", "-d", database, "--addons-path", addons_path(), *db_args(), *extra]


def drop_database(database):
    subprocess.run(["dropdb", "--if-exists", "-h", os.environ.get("PGHOST", "127.0.0.1"),
                    "-p", os.environ.get("PGPORT", "5432"), database], check=True)


def database_exists(database):
    import psycopg2

    with psycopg2.connect(dbname="postgres", host=os.environ.get("PGHOST", "127.0.0.1"),
                          port=os.environ.get("PGPORT", "5432")) as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        return bool(cr.fetchone())


def check_browser():
    if not any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")):
        fail("Chromium is not installed: the tours would be skipped. Install it (Debian: apt-get install chromium).")
    try:
        import websocket  # noqa: F401  (Odoo drives Chromium through it)
    except ImportError:
        fail("The websocket-client package is missing: the tours would be skipped. pip install websocket-client")


# ----------------------------------------------------------------------
# make test
# ----------------------------------------------------------------------

ODOO_RESULT_RE = re.compile(r"odoo\.tests\.result: (\d+) failed, (\d+) error\(s\) of (\d+) tests")
PYTEST_PASSED_RE = re.compile(r"(\d+) passed")
PYTEST_FAILED_RE = re.compile(r"(\d+) (?:failed|errors?)")


def run_odoo_tests(database, http_port, tags):
    """Install the addon on a fresh database with its tests; return (tests, failures) from Odoo's report."""
    drop_database(database)
    log_file = BUILD / "odoo-tests.log"
    cmd = odoo_cmd(database, "-i", MODULE, "--test-enable", "--test-tags", tags, "--stop-after-init",
                   "--http-port", str(http_port), "--log-level", "info", "--max-cron-threads", "0")
    print("$ " + " ".join(cmd), flush=True)
    total = failures = None
    problems = 0
    with open(log_file, "w") as log, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                       text=True, cwd=BUILD) as proc:
        for line in proc.stdout:
            log.write(line)
            if match := ODOO_RESULT_RE.search(line):
                failures = int(match[1]) + int(match[2])
                total = int(match[3])
            if " ERROR " in line or " CRITICAL " in line or "FAIL:" in line:
                problems += 1
            if (" ERROR " in line or " CRITICAL " in line or " WARNING " in line or "odoo.tests.stats" in line
                    or "odoo.tests.result" in line or line.startswith(("Traceback", "  ", "AssertionError"))
                    or "FAIL" in line or "Ran " in line):
                sys.stdout.write(line)
        rc = proc.wait()
    print("Odoo log: %s" % log_file)
    if total is None:
        print("error: Odoo did not report test results (install failed?), exit code %s" % rc)
        return 0, 1
    # An error logged outside a test (e.g. a broken view at install) fails the run too.
    return total, failures or (1 if rc or problems else 0)


def run_unit_tests():
    cmd = [sys.executable, "-m", "pytest", "-q", "tests/unit"]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    sys.stdout.write(proc.stdout[-20000:])
    sys.stdout.write(proc.stderr[-5000:])
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    passed = int(m[1]) if (m := PYTEST_PASSED_RE.search(summary)) else 0
    failed = int(m[1]) if (m := PYTEST_FAILED_RE.search(summary)) else 0
    if proc.returncode not in (0,) and not failed:
        failed = 1
    return passed + failed, failed


def cmd_test(args):
    odoo_root()
    check_postgres()
    check_browser()
    BUILD.mkdir(exist_ok=True)
    unit_total, unit_failed = run_unit_tests()
    odoo_total, odoo_failed = (0, 0)
    if not args.unit_only:
        odoo_total, odoo_failed = run_odoo_tests(args.database, args.http_port, args.tags)
    print()
    print("unit tests: %d, Odoo tests: %d" % (unit_total, odoo_total))
    if unit_total == 0 or (not args.unit_only and odoo_total == 0):
        print("error: no test ran")
        sys.exit(1)
    failed = unit_failed + odoo_failed
    print("tests: %d passed, %d failed" % (unit_total + odoo_total - failed, failed))
    sys.exit(1 if failed else 0)


# ----------------------------------------------------------------------
# make run
# ----------------------------------------------------------------------

def psql(database, sql):
    out = subprocess.run(["psql", "-h", os.environ.get("PGHOST", "127.0.0.1"), "-p", os.environ.get("PGPORT", "5432"),
                          "-d", database, "-At", "-c", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def cmd_run(args):
    odoo_root()
    check_postgres()
    BUILD.mkdir(exist_ok=True)
    base_url = "http://127.0.0.1:%d" % args.http_port
    step = ["-u", MODULE] if database_exists(args.database) else ["-i", MODULE]
    print("Preparing database %s (%s)..." % (args.database, "upgrade" if step[0] == "-u" else "install"))
    subprocess.run(odoo_cmd(args.database, *step, "--stop-after-init", "--log-level", "warn"), check=True, cwd=BUILD)
    psql(args.database, "INSERT INTO ir_config_parameter (key, value) VALUES ('web.base.url', '%s'), "
         "('web.base.url.freeze', 'True') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value" % base_url)
    sim_url = "http://127.0.0.1:%d" % SIMULATOR_PORT
    row = psql(args.database, "SELECT id, callback_secret FROM africastalking_account WHERE active "
               "AND environment = 'custom' AND api_url = '%s' ORDER BY id LIMIT 1" % sim_url)
    sim_cmd = [sys.executable, "-m", "tools.at_simulator", "--port", str(SIMULATOR_PORT), "--auto-deliver", "2"]
    if row:
        account_id, secret = row.split("|")
        callback = "%s/sms_africastalking/%s/%s/" % (base_url, account_id, secret)
        sim_cmd += ["--delivery-url", callback + "delivery", "--inbound-url", callback + "inbound",
                    "--optout-url", callback + "optout"]
    else:
        print("warning: no active account points at %s: the simulator will not post reports" % sim_url)
    procs = [subprocess.Popen(sim_cmd, cwd=ROOT)]
    procs.append(subprocess.Popen(odoo_cmd(args.database, "--http-port", str(args.http_port)), cwd=BUILD))
    print("\nOdoo: %s (admin / admin)   Africa's Talking simulator: %s\n"
          "Phones (what the simulator's phones received; reply STOP, choose delivery fates): %s/phones\n"
          "Ctrl-C stops both.\n" % (base_url, sim_url, sim_url), flush=True)
    try:
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    test = sub.add_parser("test", help="every test on a fresh database")
    test.add_argument("--database", default=os.environ.get("TEST_DB", "sms_africastalking_test"))
    test.add_argument("--http-port", type=int, default=int(os.environ.get("TEST_HTTP_PORT", 8169)))
    test.add_argument("--tags", default=os.environ.get("TEST_TAGS", "/" + MODULE))
    test.add_argument("--unit-only", action="store_true")
    test.set_defaults(func=cmd_test)
    run = sub.add_parser("run", help="demo database, simulator and Odoo on http://127.0.0.1:8069")
    run.add_argument("--database", default=os.environ.get("RUN_DB", "sms_africastalking_demo"))
    run.add_argument("--http-port", type=int, default=int(os.environ.get("HTTP_PORT", 8069)))
    run.set_defaults(func=cmd_run)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
