"""Plain pytest tests of ``tools/``: they import the package straight from the repository root, without Odoo."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class _AddonRootIsNotATestPackage:
    """Collect the repository root as a plain directory, not as a Python package.

    The root is the Odoo addon: its ``__init__.py`` imports models with relative imports, and pytest
    imports a package's ``__init__.py`` to set it up, which fails outside Odoo. The root is collected
    with the hooks of its parent directory, so a conftest cannot answer for it; a plugin registered here
    is global and can.
    """

    @staticmethod
    def pytest_collect_directory(path, parent):
        if path == ROOT:
            return pytest.Dir.from_parent(parent, path=path)
        return None


def pytest_configure(config):
    config.pluginmanager.register(_AddonRootIsNotATestPackage(), 'sms_africastalking_addon_root_as_dir')


# pytest-odoo (a dev requirement for the Odoo tests) adds autouse fixtures that open an Odoo registry.
# These tests need no database: the same-named fixtures below take their place for this directory.
@pytest.fixture(scope='session', autouse=True)
def load_registry():
    yield


@pytest.fixture(scope='module', autouse=True)
def enable_odoo_test_flag():
    yield
