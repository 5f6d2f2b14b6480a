"""Set up, the first time, what the project's commands need; reuse it afterwards.

Standard library only: this runs under whatever ``python3`` calls ``make``, before Odoo exists.

- A project environment (``~/.cache/sms_africastalking/<hash of the checkout's path>/venv``) with Odoo 17.0 (its
  Python requirements, the source on the path through a ``.pth`` file) and the addon's runtime and development
  requirements. It is reused while its stamp matches (the requirements files, where Odoo comes from, the Python
  version); a mismatch rebuilds it. The stamp is written last, so an interrupted build is never used: the next
  command starts over.
- Where Odoo comes from, in this order: ``ODOO_SOURCE`` (an archive ``.tar.xz``/``.tar.gz``, a source folder, or a
  git URL, optionally ``URL#branch``); the archive in ``../shared/odoo/`` beside the checkout, checked against its
  ``SHA256SUMS``; Odoo's official 17.0 source (a shallow git clone, else its source archive).
- ``ODOO_PYTHON``: a Python that already imports Odoo 17 (and the addon's requirements); then nothing is built.
- Debian packages the commands need, installed when missing if we run as root; otherwise one clear message.
- PostgreSQL: the server at ``PGHOST``/``PGPORT`` when one answers, else a private cluster under ``.build/pg``.
"""

import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
# The environment and Odoo's source live outside the checkout on purpose: the checkout is the addon's folder, and Odoo
# walks an addon's folder (its translation export extracts every .py, .js and .xml below it), so a virtualenv or
# Odoo's source inside it would end up in the addon's .pot. Keyed by the checkout's path: each clone has its own.
ENV_HOME = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sms_africastalking" / (
    hashlib.sha1(str(ROOT).encode()).hexdigest()[:12])
VENV = ENV_HOME / "venv"
BUILD = ROOT / ".build"  # logs, keys, a private PostgreSQL cluster: no source files
STAMP = VENV / ".sms_africastalking-stamp"
SHARED_ODOO = ROOT.parent / "shared" / "odoo"
UPSTREAM_GIT = "https://github.com/odoo/odoo.git"
UPSTREAM_ARCHIVE = "https://github.com/odoo/odoo/archive/refs/heads/17.0.tar.gz"
ODOO_BRANCH = "17.0"
# Bumped when the way the environment is built changes, so existing environments are rebuilt.
BOOTSTRAP_VERSION = "1"
# python-ldap only serves Odoo's auth_ldap, which this addon never installs; skipping it spares a C build that needs
# Debian's libldap2-dev and libsasl2-dev on machines where no wheel fits.
SKIPPED_REQUIREMENTS = ("python-ldap",)


class BootstrapError(Exception):
    """A clear, one-line reason why the environment cannot be set up."""


class OdooSource(NamedTuple):
    kind: str  # "archive", "folder", "git" or "upstream"
    location: str
    branch: str = ""
    sha256: str = ""  # the expected checksum of an archive, when a SHA256SUMS file gives one

    def identity(self):
        """What the stamp keys on: enough to notice another source, cheap to compute on every command."""
        if self.kind == "archive":
            return "archive:%s:%s" % (Path(self.location).name, self.sha256 or Path(self.location).stat().st_size)
        return "%s:%s:%s" % (self.kind, self.location, self.branch)


