"""Plain pytest tests of ``tools/``: they import the package straight from the repository root, without Odoo.

``pytest.ini`` beside this file makes this folder the rootdir (so the addon's root package, which imports Odoo, is
never collected) and disables the pytest-odoo plugin (these tests need no database).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402 - after the sys.path set-up above, which must run first

# The repository root is the Odoo addon, so pytest collects it as a package and, before the first test, imports
# its __init__.py to look for setup_module. That import pulls in models/controllers (Odoo) and fails when the
# checkout directory is not a valid package name (a worktree called "wt-tools"). Unit tests of tools/ must run
# without Odoo, and the addon's __init__.py defines no setup_module, so skipping that one import loses nothing.
_package_setup = pytest.Package.setup


def _setup_package_unless_addon_root(self):
    if self.path == ROOT:
        return None
    return _package_setup(self)


pytest.Package.setup = _setup_package_unless_addon_root


# pytest-odoo, when installed, adds autouse fixtures that open an Odoo registry for every test session. These
# tests never touch a database: same-named fixtures here replace them for everything under tests/unit.
@pytest.fixture(scope="session", autouse=True)
def load_registry():
    yield


@pytest.fixture(scope="module", autouse=True)
def enable_odoo_test_flag():
    yield
