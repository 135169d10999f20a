"""The inbound gateways' checks and parsers (chalicelib/adapters/sms_gateways.py): pure, no AWS."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.adapters import sms_gateways as gw

# Twilio's own vector (twilio-python, tests/unit/test_request_validator.py): auth token
# 12345, this URL and these parameters sign as RSOYDt4T1cUTdK1PDd93/VVr8B8=; the URL with
# :443 as kvajT1Ptam85bY51eRf/AJRuM3w=, as http with :80 as 0ZXoZLH/DfblKGATFgpif+LLRf4=,
# as http with :1234 as Zmvh+3yNM1Phv2jhDCwEM3q5ebU=.
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = [("CallSid", "CA1234567890ABCDE"), ("Digits", "1234"), ("From", "+14158675309"),
                 ("To", "+18005551212"), ("Caller", "+14158675309")]
TWILIO_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
SETTINGS = gw.GatewaySettings(twilio_auth_token=TWILIO_TOKEN)


# -- Twilio: the signature ------------------------------------------------------------------
def test_the_signature_is_twilios_for_its_documented_vector():
    assert gw.twilio_signature(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS) == TWILIO_SIGNATURE


@pytest.mark.parametrize("url, signature", [
    (TWILIO_URL, TWILIO_SIGNATURE),
    (TWILIO_URL.replace(".com", ".com:1234"), TWILIO_SIGNATURE),               # port removed
    (TWILIO_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),                              # signed with :443
    (TWILIO_URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),     # signed with :80
    (TWILIO_URL.replace(".com", ".com:1234").replace("https", "http"), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
])
def test_a_url_is_checked_with_and_without_its_port_as_twilios_sdk_does(url, signature):
    assert gw.twilio_signature_matches(TWILIO_TOKEN, url, TWILIO_PARAMS, signature)
    gw.check_twilio(SETTINGS, url, TWILIO_PARAMS, signature)


def test_the_order_the_parameters_came_in_does_not_matter():
    assert gw.twilio_signature_matches(TWILIO_TOKEN, TWILIO_URL, list(reversed(TWILIO_PARAMS)),
                                       TWILIO_SIGNATURE)


@pytest.mark.parametrize("params", [
    [(k, "+14158675300" if k == "From" else v) for k, v in TWILIO_PARAMS],   # a value changed
    TWILIO_PARAMS + [("Body", "收到 AP3ZUM")],                                 # a parameter added
    TWILIO_PARAMS[1:],                                                       # one left out
    [(k.lower(), v) for k, v in TWILIO_PARAMS],                              # names are case-sensitive
])
def test_tampered_parameters_are_refused(params):
    with pytest.raises(gw.GatewayRefused, match="does not match"):
        gw.check_twilio(SETTINGS, TWILIO_URL, params, TWILIO_SIGNATURE)


@pytest.mark.parametrize("url", [
    "https://mycompany.com/myapp.php?foo=1&bar=3",        # another query
    "https://mycompany.com/other.php?foo=1&bar=2",        # another path
    "https://evil.example/myapp.php?foo=1&bar=2",         # another host
    "http://mycompany.com/myapp.php?foo=1&bar=2",         # another scheme
])
def test_a_signature_for_another_url_is_refused(url):
    with pytest.raises(gw.GatewayRefused):
        gw.check_twilio(SETTINGS, url, TWILIO_PARAMS, TWILIO_SIGNATURE)


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_a_missing_signature_is_refused(signature):
    with pytest.raises(gw.GatewayRefused, match="no X-Twilio-Signature"):
        gw.check_twilio(SETTINGS, TWILIO_URL, TWILIO_PARAMS, signature)


@pytest.mark.parametrize("signature", ["RSOYDt4T1cUTdK1PDd93/VVr8B8", "rsoydt4t1cutdk1pdd93/vvr8b8=",
                                       "签名", TWILIO_SIGNATURE + "A"])
def test_a_wrong_signature_is_refused(signature):
    with pytest.raises(gw.GatewayRefused):
        gw.check_twilio(SETTINGS, TWILIO_URL, TWILIO_PARAMS, signature)


def test_another_accounts_token_is_refused():
    with pytest.raises(gw.GatewayRefused):
        gw.check_twilio(gw.GatewaySettings(twilio_auth_token="54321"), TWILIO_URL, TWILIO_PARAMS,
                        TWILIO_SIGNATURE)


@pytest.mark.parametrize("token", [None, ""])
def test_without_a_configured_auth_token_every_webhook_is_refused(token):
    settings = gw.GatewaySettings(twilio_auth_token=token)
    with pytest.raises(gw.GatewayRefused, match="GRIDLOOP_TWILIO_AUTH_TOKEN"):
        gw.check_twilio(settings, TWILIO_URL, TWILIO_PARAMS, TWILIO_SIGNATURE)


def test_repeated_parameters_are_signed_by_name_then_value():
    params = [("b", "2"), ("a", "y"), ("a", "x")]
    signature = gw.twilio_signature("t", "https://h/p", [("a", "x"), ("a", "y"), ("b", "2")])
    assert gw.twilio_signature_matches("t", "https://h/p", params, signature)


def test_chinese_text_is_signed_as_utf8():
    params = [("From", "+8613971296604"), ("Body", "收到 AP3ZUM")]
    signature = gw.twilio_signature("t", "https://h/sms/twilio", params)
    form = "From=%2B8613971296604&Body=%E6%94%B6%E5%88%B0+AP3ZUM"
    assert gw.twilio_signature_matches("t", "https://h/sms/twilio", gw.parse_form(form.encode()), signature)


# -- Twilio: the URL and the form -------------------------------------------------------------
@pytest.mark.parametrize("headers, path, query, url", [
    ({"host": "abc.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https"},
     "/api/sms/twilio", None, "https://abc.execute-api.us-east-1.amazonaws.com/api/sms/twilio"),
    ({"host": "127.0.0.1:8000"}, "/sms/twilio", None, "http://127.0.0.1:8000/sms/twilio"),
    ({"host": "sms.example.org", "x-forwarded-proto": "https, http"}, "/sms/twilio",
     {"a": ["1", "2"], "b": ["x y"]}, "https://sms.example.org/sms/twilio?a=1&a=2&b=x+y"),
])
def test_the_url_is_rebuilt_from_the_request(headers, path, query, url):
    assert gw.request_url(headers, path, query) == url


def test_without_a_host_header_the_url_cannot_be_known():
    with pytest.raises(gw.GatewayRefused, match="GRIDLOOP_TWILIO_WEBHOOK_URL"):
        gw.request_url({}, "/sms/twilio")


def test_a_form_that_is_not_utf8_is_invalid():
    with pytest.raises(gw.InvalidGatewayPayload):
        gw.parse_form(b"Body=%FF%FE")
    with pytest.raises(gw.InvalidGatewayPayload):
        gw.parse_form(b"Body=\xff")


def test_a_twilio_webhook_gives_sender_text_and_message_id():
    message = gw.parse_twilio([("ToCountry", "CN"), ("From", "+8613971296604"), ("To", "+8610690000"),
                               ("Body", "收到 AP3ZUM"), ("MessageSid", "SM0123456789abcdef"),
                               ("NumMedia", "0"), ("AccountSid", "AC0123")])
    assert message == gw.GatewayMessage("twilio", "+8613971296604", "收到 AP3ZUM",
                                        message_id="SM0123456789abcdef", recipient="+8610690000")


def test_an_empty_body_is_a_message_too():
    assert gw.parse_twilio([("From", "+8613971296604"), ("Body", "")]).text == ""


@pytest.mark.parametrize("params, code, field", [
    ([("Body", "收到 AP3ZUM")], "missing_field", "From"),
    ([("From", " "), ("Body", "收到 AP3ZUM")], "missing_field", "From"),
    ([("From", "+8613971296604")], "missing_field", "Body"),
    ([("From", "+8613971296604"), ("Body", "a"), ("Body", "b")], "repeated_field", "Body"),
    ([("From", "+8613971296604"), ("From", "+8613900000000"), ("Body", "a")], "repeated_field", "From"),
])
def test_a_bad_twilio_webhook_is_named(params, code, field):
    with pytest.raises(gw.InvalidGatewayPayload) as error:
        gw.parse_twilio(params)
    assert (error.value.code, error.value.field) == (code, field)


# -- Tencent Cloud SMS ------------------------------------------------------------------------
TENCENT_REPLY = {"extend": "", "mobile": "13971296604", "nationcode": "86", "sign": "常牧家园",
                 "text": "收到 AP3ZUM", "time": 1457336869}


def test_a_tencent_reply_gives_the_sender_in_e164():
    [message] = gw.parse_tencent(json.dumps(TENCENT_REPLY, ensure_ascii=False).encode())
    assert message == gw.GatewayMessage("tencent", "+8613971296604", "收到 AP3ZUM")


@pytest.mark.parametrize("changes, sender", [
    ({"nationcode": 86}, "+8613971296604"),
    ({"nationcode": "+86"}, "+8613971296604"),
    ({"nationcode": None}, "13971296604"),
    ({"mobile": "+8613971296604"}, "+8613971296604"),
])
def test_tencent_numbers_in_their_forms(changes, sender):
    [message] = gw.parse_tencent(json.dumps({**TENCENT_REPLY, **changes}))
    assert message.sender == sender


def test_a_list_of_tencent_replies_gives_each():
    other = {**TENCENT_REPLY, "mobile": "13900000000", "text": "完成 AP3ZUM"}
    assert [m.text for m in gw.parse_tencent(json.dumps([TENCENT_REPLY, other]))] == ["收到 AP3ZUM", "完成 AP3ZUM"]


@pytest.mark.parametrize("body, code, field", [
    (b"{not json", "invalid_json", None),
    (b"[]", "invalid_body", None),
    (b'"text"', "invalid_body", None),
    (json.dumps({**TENCENT_REPLY, "mobile": None}).encode(), "missing_field", "mobile"),
    (json.dumps({k: v for k, v in TENCENT_REPLY.items() if k != "mobile"}).encode(), "missing_field", "mobile"),
    (json.dumps({k: v for k, v in TENCENT_REPLY.items() if k != "text"}).encode(), "missing_field", "text"),
    (json.dumps({**TENCENT_REPLY, "text": 5}).encode(), "missing_field", "text"),
    (json.dumps({**TENCENT_REPLY, "nationcode": "CN"}).encode(), "invalid_type", "nationcode"),
    (json.dumps({**TENCENT_REPLY, "nationcode": True}).encode(), "invalid_type", "nationcode"),
])
def test_a_bad_tencent_reply_is_named(body, code, field):
    with pytest.raises(gw.InvalidGatewayPayload) as error:
        gw.parse_tencent(body)
    assert (error.value.code, error.value.field) == (code, field)


@pytest.mark.parametrize("expected, given", [(None, "x"), ("", "x"), ("secret", None), ("secret", ""),
                                             ("secret", "secreT"), ("secret", "secret2"), ("秘密", "秘")])
def test_a_missing_or_wrong_token_is_refused(expected, given):
    with pytest.raises(gw.GatewayRefused):
        gw.check_token(expected, given, "GRIDLOOP_TENCENT_CALLBACK_TOKEN")


def test_the_right_token_passes():
    gw.check_token("秘密-token", "秘密-token", "GRIDLOOP_TENCENT_CALLBACK_TOKEN")


# -- AWS End User Messaging --------------------------------------------------------------------
# AWS's documented example (End User Messaging SMS user guide, "two-way SMS message payload").
EUM_EXAMPLE = {"originationNumber": "+14255550182", "destinationNumber": "+12125550101",
               "messageKeyword": "JOIN", "messageBody": "EXAMPLE",
               "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
               "previousPublishedMessageId": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}


def test_an_end_user_messaging_payload_gives_sender_text_and_ids():
    assert gw.parse_end_user_messaging(json.dumps(EUM_EXAMPLE)) == gw.GatewayMessage(
        "aws-end-user-messaging", "+14255550182", "EXAMPLE",
        message_id="cae173d2-66b9-564c-8309-21f858e9fb84", recipient="+12125550101",
        in_reply_to="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def test_only_the_sender_and_text_are_required():
    message = gw.parse_end_user_messaging('{"originationNumber": "+8613971296604", "messageBody": "收到 X"}')
    assert (message.sender, message.text, message.message_id) == ("+8613971296604", "收到 X", None)


@pytest.mark.parametrize("message, code, field", [
    (None, "invalid_body", None),
    ("", "invalid_json", None),
    ("收到 AP3ZUM", "invalid_json", None),
    ('["+8613971296604"]', "invalid_body", None),
    (json.dumps({**EUM_EXAMPLE, "originationNumber": ""}), "missing_field", "originationNumber"),
    (json.dumps({k: v for k, v in EUM_EXAMPLE.items() if k != "originationNumber"}), "missing_field",
     "originationNumber"),
    (json.dumps({k: v for k, v in EUM_EXAMPLE.items() if k != "messageBody"}), "missing_field", "messageBody"),
    (json.dumps({**EUM_EXAMPLE, "messageBody": ["a"]}), "missing_field", "messageBody"),
])
def test_a_bad_end_user_messaging_payload_is_named(message, code, field):
    with pytest.raises(gw.InvalidGatewayPayload) as error:
        gw.parse_end_user_messaging(message)
    assert (error.value.code, error.value.field) == (code, field)


# -- settings --------------------------------------------------------------------------------------
def test_settings_come_from_the_environment_and_empty_means_unset():
    settings = gw.GatewaySettings.from_env({"GRIDLOOP_TWILIO_AUTH_TOKEN": "t", "GRIDLOOP_TWILIO_WEBHOOK_URL": "",
                                            "GRIDLOOP_TENCENT_CALLBACK_TOKEN": "k"})
    assert settings == gw.GatewaySettings("t", None, "k")
    assert gw.GatewaySettings.from_env({}) == gw.GatewaySettings()


def test_the_module_imports_nothing_of_aws():
    import subprocess
    import sys

    code = ("import sys, chalicelib.adapters.sms_gateways; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'chalice', 'pynamodb')))")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
