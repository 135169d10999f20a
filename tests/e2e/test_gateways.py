"""End to end through the gateways' real formats: `make run`, then a Twilio-format webhook
(signed, unsigned, tampered), a Tencent Cloud reply callback and an AWS End User Messaging
payload (through /dev/sns/sms, as its SNS topic would deliver it)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from chalicelib.adapters.sms_gateways import TWIML_EMPTY, twilio_signature
from tests.e2e.test_local_stack import ROOT, LocalStack, chain_phones

pytestmark = pytest.mark.e2e

LOCAL_STAGE = json.loads((ROOT / ".chalice/config.json").read_text())["stages"]["local"]["environment_variables"]
TWILIO_TOKEN = LOCAL_STAGE["GRIDLOOP_TWILIO_AUTH_TOKEN"]
TENCENT_TOKEN = LOCAL_STAGE["GRIDLOOP_TENCENT_CALLBACK_TOKEN"]


def post_raw(stack: LocalStack, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
    """(status, content type, body text) of a POST with exactly these bytes and headers."""
    request = urllib.request.Request(stack.base + path, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def twilio_webhook(stack: LocalStack, sender: str, text: str, signature: str | None = "sign",
                   signed_text: str | None = None) -> tuple[int, str, str]:
    """Twilio's incoming-message webhook, form-encoded; signed for the URL it is posted to
    (Twilio signs http://127.0.0.1:PORT/sms/twilio as the Host header says), over
    `signed_text` if given (a tampered message), else over what is sent."""
    def params(body: str) -> list[tuple[str, str]]:
        sid = f"SM{abs(hash((sender, body))):032x}"
        return [("ToCountry", "CN"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("Body", body),
                ("From", sender), ("To", "+8610690000"), ("MessageSid", sid), ("AccountSid", "AC" + "0" * 32),
                ("NumSegments", "1"), ("ApiVersion", "2010-04-01")]

    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
               "User-Agent": "TwilioProxy/1.1"}
    if signature == "sign":
        signature = twilio_signature(TWILIO_TOKEN, f"{stack.base}/sms/twilio",
                                     params(signed_text if signed_text is not None else text))
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return post_raw(stack, "/sms/twilio", urlencode(params(text)).encode(), headers)


def report(stack: LocalStack, phone: str, location: str = "changmu-03-2") -> str:
    status, created = stack.post("/reports", {"category": "sanitation", "location": location,
                                              "description": "楼道灯坏了，晚上看不见"})
    assert status == 202, created
    code = created["code"]
    stack.wait_until(lambda: [m for m in stack.outbox(phone) if code in m["text"]], what="the assignment SMS")
    return code


def status_of(stack: LocalStack, code: str) -> str:
    return stack.get(f"/reports/{code}")[1]["status"]


def test_the_banner_shows_the_demo_gateway_secrets(stack):
    stack.log.seek(0)
    banner = stack.log.read()
    assert f"{stack.base}/sms/twilio" in banner and TWILIO_TOKEN in banner and TENCENT_TOKEN in banner


def test_a_signed_twilio_webhook_is_accepted_and_unsigned_or_tampered_ones_are_refused(stack, members):
    stairwell, _, _ = chain_phones(members, ("b03", 2))
    code = report(stack, stairwell)

    # An unsigned webhook and a tampered one (signed for 完成, sent as 收到) are refused
    status, content_type, body = twilio_webhook(stack, stairwell, f"收到 {code}", signature=None)
    assert status == 403 and json.loads(body)["error"]["code"] == "forbidden"
    status, _, body = twilio_webhook(stack, stairwell, f"收到 {code}", signed_text=f"完成 {code}")
    assert status == 403 and json.loads(body)["error"]["code"] == "forbidden"
    time.sleep(1.5)   # the reply worker polls every second: nothing reached it
    assert status_of(stack, code) == "assigned"

    # The correctly signed one is accepted with empty TwiML, and the case is acknowledged
    status, content_type, body = twilio_webhook(stack, stairwell, f"收到 {code}")
    assert (status, body) == (200, TWIML_EMPTY) and content_type.startswith("text/xml")
    stack.wait_until(lambda: status_of(stack, code) == "acknowledged", what="the acknowledgement")

    # Tencent Cloud's reply callback, with the token, resolves it; without, it is refused
    reply = {"extend": "", "mobile": stairwell.removeprefix("+86"), "nationcode": "86",
             "sign": "常牧家园", "text": f"完成 {code}", "time": int(time.time())}
    data = json.dumps(reply, ensure_ascii=False).encode()
    json_type = {"Content-Type": "application/json"}
    assert post_raw(stack, "/sms/tencent", data, json_type)[0] == 403
    assert post_raw(stack, "/sms/tencent?token=wrong", data, json_type)[0] == 403
    status, _, body = post_raw(stack, f"/sms/tencent?token={TENCENT_TOKEN}", data, json_type)
    assert (status, json.loads(body)) == (200, {"result": 0, "errmsg": "OK"})
    stack.wait_until(lambda: status_of(stack, code) == "resolved", what="the resolution")


def test_an_end_user_messaging_payload_through_dev_sns(stack, members):
    stairwell, _, _ = chain_phones(members, ("b03", 2))
    code = report(stack, stairwell)

    payload = {"originationNumber": stairwell, "destinationNumber": "+8610690000",
               "messageKeyword": "KEYWORD_123456789012", "messageBody": f"OK {code}",
               "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
               "previousPublishedMessageId": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    assert stack.post("/dev/sns/sms", payload) == (202, {"status": "queued"})
    stack.wait_until(lambda: status_of(stack, code) == "acknowledged", what="the acknowledgement")

    # A malformed one is kept on the dead-letter queue, with its reason, and says so
    status, answer = stack.post("/dev/sns/sms", {"messageBody": f"完成 {code}"})
    assert status == 400 and "originationNumber" in answer["error"]["message"]
    assert "gridloop-local-sms-inbound-dlq" in answer["error"]["message"]


def test_the_gateway_tool_posts_each_format(stack, members):
    from tools import sms_gateway

    stairwell, _, _ = chain_phones(members, ("b03", 2))
    code = report(stack, stairwell)

    assert sms_gateway.twilio(stack.base, stairwell, f"收到 {code}", unsigned=True)[0] == 403
    assert sms_gateway.twilio(stack.base, stairwell, f"收到 {code}", tamper=True)[0] == 403
    assert sms_gateway.twilio(stack.base, stairwell, f"收到 {code}") == (200, TWIML_EMPTY)
    stack.wait_until(lambda: status_of(stack, code) == "acknowledged", what="the acknowledgement")
    assert sms_gateway.end_user_messaging(stack.base, stairwell, f"完成 {code}")[0] == 202
    stack.wait_until(lambda: status_of(stack, code) == "resolved", what="the resolution")
    assert sms_gateway.tencent(stack.base, stairwell, f"完成 {code}")[0] == 200   # a repeat: no change


def test_two_reports_of_one_leak_fold_and_a_merge_by_twilio_sms_joins_a_third(stack, members):
    """On `make run`: the second report of a leak in 5号楼 is folded into the first by the case
    worker; a third, reported as another category, is joined to it by its holder's 合并 through
    the Twilio webhook; a redelivered webhook changes nothing."""
    leak = {"category": "water_pipe", "location": "changmu-05-2", "description": "5号楼2单元水管漏水"}
    status, first = stack.post("/reports", {**leak, "phone": "13912345001"})
    assert status == 202
    stack.wait_until(lambda: stack.get(f"/reports/{first['code']}")[1]["status"] == "assigned", what="routed")
    status, second = stack.post("/reports", {**leak, "location": "changmu-05-3", "phone": "13912345002"})
    assert status == 202
    stack.wait_until(lambda: stack.get(f"/reports/{second['code']}")[1]["status"] == "duplicate", what="folded")
    assert stack.get(f"/reports/{second['code']}")[1]["duplicate_of"] == first["code"]

    status, third = stack.post("/reports", {**leak, "category": "heating", "phone": "13912345003"})
    stack.wait_until(lambda: stack.get(f"/reports/{third['code']}")[1]["status"] == "assigned", what="routed")
    holder = stack.get(f"/reports/{third['code']}")[1]["level_role"]
    assert holder == "property_management"
    phones = {m["phone"] for m in members[0].values() if m["id"] in ("m45", "m46")}
    # its assignment SMS goes out just after the case is saved routed: wait for it
    notified = stack.wait_until(lambda: next((p for p in phones if [m for m in stack.outbox(p)
                                                                   if third["code"] in m["text"]]), None),
                                what="the assignment SMS")
    for _ in range(2):                         # Twilio retries a webhook with the same MessageSid
        assert twilio_webhook(stack, notified, f"合并 {third['code']} {first['code']}")[0] == 200
    stack.wait_until(lambda: stack.get(f"/reports/{third['code']}")[1]["status"] == "duplicate", what="merged")
    # both cases were saved in one write: the first counts the third's reporter already
    assert stack.get(f"/reports/{first['code']}")[1]["affected"] == 3
