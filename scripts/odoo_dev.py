#!/usr/bin/env python3
"""The project's commands: `test`, `unit`, `run`, `lint`, `bench`, `stress`.

Each command first makes sure its environment exists (scripts/bootstrap.py: a project environment with Odoo 17
and every requirement, built the first time and reused afterwards; Debian packages; PostgreSQL, private when none
answers), then runs itself again inside that environment. Odoo is never part of this repository.

The addon folder must carry the technical name, so a link
``~/.cache/sms_africastalking/<hash>/addons/sms_africastalking`` points at this checkout whatever its folder is called.
"""

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bootstrap  # noqa: E402  (after the path set-up)

ROOT = Path(__file__).resolve().parents[1]
MODULE = "sms_africastalking"
BUILD = ROOT / ".build"  # logs, keys and the working directory of Odoo processes
# The addons-path entry holding a link named after the module. It lives outside the checkout: a link inside it
# to the checkout itself would make a loop for every tool that walks the module's folder (e.g. the .pot export).
ADDONS_LINK_DIR = bootstrap.ENV_HOME / "addons"
SIMULATOR_PORT = int(os.environ.get("SIMULATOR_PORT", 8071))
# Set in the environment of the re-executed command: we already run inside the project environment.
INSIDE_ENV = "SMS_AFRICASTALKING_ENV"
# The key that encrypts AT API keys at rest; Odoo reads it from this variable (or `sms_africastalking_key` in its
# configuration file). For the project's own databases it is generated once and kept in .build/.
ENCRYPTION_KEY_VAR = "SMS_AFRICASTALKING_KEY"
DEFAULT_TEST_DB = "sms_africastalking_test"


def fail(message):
    print("error: " + message, file=sys.stderr)
    sys.exit(2)


def odoo_root():
    """The Odoo 17 source tree this python3 imports, or a clear failure."""
    try:
        import odoo
        import odoo.release
    except ImportError:
        fail("Odoo 17 is not importable by %s. Run the commands through `make` (they set up the project "
             "environment), or set ODOO_PYTHON to a Python that imports Odoo 17." % sys.executable)
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


def pg_connect(dbname="postgres"):
    import psycopg2

    return psycopg2.connect(dbname=dbname, host=os.environ.get("PGHOST", "127.0.0.1"),
                            port=os.environ.get("PGPORT", "5432"), user=os.environ.get("PGUSER") or None,
                            connect_timeout=5)


def check_postgres():
    import psycopg2

    try:
        pg_connect().close()
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
    conn = pg_connect()
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute('DROP DATABASE IF EXISTS "%s"' % database.replace('"', '""'))
    conn.close()


def create_database(database, template="template0"):
    conn = pg_connect()
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute('CREATE DATABASE "%s" TEMPLATE "%s"' % (database.replace('"', '""'), template.replace('"', '""')))
    conn.close()


def database_exists(database):
    conn = pg_connect()
    with conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        exists = bool(cr.fetchone())
    conn.close()
    return exists


def check_browser():
    """Tours need Chromium and websocket-client: without them Odoo skips them silently, so refuse to run."""
    try:
        bootstrap.ensure_debian_packages({"chromium": "chromium"}, "the browser tests")
    except bootstrap.BootstrapError as exc:
        fail(str(exc))
    try:
        import websocket  # noqa: F401  (Odoo drives Chromium through it)
    except ImportError:
        fail("The websocket-client package is missing: the tours would be skipped. It is in requirements-dev.txt.")


def ensure_encryption_key():
    """The key that encrypts AT API keys at rest, for the project's own databases (generated once, mode 0600)."""
    if os.environ.get(ENCRYPTION_KEY_VAR):
        return
    BUILD.mkdir(exist_ok=True)
    key_file = BUILD / "africastalking.key"
    if not key_file.is_file():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n")
    os.environ[ENCRYPTION_KEY_VAR] = key_file.read_text().strip()


# ----------------------------------------------------------------------
# make test
# ----------------------------------------------------------------------