def log(message):
    print("[setup] " + message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------
# Decisions (pure, unit-tested)
# ----------------------------------------------------------------------

def read_sha256sums(sums_file):
    """{file name: sha256} from a ``sha256sum`` output file."""
    sums = {}
    for line in Path(sums_file).read_text().splitlines():
        if match := re.match(r"^([0-9a-fA-F]{64})\s+\*?(.+)$", line.strip()):
            sums[match[2].strip()] = match[1].lower()
    return sums


def choose_source(environ, shared_dir=SHARED_ODOO):
    """Where Odoo comes from: ODOO_SOURCE, else the shared archive beside the checkout, else upstream 17.0."""
    wanted = environ.get("ODOO_SOURCE", "").strip()
    if wanted:
        if re.match(r"^(https?|git|ssh)://|^git@", wanted) or wanted.endswith(".git") or ".git#" in wanted:
            url, _sep, branch = wanted.partition("#")
            return OdooSource("git", url, branch or ODOO_BRANCH)
        path = Path(wanted).expanduser()
        if path.is_dir():
            return OdooSource("folder", str(path.resolve()))
        if path.is_file() and path.name.endswith((".tar.xz", ".tar.gz", ".tgz")):
            sums_file = path.parent / "SHA256SUMS"
            expected = read_sha256sums(sums_file).get(path.name, "") if sums_file.is_file() else ""
            return OdooSource("archive", str(path.resolve()), sha256=expected)
        raise BootstrapError("ODOO_SOURCE=%s is neither a .tar.xz/.tar.gz archive, a folder nor a git URL" % wanted)
    shared_dir = Path(shared_dir)
    archives = sorted(shared_dir.glob("odoo-17.0-*.tar.xz")) if shared_dir.is_dir() else []
    if archives:
        archive = archives[-1]
        sums_file = shared_dir / "SHA256SUMS"
        expected = read_sha256sums(sums_file).get(archive.name) if sums_file.is_file() else None
        if not expected:
            raise BootstrapError("%s has no checksum in %s" % (archive, sums_file))
        return OdooSource("archive", str(archive), sha256=expected)
    return OdooSource("upstream", UPSTREAM_GIT, ODOO_BRANCH)


def compute_stamp(source, root=ROOT, python_version=None):
    """The environment's identity: requirements, Odoo's source, the Python version and this script's version."""
    digest = hashlib.sha256()
    for part in (BOOTSTRAP_VERSION, python_version or "%d.%d" % sys.version_info[:2], source.identity()):
        digest.update(part.encode() + b"\0")
    for name in ("requirements.txt", "requirements-dev.txt"):
        path = Path(root) / name
        digest.update(path.read_bytes() if path.is_file() else b"")
        digest.update(b"\0")
    return digest.hexdigest()


def environment_is_current(stamp, stamp_file=STAMP):
    stamp_file = Path(stamp_file)
    return stamp_file.is_file() and stamp_file.read_text().strip() == stamp


def filter_requirements(text, skipped=SKIPPED_REQUIREMENTS):
    """Odoo's requirements.txt without the packages the addon never needs."""
    kept = []
    for line in text.splitlines():
        name = re.split(r"[\s=<>!~;\[]", line.strip(), maxsplit=1)[0].lower()
        if name in skipped:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def verify_checksum(archive, expected):
    digest = hashlib.sha256()
    with open(archive, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected.lower():
        raise BootstrapError("checksum mismatch for %s: expected %s, got %s (a damaged or different file)"
                             % (archive, expected, digest.hexdigest()))


def find_odoo_tree(folder):
    """The folder holding ``odoo/release.py`` (an archive may wrap the tree in one top folder)."""
    folder = Path(folder)
    for candidate in (folder, *sorted(path for path in folder.iterdir() if path.is_dir())):
        if (candidate / "odoo" / "release.py").is_file():
            return candidate
    raise BootstrapError("no Odoo source tree (odoo/release.py) in %s" % folder)


def odoo_major_version(tree):
    text = (Path(tree) / "odoo" / "release.py").read_text()
    match = re.search(r"^version_info\s*=\s*\((\d+)", text, re.M)
    return int(match[1]) if match else None


# ----------------------------------------------------------------------
# Getting Odoo's source
# ----------------------------------------------------------------------

def _fresh_temp_dir(prefix):
    ENV_HOME.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=ENV_HOME))


def _publish(temp_dir, final_dir):
    """Rename a completely built folder into place: a half-made one never has the final name."""
    if final_dir.exists():
        shutil.rmtree(final_dir)
    temp_dir.rename(final_dir)
    return final_dir


def _extract_archive(archive, destination):
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse links and paths leaving the destination
            tar.extractall(destination, filter="data")
        else:
            tar.extractall(destination)  # noqa: S202  (an archive we chose: ODOO_SOURCE, shared/ or Odoo's own)


def fetch_source(source, stamp):
    """A local Odoo 17 source tree for ``source``: used in place for a folder, else built under .build/."""
    if source.kind == "folder":
        tree = find_odoo_tree(source.location)
    else:
        final_dir = ENV_HOME / ("odoo-src-" + stamp[:12])
        if final_dir.is_dir() and (final_dir / ".complete").is_file():
            return find_odoo_tree(final_dir)
        temp_dir = _fresh_temp_dir("odoo-src-")
        try:
            if source.kind == "archive":
                if source.sha256:
                    log("checking %s against its SHA256SUMS" % Path(source.location).name)
                    verify_checksum(source.location, source.sha256)
                log("unpacking %s" % source.location)
                _extract_archive(source.location, temp_dir)
            else:
                _download_upstream(source, temp_dir)
            (temp_dir / ".complete").write_text("")
            tree = find_odoo_tree(_publish(temp_dir, final_dir))
        except BaseException:
            shutil.rmtree(temp_dir, ignore_errors=True)
            raise
    if odoo_major_version(tree) != 17:
        raise BootstrapError("%s is not an Odoo 17 source tree" % tree)
    return tree


