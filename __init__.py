from . import controllers
from . import models
from . import wizard


def uninstall_hook(env):
    """Give sms_sms back PostgreSQL's default fillfactor (sms.sms init() lowers it for in-place updates)."""
    env.cr.execute("ALTER TABLE sms_sms RESET (fillfactor)")