ODOO_RESULT_RE = re.compile(r"odoo\.tests\.result: (\d+) failed, (\d+) error\(s\) of (\d+) tests")
PYTEST_PASSED_RE = re.compile(r"(\d+) passed")
PYTEST_FAILED_RE = re.compile(r"(\d+) (?:failed|errors?)")


def run_odoo_tests(database, http_port, tags):
    """Install the addon on a fresh database with its tests; return (tests, failures) from Odoo's report."""
    drop_database(database)
    # One log per database, so two runs in one checkout (e.g. another TEST_DB) do not write into each other's.
    log_file = BUILD / ("odoo-tests.log" if database == DEFAULT_TEST_DB else "odoo-tests-%s.log" % database)
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
    BUILD.mkdir(exist_ok=True)
    bootstrap.ensure_debian_packages({"antiword": "antiword"}, "the .doc import tests")
    if not args.unit_only:
        check_postgres()
        check_browser()
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

# Run inside `odoo shell` once the database is ready: base URL, admin password, a fresh callback secret for the
# simulator (only a hash of it is stored, so the plain secret exists only in this run). Prints one JSON line.
RUN_SETUP_SCRIPT = """
import json
params = env["ir.config_parameter"].sudo()
params.set_param("web.base.url", %(base_url)r)
params.set_param("web.base.url.freeze", "True")
if %(password)r:
    env.ref("base.user_admin").password = %(password)r
account = env["africastalking.account"].search(
    [("environment", "=", "custom"), ("api_url", "=", %(sim_url)r)], order="id", limit=1)
demo_account = env.ref("sms_africastalking.africastalking_account_demo_simulator", raise_if_not_found=False)
if not account and demo_account:  # the simulator runs on another port than the demo data says (SIMULATOR_PORT)
    account = demo_account.sudo()
    account.api_url = %(sim_url)r
secret = ""
if account:
    secret = account._generate_callback_secret()
env.cr.commit()
print("SMS_AT_SETUP " + json.dumps({"account": account.id, "secret": secret}))
"""


class Ticker:
    """Says every few seconds that a long step is still running, so a first run never looks hung."""

    def __init__(self, what, every=15):
        self.what, self.every, self.started = what, every, time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def _tick(self):
        while not self._stop.wait(self.every):
            print("  ... %s (%d s)" % (self.what, time.monotonic() - self.started), flush=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def elapsed(self):
        return time.monotonic() - self.started


def run_logged(cmd, log_file, what):
    """Run a quiet Odoo step with its log in a file; on failure show the end of the log and stop."""
    with open(log_file, "w") as log, Ticker(what) as ticker:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=BUILD, stdin=subprocess.DEVNULL).returncode
    if rc:
        print("".join(Path(log_file).read_text().splitlines(keepends=True)[-30:]), file=sys.stderr)
        fail("%s failed (exit %s); the whole log is in %s" % (what, rc, log_file))
    return ticker.elapsed


def is_loopback(interface):
    return interface in ("127.0.0.1", "localhost", "::1") or interface.startswith("127.")


def run_config(interface):
    """Odoo's configuration for `make run`: no database manager, a master password nobody knows."""
    conf = BUILD / "odoo-run.conf"
    conf.write_text("[options]\nadmin_passwd = %s\nlist_db = False\nhttp_interface = %s\n"
                    % (secrets.token_urlsafe(24), interface))
    conf.chmod(0o600)
    return conf


def admin_password(interface):
    """ADMIN_PASSWORD when given; admin/admin only while Odoo listens on loopback; else a random one."""
    if os.environ.get("ADMIN_PASSWORD"):
        return os.environ["ADMIN_PASSWORD"], False
    if is_loopback(interface):
        return "", False
    return secrets.token_urlsafe(12), True


def prepare_database(args, conf):
    install = not database_exists(args.database)
    print("Preparing the database %s: %s" % (args.database, (
        "installing Odoo's SMS Marketing, the addon and the Kenyan demo data (about 2 minutes the first time)"
        if install else "upgrading the addon")), flush=True)
    log_file = BUILD / "odoo-prepare.log"
    elapsed = run_logged(odoo_cmd(args.database, "-c", str(conf), "-i" if install else "-u", MODULE,
                                  "--stop-after-init", "--log-level", "warn", "--no-http"),
                         log_file, "still preparing the database")
    print("Database ready in %.0f s." % elapsed, flush=True)


