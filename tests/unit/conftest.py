"""Plain pytest tests of ``tools/``: they import the package straight from the repository root, without Odoo."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
