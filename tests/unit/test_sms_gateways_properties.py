"""Property tests (Hypothesis) for the gateways' payloads (adapters/sms_gateways.py): Twilio's
form and signature, Tencent Cloud's reply callback, AWS End User Messaging's SNS message.

Whatever reaches a gateway route is a message, a refusal (GatewayRefused: 403) or a bad
payload (InvalidGatewayPayload: 400), never another exception; what a gateway really sends
parses back to the sender and text it carried."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from chalicelib.adapters import sms_gateways as gw

# The machine is shared and small: a slow draw is no failure.
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text as HTTP hands it over: headers and decoded forms never carry lone surrogates.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
PARAMS = st.lists(st.tuples(st.one_of(st.sampled_from(["From", "To", "Body", "MessageSid", "SmsSid"]), TEXT), TEXT),
                  max_size=8)
PHONES = st.from_regex(r"\+861[3-9][0-9]{9}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=4), max_leaves=8)


# -- Twilio -------------------------------------------------------------------------------------
@PROPERTY
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
@example(b"Body=%ff%fe")
@example(b"=&&==")
def test_any_body_is_a_form_or_not_utf8(raw):
    try:
        params = gw.parse_form(raw)
    except gw.InvalidGatewayPayload as invalid:
        assert invalid.code == "invalid_encoding"
        return
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in params)


@PROPERTY
@given(PARAMS)
def test_a_form_gives_back_the_pairs_it_encodes_in_order(params):
    assert gw.parse_form(urlencode(params).encode()) == params


@PROPERTY
@given(token=TEXT, url=TEXT, params=PARAMS, signature=TEXT)
@example(token="t", url="http://gridloop.example.org:abc/sms/twilio", params=[], signature="x")   # found: ValueError
@example(token="t", url="http://[::1/sms/twilio", params=[], signature="x")
@example(token="t", url="http://gridloop.example.org:99999/sms/twilio", params=[], signature="x")
def test_the_signature_check_never_raises_on_garbage(token, url, params, signature):
    assert gw.twilio_signature_matches(token, url, params, signature) in (True, False)


@PROPERTY
@given(host=TEXT, proto=st.one_of(st.none(), TEXT), path=TEXT)
def test_the_url_of_a_request_is_built_or_refused(host, proto, path):
    headers = {"host": host} if proto is None else {"host": host, "x-forwarded-proto": proto}
    try:
        url = gw.request_url(headers, path)
    except gw.GatewayRefused:
        assert not host.strip()
        return
    assert isinstance(url, str)


@PROPERTY
@given(token=TEXT.filter(bool), params=PARAMS, host=st.sampled_from(["gridloop.example.org", "127.0.0.1:8000"]),
       scheme=st.sampled_from(["http", "https"]), tamper=st.integers(min_value=0))
def test_a_signed_form_is_accepted_and_any_change_to_it_refused(token, params, host, scheme, tamper):
    url = f"{scheme}://{host}/sms/twilio"
    signature = gw.twilio_signature(token, url, params)
    settings_ = gw.GatewaySettings(twilio_auth_token=token)

    gw.check_twilio(settings_, url, params, signature)      # Twilio's own request passes
    changed = list(params) + [("Body", "x")] if not params else [
        (n, v + "x") if i == tamper % len(params) else (n, v) for i, (n, v) in enumerate(params)]
    assert not gw.twilio_signature_matches(token, url, changed, signature)


@PROPERTY
@given(PARAMS)
def test_any_parameters_are_a_message_or_a_400(params):
    try:
        message = gw.parse_twilio(params)
    except gw.InvalidGatewayPayload as invalid:
        assert invalid.code in ("missing_field", "repeated_field") and invalid.field in ("From", "To", "Body",
                                                                                        "MessageSid")
        return
    assert message.gateway == gw.TWILIO and message.sender.strip() == message.sender and message.sender


@PROPERTY
@given(sender=PHONES, text=TEXT, sid=st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), to=PHONES)
def test_twilios_webhook_parses_back_to_its_sender_and_text(sender, text, sid, to):
    params = [("ToCountry", "CN"), ("SmsMessageSid", sid), ("Body", text), ("From", sender), ("To", to),
              ("MessageSid", sid), ("AccountSid", "AC" + "0" * 32)]

    message = gw.parse_twilio(gw.parse_form(urlencode(params).encode()))

    assert message == gw.GatewayMessage(gw.TWILIO, sender, text, message_id=sid, recipient=to)


# -- Tencent Cloud --------------------------------------------------------------------------------
@PROPERTY
@given(st.one_of(st.binary(max_size=200), JSON_VALUES.map(json.dumps),
                 st.lists(st.dictionaries(st.sampled_from(["mobile", "nationcode", "text", "sign", "time"]),
                                          JSON_VALUES), max_size=3).map(json.dumps)))
@example(b"[" * 100_000)
@example(b'{"mobile": "13800138000", "nationcode": true, "text": "1"}')
def test_any_tencent_callback_is_messages_or_a_400(raw):
    try:
        messages = gw.parse_tencent(raw)
    except gw.InvalidGatewayPayload as invalid:
        assert invalid.code in ("invalid_json", "invalid_body", "missing_field", "invalid_type")
        return
    assert messages and all(m.gateway == gw.TENCENT and m.sender and isinstance(m.text, str) for m in messages)


@PROPERTY
@given(mobile=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), text=TEXT,
       nationcode=st.sampled_from(["86", 86, "+86"]), as_list=st.booleans())
def test_tencents_reply_parses_back_to_the_e164_sender_and_text(mobile, text, nationcode, as_list):
    reply = {"extend": "", "mobile": mobile, "nationcode": nationcode, "sign": "常牧家园", "text": text,
             "time": 1790000000}

    messages = gw.parse_tencent(json.dumps([reply] if as_list else reply, ensure_ascii=False).encode())

    assert messages == [gw.GatewayMessage(gw.TENCENT, f"+86{mobile}", text)]


# -- AWS End User Messaging -----------------------------------------------------------------------
@PROPERTY
@given(st.one_of(JSON_VALUES, JSON_VALUES.map(json.dumps),
                 st.dictionaries(st.sampled_from(["originationNumber", "destinationNumber", "messageBody",
                                                  "inboundMessageId", "previousPublishedMessageId"]),
                                 JSON_VALUES).map(json.dumps)))
@example("[" * 100_000)
def test_any_sns_message_is_a_message_or_invalid(message):
    try:
        sms = gw.parse_end_user_messaging(message)
    except gw.InvalidGatewayPayload as invalid:
        assert invalid.code in ("invalid_json", "invalid_body", "missing_field")
        return
    assert sms.gateway == gw.END_USER_MESSAGING and sms.sender and isinstance(sms.text, str)


@PROPERTY
@given(sender=PHONES, text=TEXT, ours=PHONES, message_id=st.uuids().map(str))
def test_an_end_user_messaging_sms_parses_back(sender, text, ours, message_id):
    body = json.dumps({"originationNumber": sender, "destinationNumber": ours, "messageKeyword": "KEYWORD_1",
                       "messageBody": text, "inboundMessageId": message_id,
                       "previousPublishedMessageId": "p-1"}, ensure_ascii=False)

    assert gw.parse_end_user_messaging(body) == gw.GatewayMessage(
        gw.END_USER_MESSAGING, sender, text, message_id=message_id, recipient=ours, in_reply_to="p-1")
