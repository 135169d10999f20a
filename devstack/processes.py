"""The local stack's child processes (DynamoDB Local, moto server, the queue consumers):
given a free port, started so that they die with the stack, probed until they answer,
stopped in turn."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from typing import Any


def die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM when the parent dies (Linux only),
    so a killed `make run` or test run leaves no Java or Python child behind."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG = 1


def spawn(args: list[str], **popen: Any) -> subprocess.Popen:
    """subprocess.Popen of a child that dies with this process."""
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, **popen,
                            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None)


def free_port() -> int:
    """A port free on 127.0.0.1 now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def stop(*processes: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM to each still running, then SIGKILL to any that outlive `timeout`."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
