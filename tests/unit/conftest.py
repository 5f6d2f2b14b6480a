"""Plain pytest tests of ``tools/``: they import the package straight from the repository root, without Odoo.

``pytest.ini`` beside this file makes this folder the rootdir (so the addon's root package, which imports Odoo, is
never collected) and disables the pytest-odoo plugin (these tests need no database).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
