"""The operators' commands from a terminal: the same commands as the `ops` function's console
test events (docs/operations.md), run here with your own AWS credentials.

    python -m tools.ops '{"command": "show", "case": "7KQ2XM"}'
    python -m tools.ops show 7KQ2XM [--personal]
    python -m tools.ops overdue [--community changmu] [--limit 50]
    python -m tools.ops reassign 7KQ2XM m07 --reason "楼道长外出"
    python -m tools.ops escalate 7KQ2XM --from-level 1 --reason "电话不通"
    python -m tools.ops close 7KQ2XM --reason "居民来电：已修好"
    python -m tools.ops cancel 7KQ2XM --reason "重复报事"
    python -m tools.ops merge 7KQ2XM --into AP3ZUM --reason "同一根水管"
    python -m tools.ops resend 7KQ2XM [--notice 7KQ2XM.3 | --member m10 | --member @reporter]
    python -m tools.ops directory-import --community changmu [--dry-run] FILE   (YAML)
    python -m tools.ops directory-export --community changmu [--version N]
    python -m tools.ops redrive intake|escalation|sms-inbound [--max 100]
    python -m tools.ops api-key-issue changmu-app        (Open311: the key is printed once)
    python -m tools.ops api-key-revoke 3f9a1c0b2d4e
    python -m tools.ops api-key-list
    python -m tools.ops points-statement --community changmu --member m06 [--month 2026-12]
    python -m tools.ops points-credit --community changmu --household changmu-03-2-301 \
                                      --event 2026-12-05-free-clinic --points 5
    python -m tools.ops points-redeem --community changmu --member m06 --item rice --receipt R-0001
    python -m tools.ops shop-restock --community changmu --item rice --count 20
    python -m tools.ops shop-list --community changmu

--operator NAME (default GRIDLOOP_ACTOR, else your user name) is recorded on the case.
The stage is GRIDLOOP_STAGE, `local` when unset: the local stack's emulator at
GRIDLOOP_AWS_ENDPOINT (default http://127.0.0.1:$GRIDLOOP_AWS_PORT, 5000) and its tables at
GRIDLOOP_DYNAMODB_ENDPOINT (default http://127.0.0.1:$GRIDLOOP_DYNAMODB_PORT, 5001, unless
GRIDLOOP_DYNAMODB=moto). Prints the answer as JSON; exit status 0 when it is ok, 1 when the
command was wrong or refused.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.ops", description=__doc__.split("\n\n")[0])
    parser.add_argument("--operator", default=None, help="who you are (recorded on the case)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("show", "reassign", "escalate", "close", "cancel", "merge", "resend"):
        sub = commands.add_parser(name)
        sub.add_argument("case")
        if name == "show":
            sub.add_argument("--personal", action="store_true", help="with the reporter's phone, name and words")
        if name == "reassign":
            sub.add_argument("member")
        if name == "escalate":
            sub.add_argument("--from-level", type=int, required=True, dest="from_level")
        if name == "merge":
            sub.add_argument("--into", required=True, help="the code of the case it repeats")
        if name in ("reassign", "escalate", "close", "cancel", "merge"):
            sub.add_argument("--reason", required=True)
        if name == "resend":
            sub.add_argument("--notice")
            sub.add_argument("--member")
    overdue = commands.add_parser("overdue")
    overdue.add_argument("--community")
    overdue.add_argument("--limit", type=int)
    imp = commands.add_parser("directory-import")
    imp.add_argument("--community", required=True)
    imp.add_argument("--dry-run", action="store_true", dest="dry_run")
    imp.add_argument("path", metavar="FILE")
    exp = commands.add_parser("directory-export")
    exp.add_argument("--community", required=True)
    exp.add_argument("--version", type=int)
    redrive = commands.add_parser("redrive")
    redrive.add_argument("queue")
    redrive.add_argument("--max", type=int)
    weekly = commands.add_parser("weekly-report")
    weekly.add_argument("--community", required=True)
    weekly.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: last week)")
    weekly.add_argument("--stored", action="store_true", help="as sent to the committee that week")
    weekly.add_argument("--html", action="store_true", help="the page too")
    issue = commands.add_parser("api-key-issue", help="a new Open311 API key, shown once")
    issue.add_argument("client", help="who it is for, e.g. changmu-app")
    revoke = commands.add_parser("api-key-revoke")
    revoke.add_argument("key_id", help="the key's id (api-key-list shows them)")
    commands.add_parser("api-key-list", help="the keys issued, without the keys themselves")
    # The points bank (docs/points.md): an account is --member ID or --household ID.
    for name, help_text in (("points-statement", "an account's entries of a month, and its balance"),
                            ("points-credit", "points for an event attended or a civility activity"),
                            ("points-redeem", "a points-shop item taken for points (the receipt is its id)")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--community", required=True)
        account = sub.add_mutually_exclusive_group(required=True)
        account.add_argument("--member")
        account.add_argument("--household", help="a household's id such as changmu-03-2-301")
        if name == "points-statement":
            sub.add_argument("--month", help="YYYY-MM (default: this month)")
        if name == "points-credit":
            sub.add_argument("--event", required=True, help="the event's id, e.g. 2026-12-05-free-clinic")
            sub.add_argument("--points", type=int, required=True)
        if name == "points-redeem":
            sub.add_argument("--item", required=True, help="the shop item's code (shop-list shows them)")
            sub.add_argument("--receipt", required=True, help="the shop's receipt number")
    restock = commands.add_parser("shop-restock", help="more of a points-shop item")
    restock.add_argument("--community", required=True)
    restock.add_argument("--item", required=True)
    restock.add_argument("--count", type=int, required=True)
    shop = commands.add_parser("shop-list", help="the points shop's items, prices and stock")
    shop.add_argument("--community", required=True)
    return parser


def command_of(argv: Sequence[str]) -> dict[str, Any]:
    """The command as the console's JSON: given as JSON, or from the words."""
    if argv and argv[0].lstrip().startswith("{"):
        event = json.loads(argv[0])
        rest = _parser().parse_known_args([*argv[1:], "show", "X"])[0]   # only --operator is read
        if isinstance(event, dict) and rest.operator:
            event.setdefault("operator", rest.operator)
        return event
    args = vars(_parser().parse_args(argv))
    name = args.pop("command")
    if name == "directory-import":
        args["format"], args["document"] = "yaml", Path(args.pop("path")).read_text(encoding="utf-8")
    return {"command": name, **{k: v for k, v in args.items() if v not in (None, False)}}


