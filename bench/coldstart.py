"""Figure 3: cold start, as import time.

`python -X importtime -c "import app"` against `... -c "import boto3, chalice,
pynamodb.models"` (what a handler that used the SDKs directly would import), each in
fresh subprocesses of this interpreter from the repository root, alternating.

Both sides load compiled bytecode from one throw-away cache (PYTHONPYCACHEPREFIX),
filled by an untimed run of each first: with the Makefile's PYTHONDONTWRITEBYTECODE,
`import app` would otherwise compile our modules from source on every run while the
SDKs load the .pyc files pip wrote.

The figure of a run is the sum of the cumulative times of the top-level imports the
statement causes; what the interpreter imports at start-up (site, encodings, ...) is
left out of both, by a marker written to stderr just before the statement. The
medians are compared.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "--gridloop-bench-mark--"
APP = "import app"
SDKS = "import boto3, chalice, pynamodb.models"


@dataclass
class Result:
    runs: int
    app_us: float        # medians, microseconds
    sdks_us: float

    @property
    def ratio(self) -> float:
        return self.app_us / self.sdks_us


def import_time(statement: str, pycache: str) -> float:
    """Microseconds of import that `statement` causes, in a fresh interpreter."""
    code = f"import sys; sys.stderr.write({MARK!r} + '\\n'); sys.stderr.flush(); {statement}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = pycache
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{statement!r} failed: {done.stderr.strip()[-800:]}")
    lines = done.stderr.splitlines()
    if MARK not in lines:
        raise RuntimeError(f"no marker in the import-time output of {statement!r}")
    total = 0
    for line in lines[lines.index(MARK) + 1:]:
        if not line.startswith("import time:"):
            continue
        fields = line[len("import time:"):].split("|")
        if len(fields) != 3 or not fields[1].strip().isdigit():
            continue                          # the header line
        name = fields[2]
        if name.startswith("  "):             # nested: already inside a top-level cumulative
            continue
        total += int(fields[1])
    if total == 0:
        raise RuntimeError(f"no import time recorded for {statement!r}")
    return float(total)


def run(runs: int = 9) -> Result:
    with tempfile.TemporaryDirectory(prefix="gridloop-bench-pycache-") as pycache:
        import_time(APP, pycache)      # untimed: compiles both sides' bytecode once
        import_time(SDKS, pycache)
        app, sdks = [], []
        for index in range(runs):
            order = (APP, SDKS) if index % 2 == 0 else (SDKS, APP)
            for statement in order:
                (app if statement == APP else sdks).append(import_time(statement, pycache))
    return Result(runs=runs, app_us=statistics.median(app), sdks_us=statistics.median(sdks))
