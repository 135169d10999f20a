"""The inbound SMS gateways through the Chalice app: Twilio's webhook, Tencent Cloud's reply
callback and AWS End User Messaging's SNS topic, each onto the sms-inbound queue and from
there through sms_reply_worker."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from chalicelib.adapters import sms_gateways as gw
from tests.functional.conftest import (
    STAIRWELL_LEADER,
    all_cases,
    case,
    dead_letters,
    failed_ids,
    invoke,
    member_phone,
    receive_all,
    records_from,
    routed_report,
)

LOCAL_STAGE = json.loads((Path(__file__).resolve().parents[2] / ".chalice/config.json").read_text())[
    "stages"]["local"]["environment_variables"]
TWILIO_TOKEN = LOCAL_STAGE["GRIDLOOP_TWILIO_AUTH_TOKEN"]
TENCENT_TOKEN = LOCAL_STAGE["GRIDLOOP_TENCENT_CALLBACK_TOKEN"]
HOST = "gridloop.example.org"
TWILIO_URL = f"https://{HOST}/sms/twilio"   # what Twilio calls: API Gateway sets X-Forwarded-Proto


def twilio_params(sender: str, text: str, sid: str = "SM00000000000000000000000000000001") -> list:
    return [("ToCountry", "CN"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("Body", text),
            ("From", sender), ("To", "+8610690000"), ("MessageSid", sid), ("AccountSid", "AC0"),
            ("NumSegments", "1"), ("ApiVersion", "2010-04-01")]


def post_twilio(client, params, signature: str | None = "sign", url: str = TWILIO_URL,
                body: str | None = None, content_type: str = "application/x-www-form-urlencoded",
                **headers: str):
    """POST /sms/twilio as Twilio would; signature "sign" signs `params` for `url`."""
    all_headers = {"Content-Type": content_type, "Host": HOST, "X-Forwarded-Proto": "https", **headers}
    if signature == "sign":
        signature = gw.twilio_signature(TWILIO_TOKEN, url, params)
    if signature is not None:
        all_headers["X-Twilio-Signature"] = signature
    return client.http.post("/sms/twilio", headers=all_headers,
                            body=body if body is not None else urlencode(params))


def post_tencent(client, payload, token: str | None = TENCENT_TOKEN):
    query = f"?token={token}" if token is not None else ""
    raw = payload if isinstance(payload, (str, bytes)) else json.dumps(payload, ensure_ascii=False)
    return client.http.post(f"/sms/tencent{query}", headers={"Content-Type": "application/json"}, body=raw)


def tencent_reply(phone: str, text: str) -> dict:
    assert phone.startswith("+86")
    return {"extend": "", "mobile": phone.removeprefix("+86"), "nationcode": "86", "sign": "常牧家园",
            "text": text, "time": 1790000000}


def end_user_messaging(phone: str, text: str) -> str:
    return json.dumps({"originationNumber": phone, "destinationNumber": "+8610690000",
                       "messageKeyword": "KEYWORD_123456789012", "messageBody": text,
                       "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
                       "previousPublishedMessageId": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
                      ensure_ascii=False)


def deliver(client, aws_stack) -> list[dict]:
    """Run sms_reply_worker over what the gateway queued; returns the queued messages."""
    messages = receive_all(aws_stack, "sms-inbound")
    assert failed_ids(invoke(client, "sms-inbound", records_from(messages, "sms-inbound"))) == []
    return [json.loads(m["Body"]) for m in messages]


def assert_refused(response) -> None:
    assert response.status_code == 403, response.body
    assert response.json_body["error"]["code"] == "forbidden"


# -- Twilio -----------------------------------------------------------------------------------
def test_a_signed_twilio_webhook_acknowledges_the_holders_case(client, aws_stack):
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)

    response = post_twilio(client, twilio_params(leader, f"收到 {code}"))

    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/xml")
    assert response.body.decode() == gw.TWIML_EMPTY
    [message] = deliver(client, aws_stack)
    assert (message["from"], message["text"], message["gateway"], message["gateway_message_id"]) == \
        (leader, f"收到 {code}", "twilio", "SM00000000000000000000000000000001")
    assert case(aws_stack, code).status.value == "acknowledged"


def test_the_url_may_come_from_configuration(client, aws_stack, monkeypatch):
    # Behind a proxy or a custom domain, the URL configured at Twilio is set for the stage.
    public = "https://sms.changmu.example.cn/hooks/twilio?community=changmu"
    monkeypatch.setenv("GRIDLOOP_TWILIO_WEBHOOK_URL", public)
    params = twilio_params("+8613900000000", "OK ABCDEF")

    assert post_twilio(client, params, url=public).status_code == 200
    assert_refused(post_twilio(client, params, url=TWILIO_URL))   # signed for the URL we were called at
    assert len(receive_all(aws_stack, "sms-inbound")) == 1


def test_without_forwarded_proto_the_url_is_http_with_its_port(client, aws_stack):
    # The local stack (no API Gateway in front): http, and Host with its port.
    params = twilio_params("+8613900000000", "OK ABCDEF")
    url = "http://127.0.0.1:8000/sms/twilio"
    response = client.http.post("/sms/twilio", body=urlencode(params), headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Host": "127.0.0.1:8000",
        "X-Twilio-Signature": gw.twilio_signature(TWILIO_TOKEN, url, params)})
    assert response.status_code == 200, response.body


def test_an_unsigned_twilio_webhook_is_refused_and_nothing_is_queued(client, aws_stack):
    code = routed_report(client, aws_stack)
    params = twilio_params(member_phone(aws_stack, STAIRWELL_LEADER), f"收到 {code}")

    assert_refused(post_twilio(client, params, signature=None))
    assert_refused(post_twilio(client, params, signature=""))

    assert receive_all(aws_stack, "sms-inbound") == []
    assert case(aws_stack, code).status.value == "assigned"


@pytest.mark.parametrize("tamper", ["text", "sender", "added", "token", "host", "scheme", "path"])
def test_a_tampered_twilio_webhook_is_refused_and_nothing_is_queued(client, aws_stack, tamper):
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    signed = twilio_params("+8613900000000", f"收到 {code}")
    signature = gw.twilio_signature(TWILIO_TOKEN, TWILIO_URL, signed)
    sent, headers = list(signed), {}
    if tamper == "text":
        sent = [(k, f"完成 {code}" if k == "Body" else v) for k, v in signed]
    elif tamper == "sender":
        sent = [(k, leader if k == "From" else v) for k, v in signed]
    elif tamper == "added":
        sent = signed + [("Body2", "x")]
    elif tamper == "token":
        signature = gw.twilio_signature("not-" + TWILIO_TOKEN, TWILIO_URL, signed)
    elif tamper == "host":
        headers = {"Host": "attacker.example"}
    elif tamper == "scheme":
        headers = {"X-Forwarded-Proto": "http"}
    elif tamper == "path":
        signature = gw.twilio_signature(TWILIO_TOKEN, f"https://{HOST}/other", signed)

    assert_refused(post_twilio(client, sent, signature=signature, **headers))

    assert receive_all(aws_stack, "sms-inbound") == []
    assert case(aws_stack, code).status.value == "assigned"


def test_without_an_auth_token_every_twilio_webhook_is_refused(client, aws_stack, monkeypatch):
    monkeypatch.setattr(gw.GatewaySettings, "from_env", classmethod(lambda cls, env=None: cls()))

    assert_refused(post_twilio(client, twilio_params("+8613900000000", "OK ABCDEF")))
    assert receive_all(aws_stack, "sms-inbound") == []


@pytest.mark.parametrize("params, status, code", [
    ([("To", "+8610690000"), ("Body", "OK ABCDEF")], 400, "missing_field"),
    ([("From", "+8613900000000"), ("To", "+8610690000")], 400, "missing_field"),
    ([("From", "+8613900000000"), ("Body", "x" * 1601)], 400, "invalid_field"),
])
def test_a_signed_but_unusable_twilio_webhook_is_a_400(client, aws_stack, params, status, code):
    response = post_twilio(client, params)
    assert (response.status_code, response.json_body["error"]["code"]) == (status, code)
    assert receive_all(aws_stack, "sms-inbound") == []


def test_a_twilio_webhook_that_is_not_a_form_is_a_415(client, aws_stack):
    response = post_twilio(client, [], body='{"From": "+8613900000000"}', content_type="application/json")
    assert response.status_code == 415
    assert receive_all(aws_stack, "sms-inbound") == []


def test_a_twilio_form_that_is_not_utf8_is_refused(client, aws_stack):
    assert_refused(post_twilio(client, [], body=b"From=%2B86139&Body=%FF"))
    assert receive_all(aws_stack, "sms-inbound") == []


# -- Tencent Cloud ------------------------------------------------------------------------------
def test_a_tencent_reply_with_the_token_acknowledges_the_case(client, aws_stack):
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)

    response = post_tencent(client, tencent_reply(leader, f"收到{code.lower()}"))

    assert response.status_code == 200, response.body
    assert response.json_body == {"result": 0, "errmsg": "OK"}
    [message] = deliver(client, aws_stack)
    assert (message["from"], message["gateway"]) == (leader, "tencent")
    assert case(aws_stack, code).status.value == "acknowledged"


@pytest.mark.parametrize("token", [None, "", "wrong", TENCENT_TOKEN.upper(), TENCENT_TOKEN + "x"])
def test_a_tencent_reply_without_the_right_token_is_refused(client, aws_stack, token):
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)

    assert_refused(post_tencent(client, tencent_reply(leader, f"收到 {code}"), token=token))

    assert receive_all(aws_stack, "sms-inbound") == []
    assert case(aws_stack, code).status.value == "assigned"


def test_without_a_configured_token_every_tencent_reply_is_refused(client, aws_stack, monkeypatch):
    monkeypatch.setattr(gw.GatewaySettings, "from_env", classmethod(lambda cls, env=None: cls()))
    assert_refused(post_tencent(client, tencent_reply("+8613900000000", "OK ABCDEF")))
    assert receive_all(aws_stack, "sms-inbound") == []


@pytest.mark.parametrize("payload, code", [
    ("{not json", "invalid_json"),
    ({"mobile": "13900000000", "nationcode": "86"}, "missing_field"),
    ([], "invalid_body"),
])
def test_a_bad_tencent_reply_is_a_400(client, aws_stack, payload, code):
    response = post_tencent(client, payload)
    assert (response.status_code, response.json_body["error"]["code"]) == (400, code)
    assert receive_all(aws_stack, "sms-inbound") == []


# -- AWS End User Messaging (SNS) -------------------------------------------------------------
def test_an_end_user_messaging_sms_acknowledges_the_case(client, aws_stack):
    code = routed_report(client, aws_stack)
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    event = client.events.generate_sns_event(message=end_user_messaging(leader, f"OK {code}"))

    result = client.lambda_.invoke("sms_inbound_sns", event).payload

    assert result == {"queued": 1, "dead_lettered": []}
    [message] = deliver(client, aws_stack)
    assert (message["from"], message["gateway"], message["gateway_message_id"]) == \
        (leader, "aws-end-user-messaging", "cae173d2-66b9-564c-8309-21f858e9fb84")
    assert case(aws_stack, code).status.value == "acknowledged"


@pytest.mark.parametrize("message", ["收到 ABCDEF", "{}", '{"originationNumber": "+8613900000000"}',
                                     '{"originationNumber": "+8613900000000", "messageBody": "' + "x" * 1601 + '"}'])
def test_a_malformed_end_user_messaging_message_is_dead_lettered_with_its_reason(client, aws_stack, message):
    event = client.events.generate_sns_event(message=message)

    result = client.lambda_.invoke("sms_inbound_sns", event).payload

    assert result["queued"] == 0 and len(result["dead_lettered"]) == 1
    assert receive_all(aws_stack, "sms-inbound") == []
    [letter] = dead_letters(aws_stack, "sms-inbound")
    assert letter["body"] == message
    assert letter["reason"].startswith("not an End User Messaging SMS")
    assert letter["source_queue"] == "gridloop-local-sms-inbound-topic"


def test_when_the_queue_cannot_be_reached_the_sns_invocation_fails_for_lambda_to_retry(
        client, aws_stack, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("SQS is unreachable")

    monkeypatch.setattr(aws_stack.inbound_sms, "accept", unreachable)
    event = client.events.generate_sns_event(message=end_user_messaging("+8613900000000", "OK ABCDEF"))

    with pytest.raises(ConnectionError):
        client.lambda_.invoke("sms_inbound_sns", event)
    assert dead_letters(aws_stack, "sms-inbound") == []


def test_a_residents_sms_to_a_communitys_own_number_is_that_communitys_report(client, aws_stack):
    # GIVEN Garang's residents text Garang's own number (its sms_number), and a stranger
    # writes without naming a place or a community
    garang_number = "+8613897520100"
    params = [(k, garang_number if k == "To" else v) for k, v in twilio_params("+8613800000555", "路灯坏了好几天")]
    # WHEN it comes in through Twilio
    assert post_twilio(client, params).status_code == 200
    queued = deliver(client, aws_stack)
    # THEN the gateway's To went with the message, and the report is Garang's
    assert queued[0]["to"] == garang_number
    [made] = [c for c in all_cases(aws_stack) if c.reporter_phone == "+8613800000555"]
    assert made.community_id == "garang"
