"""The development Africa's Talking simulator (``at_simulator.py``, its phone page ``simulator_inbox.html``).

It is used by the tests, ``make run`` and the benchmarks, never by the addon at runtime: the addon's ``__init__``
does not import this package. Run it from the repository root with ``python3 -m simulator.at_simulator --help``.
"""
