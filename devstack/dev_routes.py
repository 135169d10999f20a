"""Routes that exist only on the local stack: the outbox and a fake SMS gateway.

They live outside chalicelib/, so they never ship to Lambda."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

from chalice import Blueprint, Response

from chalicelib.bootstrap import container

dev = Blueprint(__name__)


class RecordingSms:
    """Sends through the real adapter (SNS on the emulator) and keeps a copy for
    GET /dev/outbox, printing each message as it goes."""

    def __init__(self, inner: Any, echo: bool = True):
        self._inner, self._echo = inner, echo
        self._lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []

    def send(self, phone: str, text: str, case_id: str | None = None) -> str | None:
        message_id = self._inner.send(phone, text, case_id)
        at = time.time()
        with self._lock:
            self.messages.append({"to": phone, "channel": "sms", "text": text,
                                  "case_id": case_id, "at": at})
        if self._echo:
            print(f"  SMS → {phone}: {text}", flush=True)
        return message_id


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8"})


@dev.route("/dev/outbox", methods=["GET"])
def outbox() -> Response:
    return _json(200, {"messages": list(container().sms.messages)})


@dev.route("/dev/sms", methods=["POST"], content_types=["*/*"])
def inbound_sms() -> Response:
    from chalicelib.services.inbound import InvalidInbound

    try:
        body = json.loads((dev.current_request.raw_body or b"").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return _json(400, {"error": {"code": "invalid_json", "message": 'send {"from": "+86...", "text": "..."}'}})
    if not isinstance(body, dict):
        return _json(400, {"error": {"code": "invalid_body", "message": "the body must be a JSON object"}})
    try:
        container().inbound_sms.accept(body.get("from"), body.get("text"), gateway="dev")
    except InvalidInbound as invalid:
        return _json(400, {"error": {"code": "invalid_field", "message": invalid.message, "field": invalid.field}})
    return _json(202, {"status": "queued"})
