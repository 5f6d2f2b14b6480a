from odoo.tools import SQL

from . import controllers
from . import models
from . import wizard
from .models.mailing_trace import BUSY_INDEX


def uninstall_hook(env):
    """Undo what init() did to stock's tables (the addon's own tables and columns go with their models): sms_sms gets
    PostgreSQL's default fillfactor back (sms.sms lowers it for in-place updates), and the partial index of
    mailing.trace on stock's columns (mailing_trace.py) is dropped."""
    env.cr.execute("ALTER TABLE sms_sms RESET (fillfactor)")
    env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(BUSY_INDEX)))
