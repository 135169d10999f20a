"""The dev stage's template as `make package STAGE=dev` builds it, once per session."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def packaged_dev(packaged_dev_path):
    """The Resources of `chalice package --stage dev --merge-template ...` (build/dev/sam.json)."""
    return json.loads(packaged_dev_path.read_text())["Resources"]


@pytest.fixture(scope="session")
def packaged_dev_path(tmp_path_factory) -> Path:
    """build/dev/sam.json as `make package STAGE=dev` builds it, in a folder of the session's."""
    from infra.template import merge_template

    out = tmp_path_factory.mktemp("packaged-dev")
    env = dict(os.environ, GRIDLOOP_STAGE="dev", AWS_DEFAULT_REGION="us-east-1")
    merge = out / "merge.json"
    merge.write_text(json.dumps(merge_template("dev")))
    subprocess.run([str(Path(sys.executable).with_name("chalice")), "package", "--stage", "dev",
                    "--merge-template", str(merge), str(out / "out")],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return out / "out" / "sam.json"
