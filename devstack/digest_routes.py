"""The daily digest on the local stack: send it now, and a group robot to receive it.

- `POST /dev/digest` (optional `{"community": "changmu"}`): every configured community's
  digest now, for the 24 hours up to now, whatever the hour (not recorded: the scheduled
  one still goes out).
- `POST /dev/webhook`: a stand-in for a WeCom group robot. It keeps and prints what it gets
  and answers `{"errcode": 0, "errmsg": "ok"}`; `GET /dev/webhook` lists what arrived.

By default the local stack points GRIDLOOP_DIGEST_WEBHOOKS at this robot (`default_config`).
Outside chalicelib/: never ships.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from chalice import Blueprint, Response

from chalicelib.bootstrap import container

digest_dev = Blueprint(__name__)
_lock = threading.Lock()
received: list[dict[str, Any]] = []


def default_config(base: str) -> str:
    """Changmu's digest to the stack's own robot, at 08:00 Asia/Shanghai (the default hour)."""
    return json.dumps({"changmu": {"url": f"{base}/dev/webhook"}})


def banner_line(base: str) -> str:
    from chalicelib.domain.digest import DigestConfigError, parse_config, redact

    try:
        settings = parse_config(os.environ.get("GRIDLOOP_DIGEST_WEBHOOKS"))
    except DigestConfigError as error:
        return f"  daily digest   GRIDLOOP_DIGEST_WEBHOOKS is not valid: {error}"
    if not settings:
        return "  daily digest   off (set GRIDLOOP_DIGEST_WEBHOOKS)"
    targets = "; ".join(
        f"{cid} → {', '.join(sorted({redact(u) for u in (c.url, *c.grids.values()) if u}))} "
        f"at {c.hour:02d}:00 {c.timezone}" for cid, c in sorted(settings.items()))
    return (f"  daily digest   {targets}\n"
            f"                 POST {base}/dev/digest sends it now; GET {base}/dev/webhook shows what arrived")


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8"})


@digest_dev.route("/dev/digest", methods=["POST"], content_types=["*/*"])
def send_digest() -> Response:
    from chalicelib.domain.digest import DigestConfigError

    raw = digest_dev.current_request.raw_body or b""
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        return _json(400, {"error": {"code": "invalid_json", "message": 'send {"community": "changmu"} or nothing'}})
    community = body.get("community") if isinstance(body, dict) else None
    try:
        return _json(200, container().digest.send_now(community))
    except DigestConfigError as error:
        return _json(400, {"error": {"code": "invalid_config", "message": str(error)}})
    except Exception as error:   # the webhook failed: say why (the message never holds the key)
        return _json(503, {"error": {"code": "unavailable", "message": str(error)}})


@digest_dev.route("/dev/webhook", methods=["POST"], content_types=["*/*"])
def robot() -> Response:
    try:
        message = json.loads((digest_dev.current_request.raw_body or b"").decode("utf-8"))
        msgtype = message["msgtype"]
        content = message[msgtype]["content"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        return _json(200, {"errcode": 400, "errmsg": "the local robot takes {\"msgtype\", msgtype: {\"content\"}}"})
    with _lock:
        received.append({"at": time.time(), "msgtype": msgtype, "content": content})
    first = content.splitlines()[0].lstrip("# ") if content else ""
    print(f"  群机器人 ← {first} ({len(content.encode('utf-8'))} bytes, {msgtype})", flush=True)
    return _json(200, {"errcode": 0, "errmsg": "ok"})


@digest_dev.route("/dev/webhook", methods=["GET"])
def robot_messages() -> Response:
    with _lock:
        return _json(200, {"messages": list(received)})
