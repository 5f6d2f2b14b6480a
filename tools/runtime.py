"""Facts about the running process that several models need, in plain Python."""

import threading


def is_testing():
    """Whether this thread runs Odoo tests (Odoo's test runner sets ``testing`` on the thread).

    Batch crons commit per batch in production but never under test, where the test's transaction must stay whole.
    """
    return getattr(threading.current_thread(), "testing", False)
