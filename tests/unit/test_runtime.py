"""tools.runtime: the testing flag Odoo's test runner sets on the current thread."""

import threading

from tools.runtime import is_testing


def test_is_testing_follows_the_thread_flag():
    seen = {}

    def worker(flag):
        if flag is not None:
            threading.current_thread().testing = flag
        seen[flag] = is_testing()

    for flag in (None, True, False):
        thread = threading.Thread(target=worker, args=(flag,))
        thread.start()
        thread.join()
    assert seen == {None: False, True: True, False: False}
