"""`make deploy STAGE=dev BUCKET=...`: package, upload and deploy a stage, then load its directory.

    python -m tools.deploy dev --bucket my-artifacts [--directory changmu=data/directory/changmu.yaml ...]

1. `make package STAGE=dev` builds build/dev/sam.json and build/dev/deployment.zip
   (no AWS: the package registry at most).
2. `aws cloudformation package` uploads the deployment package to the bucket and writes
   build/dev/packaged.json pointing at it; `aws cloudformation deploy` creates or updates the
   stack `gridloop-dev` from it (the template is over CloudFormation's 51,200-byte inline
   limit, so it goes through the bucket too).
3. Each `--directory COMMUNITY=PATH` is imported with `python -m tools.directory import`,
   checked as a whole and applied as a new version, as an operator would.

It runs with the caller's own AWS credentials and region (environment, profile or SSO, as
the AWS CLI finds them), and refuses before doing anything when there are none: a deploy
must never half-happen. The bucket must exist, in the stack's region.
"""
from __future__ import annotations

import argparse
import os
import shutil

# subprocess: fixed commands, no shell, arguments from argparse.
import subprocess  # nosec B404
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("dev", "prod")          # `local` is the local stack's: `make run`
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")   # our roles; the SAM transform


class Refused(Exception):
    """The deploy cannot start; the message says what to do."""


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--bucket", default=os.environ.get("GRIDLOOP_DEPLOY_BUCKET"),
                        help="an S3 bucket of yours, in the stack's region, for the deployment package "
                             "and the template (default: $GRIDLOOP_DEPLOY_BUCKET)")
    parser.add_argument("--directory", action="append", default=[], metavar="COMMUNITY=PATH",
                        help="import this community's directory file (YAML, or a folder of CSV) after "
                             "the deploy; repeat for each community")
    parser.add_argument("--stack-name", default=None, help="default: gridloop-STAGE")
    args = parser.parse_args(argv)
    if not args.bucket:
        parser.error("--bucket is required (or set GRIDLOOP_DEPLOY_BUCKET)")
    for item in args.directory:
        community, _, path = item.partition("=")
        if not community or not path:
            parser.error(f"--directory {item!r}: expected COMMUNITY=PATH, e.g. changmu=data/directory/changmu.yaml")
        if not Path(path).exists():
            parser.error(f"--directory {item!r}: {path} does not exist")
    args.stack_name = args.stack_name or f"gridloop-{args.stage}"
    return args


def check_credentials(session_factory: Callable[[], object] | None = None) -> tuple[str, str]:
    """(access key id, region) the AWS CLI will use, or Refused. Only looks: signs nothing."""
    import boto3

    session = (session_factory or boto3.session.Session)()
    credentials = session.get_credentials()          # type: ignore[attr-defined]
    if credentials is None:
        raise Refused("no AWS credentials found: `make deploy` uses your own. Set AWS_PROFILE (or "
                      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws configure` / `aws sso "
                      "login`, then try again. Nothing was packaged or deployed.")
    region = session.region_name                     # type: ignore[attr-defined]
    if not region:
        raise Refused("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region). "
                      "Nothing was packaged or deployed.")
    if shutil.which("aws") is None:
        raise Refused("the AWS CLI (`aws`) is not on PATH: install it (https://aws.amazon.com/cli/), "
                      "then try again. Nothing was packaged or deployed.")
    return credentials.access_key, region


def commands(args: argparse.Namespace, region: str, python: str = sys.executable) -> list[list[str]]:
    """Every command of the deploy, in order."""
    build = f"build/{args.stage}"
    steps = [
        ["make", "package", f"STAGE={args.stage}"],
        ["aws", "cloudformation", "package", "--region", region, "--template-file", f"{build}/sam.json",
         "--s3-bucket", args.bucket, "--s3-prefix", args.stack_name, "--use-json",
         "--output-template-file", f"{build}/packaged.json"],
        ["aws", "cloudformation", "deploy", "--region", region, "--template-file", f"{build}/packaged.json",
         "--stack-name", args.stack_name, "--s3-bucket", args.bucket, "--s3-prefix", args.stack_name,
         "--capabilities", *CAPABILITIES, "--no-fail-on-empty-changeset"],
    ]
    for item in args.directory:
        community, _, path = item.partition("=")
        steps.append([python, "-m", "tools.directory", "import", "--community", community, path])
    return steps


def main(argv: Sequence[str] | None = None, run: Callable[..., object] = subprocess.run) -> int:
    args = parse(argv)
    try:
        key, region = check_credentials()
    except Refused as refusal:
        print(f"make deploy: refused: {refusal}", file=sys.stderr)
        return 2
    print(f"deploying stack {args.stack_name} (stage {args.stage}) to {region} with access key "
          f"{key[:4]}…{key[-4:]}, artifacts in s3://{args.bucket}/{args.stack_name}/", flush=True)
    env = dict(os.environ, GRIDLOOP_STAGE=args.stage, AWS_REGION=region, AWS_DEFAULT_REGION=region)
    for command in commands(args, region):
        print("+ " + " ".join(command), flush=True)
        run(command, cwd=ROOT, env=env, check=True)
    if not args.directory:
        print("no --directory given: the stage keeps the directory it has. A new stage answers 503 on "
              "GET /health until one is imported (python -m tools.directory import ...).")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as failure:
        print(f"make deploy: `{' '.join(failure.cmd)}` failed (exit {failure.returncode}); the steps "
              f"before it are done, the ones after it are not", file=sys.stderr)
        sys.exit(1)
