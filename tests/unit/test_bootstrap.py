"""scripts/bootstrap.py: which Odoo source is picked, checksums, the stamp that makes a second run reuse the
environment, and the private PostgreSQL fallback decision. No network, no Odoo."""

import hashlib
import io
import socket
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import bootstrap  # noqa: E402  (after the path set-up)


def make_odoo_archive(folder, name="odoo-17.0-abc.tar.xz", major=17):
    """A tiny archive shaped like Odoo's source: one top folder with odoo/release.py and requirements.txt."""
    archive = folder / name
    with tarfile.open(archive, "w:xz") as tar:
        for path, text in (("src/odoo/release.py", "version_info = (%d, 0, 0, 'final', 0, '')\n" % major),
                           ("src/requirements.txt", "python-ldap==3.4.0\nrequests==2.31.0\n")):
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    return archive, digest


def test_odoo_source_wins_over_the_shared_archive(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    archive, digest = make_odoo_archive(shared)
    (shared / "SHA256SUMS").write_text("%s  %s\n" % (digest, archive.name))
    tree = tmp_path / "tree"
    tree.mkdir()
    assert bootstrap.choose_source({"ODOO_SOURCE": str(tree)}, shared).kind == "folder"
    assert bootstrap.choose_source({"ODOO_SOURCE": str(archive)}, tmp_path / "none") == bootstrap.OdooSource(
        "archive", str(archive.resolve()), sha256=digest)
    git = bootstrap.choose_source({"ODOO_SOURCE": "https://example.org/odoo.git#17.0-fix"}, shared)
    assert (git.kind, git.location, git.branch) == ("git", "https://example.org/odoo.git", "17.0-fix")
    assert bootstrap.choose_source({"ODOO_SOURCE": "https://example.org/odoo.git"}, shared).branch == "17.0"


def test_shared_archive_then_upstream(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    assert bootstrap.choose_source({}, shared).kind == "upstream"
    archive, digest = make_odoo_archive(shared)
    (shared / "SHA256SUMS").write_text("%s  %s\n" % (digest, archive.name))
    assert bootstrap.choose_source({}, shared) == bootstrap.OdooSource("archive", str(archive), sha256=digest)


def test_shared_archive_without_checksum_is_refused(tmp_path):
    make_odoo_archive(tmp_path)
    with pytest.raises(bootstrap.BootstrapError, match="no checksum"):
        bootstrap.choose_source({}, tmp_path)


def test_unusable_odoo_source_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(bootstrap.BootstrapError, match="neither"):
        bootstrap.choose_source({"ODOO_SOURCE": str(tmp_path / "notes.txt")}, tmp_path)


def test_checksum_mismatch_fails_and_leaves_no_source_tree(tmp_path, monkeypatch):
    monkeypatch.setattr(bootstrap, "ENV_HOME", tmp_path / "build")
    archive, digest = make_odoo_archive(tmp_path)
    wrong = bootstrap.OdooSource("archive", str(archive), sha256="0" * 64)
    with pytest.raises(bootstrap.BootstrapError, match="checksum mismatch"):
        bootstrap.fetch_source(wrong, "f" * 64)
    assert list((tmp_path / "build").iterdir()) == []  # the temporary folder is gone, nothing published
    good = wrong._replace(sha256=digest)
    tree = bootstrap.fetch_source(good, "f" * 64)
    assert (tree / "odoo" / "release.py").is_file()
    assert tree.parent == tmp_path / "build" / ("odoo-src-" + "f" * 12)


def test_a_non_17_tree_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(bootstrap, "ENV_HOME", tmp_path / "build")
    archive, digest = make_odoo_archive(tmp_path, major=16)
    with pytest.raises(bootstrap.BootstrapError, match="not an Odoo 17"):
        bootstrap.fetch_source(bootstrap.OdooSource("archive", str(archive), sha256=digest), "e" * 64)


def test_stamp_reuse_and_invalidation(tmp_path):
    (tmp_path / "requirements.txt").write_text("phonenumbers\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    source = bootstrap.OdooSource("archive", "/x/odoo-17.0-abc.tar.xz", sha256="a" * 64)
    stamp = bootstrap.compute_stamp(source, tmp_path, "3.11")
    stamp_file = tmp_path / "stamp"
    assert not bootstrap.environment_is_current(stamp, stamp_file)  # never built
    stamp_file.write_text(stamp + "\n")
    assert bootstrap.environment_is_current(bootstrap.compute_stamp(source, tmp_path, "3.11"), stamp_file)
    # Any of: a requirement, the Odoo source, the Python version changes -> rebuild.
    assert bootstrap.compute_stamp(source, tmp_path, "3.12") != stamp
    assert bootstrap.compute_stamp(source._replace(sha256="b" * 64), tmp_path, "3.11") != stamp
    (tmp_path / "requirements-dev.txt").write_text("pytest\nruff\n")
    assert not bootstrap.environment_is_current(bootstrap.compute_stamp(source, tmp_path, "3.11"), stamp_file)


def test_python_ldap_is_left_out_of_odoos_requirements():
    text = "Babel==2.10.3\npython-ldap==3.4.0 ; sys_platform != 'win32'\nPython-LDAP>=3\nrequests==2.31.0\n"
    assert bootstrap.filter_requirements(text) == "Babel==2.10.3\nrequests==2.31.0\n"


def test_sha256sums_parsing(tmp_path):
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("%s  odoo.tar.xz\n%s *other.tar.gz\ngarbage\n" % ("A" * 64, "b" * 64))
    assert bootstrap.read_sha256sums(sums) == {"odoo.tar.xz": "a" * 64, "other.tar.gz": "b" * 64}


def test_postgres_probe():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert bootstrap.postgres_answers("127.0.0.1", port)
    assert not bootstrap.postgres_answers("127.0.0.1", port, timeout=0.5)


def test_external_python_must_import_odoo_17(tmp_path):
    # `python -I -S`: no site-packages, so no Odoo, whatever this environment has.
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\nexec %s -I -S \"$@\"\n" % sys.executable)
    python.chmod(0o755)
    with pytest.raises(bootstrap.BootstrapError, match="does not import Odoo 17"):
        bootstrap.ensure_environment({"ODOO_PYTHON": str(python)})
