"""moto server's SQS, made to keep up with a burst on the local stack. Local only.

moto 5.2 reads the clock through `datetime` for every message of a queue, several times
per request: SendMessage computes all the queue's attributes (counting its delayed and
in-flight messages one by one), and ReceiveMessage computes them again for each message
it returns. A queue a few hundred messages deep then costs milliseconds a request, and
grows slower as it grows deeper. `apply()` gives moto's SQS models a clock that reads
`time.time()`, the same instant as moto's (seconds since the epoch, UTC), without the
datetime arithmetic. The server also routes every request by listing moto's own package
folder, under a lock that all requests share: the list is read once instead. Nothing
else changes. tests/unit/test_moto_speedups.py checks that both clocks agree, that the
list is the same, and that a queue answers the same with them.
"""
from __future__ import annotations

import time

_applied = False


def apply() -> None:
    """Idempotent; call before moto server takes requests."""
    global _applied
    if _applied:
        return
    from moto import backends
    from moto.sqs import models

    unix_time, unix_time_millis = models.unix_time, models.unix_time_millis
    models.unix_time = lambda dt=None: time.time() if dt is None else unix_time(dt)
    models.unix_time_millis = lambda dt=None: time.time() * 1000.0 if dt is None else unix_time_millis(dt)
    # The server lists moto's package folder (listdir, then isdir of each of ~150 entries)
    # to route every request, under its one lock; the folder does not change while it runs.
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    _applied = True
