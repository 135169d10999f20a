"""The SMS gateways: each gateway's request is checked and parsed by
chalicelib.adapters.sms_gateways, and each message goes the one inbound way: InboundSms.accept
puts it on the sms-inbound queue. End User Messaging's come through its SNS topic."""
from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib import bootstrap

from .common import FORM_TYPES, MAX_BODY_BYTES, HttpError, _guarded, _invocation, _json, log


def _refused(gateway: str, refusal: Exception) -> HttpError:
    """403, telling the caller nothing more; the reason is in our log."""
    log.warning("%s request refused: %s", gateway, refusal)
    return HttpError(403, "forbidden", f"this request is not an authenticated {gateway} request")


def _gateway_body(request: Any) -> bytes:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise HttpError(413, "body_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    return raw if isinstance(raw, bytes) else str(raw).encode("utf-8")


def _accept(message: Any) -> None:
    from chalicelib.services.inbound import InvalidInbound

    try:
        bootstrap.container().inbound_sms.accept(message.sender, message.text, message.gateway,
                                       gateway_message_id=message.message_id, recipient=message.recipient)
    except InvalidInbound as invalid:
        raise HttpError(400, "invalid_field", invalid.message, invalid.field) from None


@_guarded
def sms_twilio(request: Any) -> Response:
    """POST /sms/twilio: Twilio's incoming-message webhook, checked with X-Twilio-Signature.
    Answers an empty TwiML document: our replies go out through our own SMS sender."""
    from chalicelib.adapters import sms_gateways as gw

    settings = gw.GatewaySettings.from_env()
    signature = request.headers.get(gw.TWILIO_SIGNATURE_HEADER)
    try:
        gw.check_twilio_signed(settings, signature)
        raw = _gateway_body(request)
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type not in FORM_TYPES:
            raise HttpError(415, "unsupported_media_type", "Twilio posts application/x-www-form-urlencoded")
        try:
            params = gw.parse_form(raw)
        except gw.InvalidGatewayPayload as invalid:   # cannot be what Twilio signed
            raise gw.GatewayRefused(invalid.message) from None
        event = request.to_original_event()
        url = settings.twilio_webhook_url or gw.request_url(
            request.headers, (request.context or {}).get("path") or event.get("path") or "/",
            event.get("multiValueQueryStringParameters"))
        gw.check_twilio(settings, url, params, signature)
    except gw.GatewayRefused as refusal:
        raise _refused("Twilio", refusal) from None
    try:
        message = gw.parse_twilio(params)
    except gw.InvalidGatewayPayload as invalid:
        raise HttpError(400, invalid.code, invalid.message, invalid.field) from None
    _accept(message)
    return Response(body=gw.TWIML_EMPTY, status_code=200,
                    headers={"Content-Type": "text/xml; charset=utf-8"})


@_guarded
def sms_tencent(request: Any) -> Response:
    """POST /sms/tencent?token=...: Tencent Cloud SMS's reply callback (回复短信回调).
    Tencent does not sign it: the secret token in the URL is the check."""
    from chalicelib.adapters import sms_gateways as gw

    settings = gw.GatewaySettings.from_env()
    given = (request.query_params or {}).get("token")
    try:
        gw.check_token(settings.tencent_callback_token, given, "GRIDLOOP_TENCENT_CALLBACK_TOKEN")
    except gw.GatewayRefused as refusal:
        raise _refused("Tencent Cloud", refusal) from None
    raw = _gateway_body(request)
    try:
        messages = gw.parse_tencent(raw)
    except gw.InvalidGatewayPayload as invalid:
        raise HttpError(400, invalid.code, invalid.message, invalid.field) from None
    for message in messages:
        _accept(message)
    return _json(200, gw.TENCENT_OK)


def sms_from_sns(event: Any) -> dict:
    """AWS End User Messaging two-way SMS: the topic's messages onto the sms-inbound queue.

    SNS invokes Lambda asynchronously, so there is no batch response and no SQS redrive
    here. A message that can never work (not JSON, no originationNumber, ...) would fail
    the same way on every retry: it goes at once to the sms-inbound dead-letter queue with
    its reason and the topic as `source_queue`, as the queue consumers do with theirs, and
    the invocation succeeds. Anything else (SQS unreachable, say) raises: Lambda retries
    the event twice, then puts it on the function's own dead-letter queue (the same
    sms-inbound DLQ, set in infra/template.py). Nothing vanishes either way.
    """
    with _invocation("sms_inbound_sns"):
        return _queue_sns_messages(event)


def _queue_sns_messages(event: Any) -> dict:
    from chalicelib.adapters import sms_gateways as gw
    from chalicelib.services.inbound import InvalidInbound

    c = bootstrap.container()
    topic = c.config.name("sms-inbound-topic")
    queued, dead_lettered = 0, []
    for record in event.to_dict().get("Records", []):
        message = (record.get("Sns") or {}).get("Message")
        try:
            sms = gw.parse_end_user_messaging(message)
            c.inbound_sms.accept(sms.sender, sms.text, sms.gateway, gateway_message_id=sms.message_id,
                                 recipient=sms.recipient)
            queued += 1
        except (gw.InvalidGatewayPayload, InvalidInbound) as invalid:
            reason = f"not an End User Messaging SMS: {invalid.message}"
            log.warning("dead-lettering a message from %s: %s", topic, reason)
            body = message if isinstance(message, str) and message else json.dumps(record, ensure_ascii=False)
            c.dead_letters("sms-inbound").put(body, reason, topic)
            c.telemetry.count("DeadLettered", queue="sms-inbound-topic")
            dead_lettered.append(reason)
    return {"queued": queued, "dead_lettered": dead_lettered}
