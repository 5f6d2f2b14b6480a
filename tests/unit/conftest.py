"""Plain pytest tests of ``tools/`` and ``simulator/``: they import both packages from the repository root, no Odoo.

``pytest.ini`` beside this file makes this folder the rootdir (so the addon's root package, which imports Odoo, is
never collected) and disables the pytest-odoo plugin (these tests need no database).
"""
import os
import sys
from pathlib import Path

import pytest
from callback_receiver import CallbackReceiver
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# CI must be reproducible: the same examples every run. A new failing example is searched for locally with
# HYPOTHESIS_PROFILE=explore, then kept as an explicit test.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def receiver():
    """A local HTTP server recording the simulator's callbacks, one per test module (callback_receiver.py)."""
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()
