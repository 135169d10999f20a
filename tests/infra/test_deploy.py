"""tools/deploy.py (`make deploy`): its arguments, the commands it would run, and its refusal
without AWS credentials, before anything is built. No AWS is reached."""
from __future__ import annotations

import sys

import pytest

from tools import deploy


def test_the_stage_and_bucket_are_required_and_local_is_not_a_stage(monkeypatch, capsys):
    monkeypatch.delenv("GRIDLOOP_DEPLOY_BUCKET", raising=False)
    for argv in (["dev"], ["local", "--bucket", "b"], ["staging", "--bucket", "b"], ["--bucket", "b"]):
        with pytest.raises(SystemExit) as exit_:
            deploy.parse(argv)
        assert exit_.value.code == 2
    assert "--bucket is required" in capsys.readouterr().err
    monkeypatch.setenv("GRIDLOOP_DEPLOY_BUCKET", "artifacts")
    args = deploy.parse(["prod"])
    assert (args.stage, args.bucket, args.stack_name, args.directory) == ("prod", "artifacts", "gridloop-prod", [])


def test_a_directory_is_community_equals_an_existing_path(capsys):
    for bad in ("changmu", "=data/directory/changmu.yaml", "changmu=data/directory/nowhere.yaml"):
        with pytest.raises(SystemExit):
            deploy.parse(["dev", "--bucket", "b", "--directory", bad])
    assert "nowhere.yaml does not exist" in capsys.readouterr().err


def test_the_commands_package_upload_deploy_then_import_each_directory():
    args = deploy.parse(["dev", "--bucket", "artifacts", "--directory", "changmu=data/directory/changmu.yaml",
                         "--directory", "garang=data/directory/garang.yaml"])
    steps = deploy.commands(args, "ap-east-1", python="py")
    assert steps[0] == ["make", "package", "STAGE=dev"]
    assert steps[1][:3] == ["aws", "cloudformation", "package"]
    assert steps[1][steps[1].index("--template-file") + 1] == "build/dev/sam.json"
    assert steps[1][steps[1].index("--s3-bucket") + 1] == "artifacts"
    assert steps[2][:3] == ["aws", "cloudformation", "deploy"]
    assert steps[2][steps[2].index("--template-file") + 1] == steps[1][steps[1].index("--output-template-file") + 1]
    assert steps[2][steps[2].index("--stack-name") + 1] == "gridloop-dev"
    assert {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"} <= set(steps[2])
    assert all(step[step.index("--region") + 1] == "ap-east-1" for step in steps[1:3])
    assert steps[3:] == [
        ["py", "-m", "tools.directory", "import", "--community", "changmu", "data/directory/changmu.yaml"],
        ["py", "-m", "tools.directory", "import", "--community", "garang", "data/directory/garang.yaml"]]


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No credentials anywhere boto3 looks: environment, shared files, profile; no instance
    metadata either (a CI machine on EC2 would otherwise have some)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_without_credentials_it_refuses_before_running_anything(no_credentials, capsys):
    ran = []
    status = deploy.main(["dev", "--bucket", "artifacts"], run=lambda *a, **k: ran.append(a))
    assert status == 2 and ran == []
    err = capsys.readouterr().err
    assert "refused: no AWS credentials found" in err and "Nothing was packaged or deployed" in err


def test_the_command_line_refuses_without_credentials(no_credentials):
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-m", "tools.deploy", "dev", "--bucket", "artifacts"], cwd=root,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no AWS credentials" in result.stderr
    assert "+ make package" not in result.stdout     # nothing was run


def test_with_credentials_it_runs_each_step_in_order_with_the_stage(monkeypatch, capsys):
    monkeypatch.setattr(deploy, "check_credentials", lambda: ("AKIAEXAMPLEKEY1234", "cn-north-1"))
    ran = []
    status = deploy.main(["prod", "--bucket", "artifacts"], run=lambda command, **kw: ran.append((command, kw["env"])))
    assert status == 0
    assert [c[0][:2] for c in ran] == [["make", "package"], ["aws", "cloudformation"], ["aws", "cloudformation"]]
    assert all(env["GRIDLOOP_STAGE"] == "prod" and env["AWS_REGION"] == "cn-north-1" for _, env in ran)
    out = capsys.readouterr().out
    assert "AKIA…1234" in out and "AKIAEXAMPLEKEY1234" not in out