def main(argv: Sequence[str] | None = None, container: Any = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        event = command_of(argv)
    except (ValueError, OSError) as error:
        print(f"cannot read the command: {error}", file=sys.stderr)
        return 1
    if isinstance(event, dict):
        event.setdefault("operator", os.environ.get("GRIDLOOP_ACTOR") or getpass.getuser())
    if container is None:
        container = _container()
    # One run is one request: an order-place run twice places two orders (as two console
    # test events do), while the Lambda service's retry of one invocation keeps its id.
    answer = container.ops.run(event, request=f"cli:{socket.gethostname()}:{uuid.uuid4().hex[:12]}")
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    return 0 if answer.get("ok") else 1


def _container() -> Any:
    """The stage's composition root; the local stack by default (it cannot reach AWS)."""
    os.environ.setdefault("GRIDLOOP_STAGE", "local")
    if os.environ["GRIDLOOP_STAGE"] == "local" and not os.environ.get("GRIDLOOP_AWS_ENDPOINT"):
        os.environ["GRIDLOOP_AWS_ENDPOINT"] = f"http://127.0.0.1:{os.environ.get('GRIDLOOP_AWS_PORT', '5000')}"
        if os.environ.get("GRIDLOOP_DYNAMODB", "local") == "local":     # make run's tables: DynamoDB Local
            os.environ.setdefault("GRIDLOOP_DYNAMODB_ENDPOINT",
                                  f"http://127.0.0.1:{os.environ.get('GRIDLOOP_DYNAMODB_PORT', '5001')}")
    if os.environ.get("GRIDLOOP_AWS_ENDPOINT"):
        # The emulator's fixed credentials (devstack), never real ones.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    from chalicelib.bootstrap import Container
    return Container()


if __name__ == "__main__":
    sys.exit(main())
