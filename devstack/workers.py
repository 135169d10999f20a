"""The local stack's queue consumers, in processes of their own: `python -m devstack.workers`.

In AWS each batch runs in a Lambda container apart from the API's. Here the handlers,
the HTTP server and moto are all Python: in one process they would share one interpreter
lock, and a burst of reports would make the API and the consumers wait for each other.
`make run` starts GRIDLOOP_WORKERS of these (2 by default), each with its own container
and GRIDLOOP_POLLERS pollers a queue. What the stack needs back is what they sent: each
SMS is written to stdout as one line, `OUTBOX_LINE` and its JSON, which the stack reads
into its outbox (GET /dev/outbox) and prints. Everything else they print passes through.
The environment is the stack's, set before it starts them. SIGINT or SIGTERM stops one,
and so does the stack's end (devstack.processes.die_with_parent).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from devstack.dev_routes import RecordingSms

OUTBOX_LINE = "@@gridloop-sms "
READY_LINE = "@@gridloop-ready"


class ForwardedSms(RecordingSms):
    """The stack's RecordingSms, but each record goes to the stack as one line instead."""

    def __init__(self, inner: Any, out: Any = None):
        super().__init__(inner, echo=False)
        self._out = out or sys.stdout

    def record(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._out.write(OUTBOX_LINE + json.dumps(message, ensure_ascii=False) + "\n")
            self._out.flush()


@contextlib.contextmanager
def running(count: int, recording: Any, start_timeout: float = 120) -> Iterator[None]:
    """`count` consumer processes, ready (their pollers started) before this yields; their SMS
    go into `recording` (devstack.dev_routes.RecordingSms). Stopped on the way out."""
    import subprocess
    import time

    from devstack.__main__ import ROOT
    from devstack.processes import spawn, stop

    ready = threading.Semaphore(0)

    def relay(stream: Any) -> None:
        for line in stream:
            if line.startswith(OUTBOX_LINE):
                recording.record(json.loads(line[len(OUTBOX_LINE):]))
            elif line.startswith(READY_LINE):
                ready.release()
            else:
                sys.stdout.write(line)
                sys.stdout.flush()

    processes = [spawn([sys.executable, "-m", "devstack.workers"], cwd=ROOT, text=True, bufsize=1,
                       encoding="utf-8", stdout=subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1"))
                 for _ in range(count)]
    relays = [threading.Thread(target=relay, args=(p.stdout,), name=f"relay-{p.pid}", daemon=True)
              for p in processes]
    try:
        for thread in relays:
            thread.start()
        deadline = time.monotonic() + start_timeout
        for _ in processes:
            while not ready.acquire(timeout=0.5):
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    raise SystemExit("the queue consumers did not start (see above)")
        yield
    finally:
        stop(*processes)
        for thread in relays:
            thread.join(timeout=3)


def main() -> int:
    from devstack.__main__ import ROOT

    sys.path.insert(0, str(ROOT))
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import app as app_module
    from chalicelib import bootstrap
    from devstack.lambda_runtime import PolicyWatcher, queue_pollers, warm_clients

    container = bootstrap.Container()
    container.sms = ForwardedSms(container.sms)
    bootstrap.use(container)
    warm_clients(container)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    threads: list[threading.Thread] = queue_pollers(app_module.app, app_module, container,
                                                    int(os.environ.get("GRIDLOOP_POLLERS", "16")), stop)
    threads.append(PolicyWatcher(container, stop, echo=False))     # the stack says it, once
    for thread in threads:
        thread.start()
    print(READY_LINE, flush=True)
    stop.wait()
    for thread in threads:
        thread.join(timeout=3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
