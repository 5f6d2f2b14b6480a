"""Facts about the running process that several models need, in plain Python."""

import threading

from odoo.tools import config


def is_testing():
    """Whether this thread runs Odoo tests (Odoo's test runner sets ``testing`` on the thread).

    Batch crons commit per batch in production but never under test, where the test's transaction must stay whole.
    """
    return getattr(threading.current_thread(), "testing", False)


def cron_time_limit():
    """The seconds after which Odoo stops a cron job, as this server applies its limits; None when unlimited.

    The threaded server (``--workers 0``) restarts the whole process when a cron thread runs past
    ``limit_time_real`` (120 s by default; ``limit_time_real_cron`` when positive), interrupting every user and
    rolling back the chunk in progress; a prefork cron worker is killed past ``limit_time_cpu`` (60 s) or
    ``limit_time_real_cron`` (-1: ``limit_time_real``; 0: none)."""
    cron_real = config["limit_time_real_cron"]
    if config["workers"]:  # PreforkServer and its WorkerCron
        limits = (config["limit_time_real"] if cron_real == -1 else cron_real, config["limit_time_cpu"])
    else:  # ThreadedServer.process_limit
        limits = (cron_real if cron_real > 0 else config["limit_time_real"],)
    limits = [limit for limit in limits if limit and limit > 0]
    return min(limits) if limits else None