def configure_database(args, base_url, sim_url, password):
    shell = [sys.executable, "-m", "odoo", "shell", "-d", args.database, "--addons-path", addons_path(), *db_args(),
             "--no-http", "--log-level", "warn"]
    proc = subprocess.run(shell,
                          input=RUN_SETUP_SCRIPT % {"base_url": base_url, "sim_url": sim_url, "password": password},
                          capture_output=True, text=True, cwd=BUILD)
    for line in proc.stdout.splitlines():
        if line.startswith("SMS_AT_SETUP "):
            return json.loads(line[len("SMS_AT_SETUP "):])
    print(proc.stderr[-3000:], file=sys.stderr)
    fail("configuring the demo database failed")


def simulator_command(base_url, setup):
    cmd = [sys.executable, "-m", "simulator.at_simulator", "--port", str(SIMULATOR_PORT), "--auto-deliver", "2"]
    if setup["account"] and setup["secret"]:
        callback = "%s/sms_africastalking/%s/%s/" % (base_url, setup["account"], setup["secret"])
        cmd += ["--delivery-url", callback + "delivery", "--inbound-url", callback + "inbound",
                "--optout-url", callback + "optout"]
    else:
        print("warning: no AT account points at the simulator: it will not post delivery reports", flush=True)
    return cmd


def wait_until_ready(base_url, database, login, password, proc, timeout=600):
    """Wait until Odoo answers, then load the backend's asset bundles once, so the first page opens at once."""
    deadline = time.monotonic() + timeout
    with Ticker("Odoo is starting and building its web assets"):
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(base_url + "/web/login", timeout=5).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            return False
        with contextlib.suppress(OSError, ValueError):
            warm_up_assets(base_url, database, login, password)
    return proc.poll() is None


def warm_up_assets(base_url, database, login, password):
    import http.cookiejar

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    body = json.dumps({"jsonrpc": "2.0", "params": {"db": database, "login": login, "password": password}}).encode()
    opener.open(urllib.request.Request(base_url + "/web/session/authenticate", data=body,
                                       headers={"Content-Type": "application/json"}), timeout=60).read()
    page = opener.open(base_url + "/web", timeout=600).read().decode("utf-8", "replace")
    for asset in sorted(set(re.findall(r'(?:src|href)="(/web/assets/[^"]+)"', page))):
        opener.open(base_url + asset, timeout=600).read()


