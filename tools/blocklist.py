"""Manage the block list on a stage: phones and source addresses whose reports are refused.

    python -m tools.blocklist add    (--phone PHONE | --ip ADDRESS | --key SENDER) [--note TEXT] [--actor NAME]
    python -m tools.blocklist remove (--phone PHONE | --ip ADDRESS | --key SENDER)
    python -m tools.blocklist list   [--json]

A blocked phone's web reports get 403 `blocked`, and its SMS are ignored without an answer;
a blocked address's web reports get 403 `blocked`. Members' replies are never blocked: the
directory says who is a member.

The list keeps neither numbers nor addresses: each entry is keyed by a pseudonym
("phone:<32 hex>", "ip:<32 hex>"), the one gridloop's logs name a refused sender by, and
shows a masked form (+86138****8000, 203.0.113.*). So `--key` blocks a sender seen in the
logs without knowing its number, and `--phone` / `--ip` compute the same key. A phone
without a country code is taken as Chinese (+86), as in reports.

The stage is GRIDLOOP_STAGE (required); the local stack's AWS emulator is
GRIDLOOP_AWS_ENDPOINT and GRIDLOOP_DYNAMODB_ENDPOINT (`make run` prints both). Needs
dynamodb:PutItem, DeleteItem and Scan on gridloop-STAGE-blocklist. Changes apply to the
next report at once (nothing is cached).

Exit status: 0 done (or nothing to do, and said so), 1 usage, or a phone, address or key
that is not one, 2 `remove` of a sender not on the list.
"""
from __future__ import annotations

import argparse
import getpass
import ipaddress
import json
import os
import re
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

KEY = re.compile(r"^(phone|ip):[0-9a-f]{32}$")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.blocklist", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    who = argparse.ArgumentParser(add_help=False)
    one = who.add_mutually_exclusive_group(required=True)
    one.add_argument("--phone", help="a phone number, e.g. +8613800138000 or 13800138000")
    one.add_argument("--ip", help="a source address, IPv4 or IPv6")
    one.add_argument("--key", help="a sender's pseudonym as the logs give it, e.g. phone:9f86d081...")

    add = commands.add_parser("add", parents=[who], help="block a phone or an address")
    add.add_argument("--note", default=None, help="why (kept with the entry)")
    add.add_argument("--actor", default=None, help="who blocks it (default: your user name)")
    commands.add_parser("remove", parents=[who], help="unblock a phone or an address")
    listing = commands.add_parser("list", help="every entry, oldest first")
    listing.add_argument("--json", action="store_true", help="as JSON lines")
    return parser


def sender_of(args: argparse.Namespace) -> tuple[str, str]:
    """(sender key, what the list shows) for --phone, --ip or --key; ValueError if not one."""
    from chalicelib.domain.privacy import masked, sender_key
    from chalicelib.domain.report import InvalidReport, normalize_phone

    if args.phone is not None:
        try:
            phone = normalize_phone(args.phone)
        except InvalidReport:
            raise ValueError(f"not a phone number: {args.phone}") from None
        return sender_key(phone=phone), masked(phone=phone)
    if args.ip is not None:
        try:
            address = str(ipaddress.ip_address(args.ip.strip()))
        except ValueError:
            raise ValueError(f"not an IP address: {args.ip}") from None
        return sender_key(ip=address), masked(ip=address)
    key = args.key.strip().lower()
    if not KEY.match(key):
        raise ValueError(f"not a sender key (phone:<32 hex> or ip:<32 hex>): {args.key}")
    return key, "(by key)"


def default_actor() -> str:
    return os.environ.get("GRIDLOOP_ACTOR") or f"{getpass.getuser()}@{socket.gethostname()}"


def main(argv: Sequence[str] | None = None, container: Any = None) -> int:
    args = _parser().parse_args(argv)
    if container is None:
        if not os.environ.get("GRIDLOOP_STAGE"):
            print("set GRIDLOOP_STAGE to the stage to work on (local, dev or prod)", file=sys.stderr)
            return 1
        from chalicelib.bootstrap import Container
        container = Container()
    blocklist, stage = container.blocklist, container.config.stage
    if args.command == "list":
        return _list(blocklist.entries(), args.json, stage)
    try:
        sender, shown = sender_of(args)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    if args.command == "add":
        if blocklist.add(sender, shown, args.note, args.actor or default_actor(), container.clock()):
            print(f"{stage}: blocked {shown} ({sender})")
        else:
            print(f"{stage}: {shown} ({sender}) was already on the block list; left as it was")
        return 0
    if blocklist.remove(sender):
        print(f"{stage}: unblocked {shown} ({sender})")
        return 0
    print(f"{stage}: {shown} ({sender}) is not on the block list", file=sys.stderr)
    return 2


def _list(entries: list[dict[str, Any]], as_json: bool, stage: str) -> int:
    if as_json:
        for entry in entries:
            print(json.dumps(entry, ensure_ascii=False))
        return 0
    if not entries:
        print(f"{stage}: the block list is empty")
    for entry in entries:
        when = datetime.fromtimestamp(entry["created_at"], UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"{entry['shown']:<20} {entry['sender']:<40} {when}  {entry['actor'] or ''}  {entry['note'] or ''}"
              .rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
