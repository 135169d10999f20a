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
    GET /dev/outbox, printing each message as it goes; the consumer processes' SMS are
    recorded here too."""

    def __init__(self, inner: Any, echo: bool = True):
        self._inner, self._echo = inner, echo
        self._lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []

    def send(self, phone: str, text: str, case_id: str | None = None) -> str | None:
        message_id = self._inner.send(phone, text, case_id)
        self.record({"to": phone, "channel": "sms", "text": text, "case_id": case_id, "at": time.time()})
        return message_id

    def record(self, message: dict[str, Any]) -> None:
        """One sent SMS, sent here or by a consumer process (devstack.workers)."""
        with self._lock:
            self.messages.append(message)
        if self._echo:
            print(f"  SMS → {message['to']}: {message['text']}", flush=True)


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


def sns_event(topic_arn: str, message: str) -> dict[str, Any]:
    """What the Lambda service hands a function subscribed to an SNS topic."""
    import uuid

    message_id = str(uuid.uuid4())
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
        "Sns": {"Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn,
                "Subject": None, "Message": message,
                "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "SignatureVersion": "1", "Signature": "local", "MessageAttributes": {},
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/local.pem",
                "UnsubscribeUrl": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&MessageId={message_id}"}}]}


@dev.route("/dev/sns/sms", methods=["POST"], content_types=["*/*"])
def inbound_sns_sms() -> Response:
    """An AWS End User Messaging two-way SMS payload, delivered to the topic's subscriber
    as SNS would deliver it in AWS (the emulator cannot invoke a function itself)."""
    import app as app_module
    from chalicelib.config import resource_name
    from devstack.lambda_runtime import LambdaContext

    topic = resource_name("sms-inbound-topic")
    source = next(s for s in app_module.app.event_sources
                  if type(s).__name__ == "SNSEventConfig" and s.topic == topic)
    raw = dev.current_request.raw_body or b""
    message = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    handler = getattr(app_module, source.name)
    try:
        result = handler(sns_event(f"arn:aws:sns:us-east-1:123456789012:{topic}", message),
                         LambdaContext(source.name))
    except Exception as error:   # in AWS: retried twice, then the function's dead-letter queue
        print(f"[{source.name}] failed: {error!r}", flush=True)
        return _json(503, {"error": {"code": "unavailable", "message": f"{source.name} failed: {error}"}})
    if result.get("dead_lettered"):
        return _json(400, {"error": {"code": "invalid_body", "field": None, "message":
                                     f"{'; '.join(result['dead_lettered'])} (kept on "
                                     f"{resource_name('sms-inbound-dlq')} with the reason)"}})
    return _json(202, {"status": "queued"})