def _signal_and_wait(procs, sig, seconds):
    """Send ``sig`` to the processes still running; wait up to ``seconds`` for all of them to end."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(sig)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(proc.poll() is None for proc in procs):
        time.sleep(0.05)


def stop_processes(procs):
    """Ctrl-C: everything stopped within about two seconds (a second SIGINT makes Odoo skip its graceful wait)."""
    _signal_and_wait(procs, signal.SIGINT, 1.0)
    _signal_and_wait(procs, signal.SIGINT, 0.7)
    _signal_and_wait(procs, signal.SIGKILL, 1.0)


def cmd_run(args):
    odoo_root()
    check_postgres()
    BUILD.mkdir(exist_ok=True)
    with contextlib.suppress(bootstrap.BootstrapError):  # .doc import only; the wizard explains when it is missing
        bootstrap.ensure_debian_packages({"antiword": "antiword"}, "importing legacy .doc files")
    interface = os.environ.get("HTTP_INTERFACE", "127.0.0.1")
    if not is_loopback(interface):
        print("warning: Odoo will listen on %s, reachable from the network" % interface, flush=True)
    conf = run_config(interface)
    prepare_database(args, conf)
    base_url = "http://%s:%d" % ("127.0.0.1" if is_loopback(interface) else interface, args.http_port)
    sim_url = "http://127.0.0.1:%d" % SIMULATOR_PORT
    password, generated = admin_password(interface)
    setup = configure_database(args, base_url, sim_url, password)
    procs = [subprocess.Popen(simulator_command(base_url, setup), cwd=ROOT),
             subprocess.Popen(odoo_cmd(args.database, "-c", str(conf), "--http-port", str(args.http_port),
                                       "--log-level", "warn"), cwd=BUILD)]
    try:
        if not wait_until_ready(base_url, args.database, "admin", password or "admin", procs[1]):
            fail("Odoo did not start; see its messages above")
        print("\nOdoo is ready: %s   login admin, password %s\n"
              "Africa's Talking simulator: %s   phones (what they received; reply STOP, choose delivery fates): "
              "%s/phones\nCtrl-C stops both.\n" % (
                  base_url, password if generated else ("(ADMIN_PASSWORD)" if password else "admin"),
                  sim_url, sim_url), flush=True)
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.3)
    except KeyboardInterrupt:
        pass
    finally:
        stop_processes(procs)


# ----------------------------------------------------------------------
# make lint / bench / stress / unit
# ----------------------------------------------------------------------

PYLINT_TARGETS = ["models", "controllers", "wizard", "tools", "simulator", "tests", "__init__.py", "__manifest__.py"]


def cmd_lint(args):
    rc = 0
    if args.only in (None, "ruff"):
        rc |= subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT).returncode
    if args.only in (None, "pylint"):
        rc |= subprocess.run([sys.executable, "-m", "pylint", "--rcfile=.pylintrc",
                              "--disable=prefer-env-translation", *PYLINT_TARGETS], cwd=ROOT).returncode
    sys.exit(1 if rc else 0)


def cmd_script(args):
    """bench/run.py or bench/stress.py, with this environment's Python and PostgreSQL."""
    odoo_root()
    check_postgres()
    BUILD.mkdir(exist_ok=True)
    rest = [arg for arg in args.rest if arg != "--"]
    sys.exit(subprocess.run([sys.executable, str(ROOT / "bench" / args.script), *rest], cwd=ROOT).returncode)


def enter_environment():
    """Run this command again with the project's Python (built the first time), unless we already do."""
    if os.environ.get(INSIDE_ENV) == "1":
        return
    try:
        python = bootstrap.ensure_environment()
    except bootstrap.BootstrapError as exc:
        fail(str(exc))
    os.environ[INSIDE_ENV] = "1"
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def _exit_on_sigterm(*_args):
    raise SystemExit(143)  # so a private PostgreSQL cluster is stopped by the `finally` below


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    test = sub.add_parser("test", help="every test on a fresh database")
    test.add_argument("--database", default=os.environ.get("TEST_DB", DEFAULT_TEST_DB))
    test.add_argument("--http-port", type=int, default=int(os.environ.get("TEST_HTTP_PORT", 8169)))
    test.add_argument("--tags", default=os.environ.get("TEST_TAGS", "/" + MODULE))
    test.add_argument("--unit-only", action="store_true")
    test.set_defaults(func=cmd_test, database_needed=True)
    run = sub.add_parser("run", help="demo database, simulator and Odoo on http://127.0.0.1:8069")
    run.add_argument("--database", default=os.environ.get("RUN_DB", "sms_africastalking_demo"))
    run.add_argument("--http-port", type=int, default=int(os.environ.get("HTTP_PORT", 8069)))
    run.set_defaults(func=cmd_run, database_needed=True)
    lint = sub.add_parser("lint", help="ruff and pylint-odoo")
    lint.add_argument("--only", choices=("ruff", "pylint"), help="one of the two (the pre-commit hooks)")
    lint.set_defaults(func=cmd_lint, database_needed=False)
    setup = sub.add_parser("setup", help="only set up the environment")
    setup.set_defaults(func=lambda _args: print(sys.executable), database_needed=False)
    for name, script in (("bench", "run.py"), ("stress", "stress.py")):
        command = sub.add_parser(name, help="bench/" + script)
        command.add_argument("rest", nargs=argparse.REMAINDER)
        command.set_defaults(func=cmd_script, script=script, database_needed=True)
    args = parser.parse_args()
    enter_environment()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if args.command == "test" and args.unit_only:
        args.database_needed = False
    with bootstrap.postgres() if args.database_needed else contextlib.nullcontext():
        ensure_encryption_key()
        args.func(args)


if __name__ == "__main__":
    main()
