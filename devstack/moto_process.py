"""moto server in a process of its own: `python -m devstack.moto_process PORT`. Local only.

The local stack's handlers, its HTTP server and moto server are all Python. In one
process they share one interpreter lock, and under a burst moto's half of the work
(parsing, routing, the SQS models) is taken from the handlers'. In a process of its own
it runs beside them, as SQS and SNS run beside Lambda. It stops on SIGINT or SIGTERM,
and with the stack (devstack.processes.die_with_parent).
"""
from __future__ import annotations

import signal
import sys
import threading


def main(argv: list[str]) -> int:
    port = int(argv[0])
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from devstack import moto_speedups
    from devstack.__main__ import HOST

    moto_speedups.apply()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    server.start()
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