def _download_upstream(source, destination):
    if shutil.which("git"):
        log("cloning %s (branch %s, shallow)" % (source.location, source.branch))
        proc = subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", source.branch,
                               source.location, str(destination / "odoo")], capture_output=True, text=True)
        if proc.returncode == 0:
            return
        if source.kind == "git":
            raise BootstrapError("git clone of %s failed: %s" % (source.location, proc.stderr.strip()[-300:]))
        log("git clone failed, trying Odoo's source archive")
    if source.kind == "git":
        raise BootstrapError("git is not installed: cannot clone %s" % source.location)
    archive = destination / "odoo-17.0.tar.gz"
    log("downloading %s" % UPSTREAM_ARCHIVE)
    try:
        with urllib.request.urlopen(UPSTREAM_ARCHIVE, timeout=60) as response, open(archive, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        raise BootstrapError("cannot download Odoo 17.0 (%s); set ODOO_SOURCE to an archive or a folder" % exc) from exc
    _extract_archive(archive, destination)
    archive.unlink()


# ----------------------------------------------------------------------
# The environment
# ----------------------------------------------------------------------

def _run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise BootstrapError("%s failed:\n%s" % (what, "\n".join(tail)))
    return proc.stdout


def _site_packages(python):
    return Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     "locating site-packages").strip())


def build_environment(source, stamp):
    started = time.monotonic()
    tree = fetch_source(source, stamp)
    if VENV.exists():
        log("rebuilding %s (requirements or Odoo source changed)" % VENV)
        shutil.rmtree(VENV)
    log("creating %s with %s" % (VENV, sys.executable))
    _run([sys.executable, "-m", "venv", str(VENV)], "python3 -m venv")
    python = VENV / "bin" / "python"
    requirements = ENV_HOME / "odoo-requirements.txt"
    requirements.write_text(filter_requirements((tree / "requirements.txt").read_text()))
    log("installing Odoo's and the addon's Python requirements (about a minute)")
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements),
          "-r", str(ROOT / "requirements.txt"), "-r", str(ROOT / "requirements-dev.txt")], "pip install")
    (_site_packages(python) / "odoo-17-source.pth").write_text(str(tree) + "\n")
    version = _run([str(python), "-c", "import odoo.release as r; print(r.version_info[0])"], "import odoo").strip()
    if version != "17":
        raise BootstrapError("the environment imports Odoo %s, not 17" % version)
    STAMP.write_text(stamp + "\n")
    log("environment ready in %.0f s: %s" % (time.monotonic() - started, VENV))
    return python


