from odoo.tools import SQL

from . import controllers
from . import models
from . import wizard
from .models.mailing_subscription import SUBSCRIPTION_LIST_INDEX
from .models.mailing_trace import BUSY_INDEX, IAP_FAILURE_INDEX
from .models.sms_conversation import CONTACT_PHONE_INDEX


def uninstall_hook(env):
    """Undo what init() did to stock's tables (the addon's own tables and columns go with their models): sms_sms gets
    PostgreSQL's default fillfactor back (sms.sms lowers it for in-place updates), and the partial indexes of
    mailing.trace on stock's columns (mailing_trace.py), of subscriptions by list (mailing_subscription.py) and of
    contacts by number (sms_conversation.py) are dropped."""
    env.cr.execute("ALTER TABLE sms_sms RESET (fillfactor)")
    for index in (BUSY_INDEX, IAP_FAILURE_INDEX, SUBSCRIPTION_LIST_INDEX, CONTACT_PHONE_INDEX):
        env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