@contextlib.contextmanager
def _build_lock():
    """One build at a time per checkout (two `make` commands started together)."""
    import fcntl

    ENV_HOME.mkdir(parents=True, exist_ok=True)
    with open(ENV_HOME / "bootstrap.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def check_external_python(python):
    proc = subprocess.run([python, "-c", "import odoo.release as r; print(r.version_info[0])"],
                          capture_output=True, text=True)
    if proc.returncode or proc.stdout.strip() != "17":
        raise BootstrapError("ODOO_PYTHON=%s does not import Odoo 17" % python)
    return Path(python)


def ensure_environment(environ=os.environ):
    """The Python to run the commands with, building the project environment the first time."""
    if environ.get("ODOO_PYTHON"):
        return check_external_python(environ["ODOO_PYTHON"])
    source = choose_source(environ)
    stamp = compute_stamp(source)
    if environment_is_current(stamp):
        return VENV / "bin" / "python"
    with _build_lock():
        if environment_is_current(stamp):  # built by a command that held the lock before us
            return VENV / "bin" / "python"
        return build_environment(source, stamp)


# ----------------------------------------------------------------------
# Debian packages
# ----------------------------------------------------------------------

def ensure_debian_packages(commands, purpose):
    """Install the Debian packages providing ``commands`` ({command: package}) when missing."""
    missing = sorted({package for command, package in commands.items() if not shutil.which(command)})
    if not missing:
        return
    line = "apt-get install -y " + " ".join(missing)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BootstrapError("%s need(s) Debian's %s: run `%s` as root" % (purpose, ", ".join(missing), line))
    log("installing Debian's %s (%s)" % (", ".join(missing), purpose))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode:
            raise BootstrapError("`%s` failed: %s" % (" ".join(cmd), proc.stderr.strip()[-300:]))


# ----------------------------------------------------------------------
# PostgreSQL
# ----------------------------------------------------------------------

def postgres_answers(host, port, timeout=2.0):
    """True when something accepts connections at host:port (a PostgreSQL server is assumed there)."""
    try:
        if host.startswith("/"):
            path = os.path.join(host, ".s.PGSQL.%s" % port)
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(timeout)
                sock.connect(path)
        else:
            with socket.create_connection((host, int(port)), timeout=timeout):
                pass
    except OSError:
        return False
    return True


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bindir():
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    if initdb := shutil.which("initdb"):
        return Path(initdb).resolve().parent
    return None


class PrivateCluster:
    """A PostgreSQL cluster of the project under .build/pg, on a free local port, stopped when the command ends.

    PostgreSQL refuses to run as root: as root the cluster runs as the ``postgres`` system user. Odoo connects over
    TCP as a database superuser named after the current user (Odoo refuses to connect as ``postgres``).
    """

    def __init__(self):
        self.bindir = _postgres_bindir()
        self.port = _free_port()
        self.dbuser = os.environ.get("PGUSER") or _current_user()
        self.run_as = "postgres" if os.geteuid() == 0 else None
        self.data = self._data_dir()

    def _data_dir(self):
        base = BUILD / "pg"
        if self.run_as and not self._can_reach(base.parent):
            # The checkout sits below a folder the postgres user cannot enter (e.g. a private temporary folder).
            base = Path(tempfile.gettempdir()) / ("sms_africastalking-pg-" + hashlib.sha1(
                str(ROOT).encode()).hexdigest()[:12])
        return base

    def _as_postgres(self, cmd):
        # runuser lives in /usr/sbin, which a non-login root PATH may lack.
        runuser = shutil.which("runuser") or next(
            (path for path in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(path)), None)
        if not runuser:
            raise BootstrapError("runuser (util-linux) is needed to run PostgreSQL as the postgres user")
        return [runuser, "-u", self.run_as, "--", *cmd]

    def _can_reach(self, path):
        return subprocess.run(self._as_postgres(["test", "-x", str(path)])).returncode == 0

    def _cmd(self, *cmd):
        cmd = [str(self.bindir / cmd[0]), *cmd[1:]]
        return self._as_postgres(cmd) if self.run_as else cmd

    def start(self):
        if self.bindir is None:
            ensure_debian_packages({"pg_ctlcluster": "postgresql"}, "a private PostgreSQL cluster")
            self.bindir = _postgres_bindir()
            if self.bindir is None:
                raise BootstrapError("PostgreSQL's initdb is not found even after installing postgresql")
        self.data.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            shutil.chown(self.data, self.run_as)
        if not (self.data / "PG_VERSION").is_file():
            log("creating a private PostgreSQL cluster in %s" % self.data)
            _run(self._cmd("initdb", "-D", str(self.data), "-U", self.dbuser, "--auth=trust", "-E", "UTF8",
                           "--locale=C.UTF-8"), "initdb")
        log("starting the private PostgreSQL cluster on 127.0.0.1:%s" % self.port)
        _run(self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-t", "60",
                       "-o", "-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off" % (self.port, self.data),
                       "start"), "starting PostgreSQL")
        return self

    def stop(self):
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"), capture_output=True)
        log("private PostgreSQL cluster stopped")

    def environ(self):
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.port), "PGUSER": self.dbuser}


def _current_user():
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


@contextlib.contextmanager
def postgres(environ=os.environ):
    """PostgreSQL for the command: the configured server when it answers, else a private cluster for its duration.

    Yields the PG* variables to use (they are also set in ``os.environ`` for child processes).
    """
    host = environ.get("PGHOST", "127.0.0.1")
    port = environ.get("PGPORT", "5432")
    if postgres_answers(host, port):
        values = {"PGHOST": host, "PGPORT": port}
        os.environ.update(values)
        yield values
        return
    log("no PostgreSQL answers at %s:%s" % (host, port))
    cluster = PrivateCluster().start()
    os.environ.update(cluster.environ())
    try:
        yield cluster.environ()
    finally:
        cluster.stop()
