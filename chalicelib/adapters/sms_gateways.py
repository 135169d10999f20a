"""Inbound SMS gateways: each provider's payload, parsed, and its request checked.

Pure Python (the standard library only): chalicelib/handlers/sms_gateways.py decodes the request,
calls these, and hands every message to the one inbound path,
`chalicelib.services.inbound.InboundSms.accept`.

- Twilio: a form-encoded webhook (`From`, `To`, `Body`, `MessageSid`, ...) signed with
  `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, URL + each POST parameter's name and
  value, sorted by name)), as Twilio documents it and its SDK checks it
  (twilio/request_validator.py): the URL is tried with and without its port.
- Tencent Cloud SMS reply callback (回复短信回调): a JSON object `{"extend", "mobile",
  "nationcode", "sign", "text", "time"}`. Tencent does not sign its callbacks, so the URL
  configured in Tencent's console carries a secret `?token=...`.
- AWS End User Messaging two-way SMS: a JSON message `{"originationNumber",
  "destinationNumber", "messageKeyword", "messageBody", "inboundMessageId",
  "previousPublishedMessageId"}` published to an SNS topic.

The secrets are environment variables of the function (see `GatewaySettings`). They are
read when a request comes, not at import.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TWILIO = "twilio"
TENCENT = "tencent"
END_USER_MESSAGING = "aws-end-user-messaging"

TWILIO_SIGNATURE_HEADER = "x-twilio-signature"
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TENCENT_OK = {"result": 0, "errmsg": "OK"}

Params = Sequence[tuple[str, str]]   # POST parameters in the order received; names may repeat


@dataclass(frozen=True)
class GatewayMessage:
    """One inbound SMS, as a gateway delivered it."""
    gateway: str
    sender: str                       # the member's phone, as the gateway gives it
    text: str
    message_id: str | None = None     # the gateway's own id of this message, for tracing
    recipient: str | None = None      # our number it was sent to
    in_reply_to: str | None = None    # End User Messaging: the id of our message it answers


class GatewayRefused(Exception):
    """The request is not from the gateway it claims to be (403). The message is for the
    log; the caller gets no detail."""


class InvalidGatewayPayload(ValueError):
    """An authentic request whose payload is not what the gateway sends (400)."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class GatewaySettings:
    """The gateways' secrets and public URL, from the function's environment.

    `.chalice/config.json` sets them per stage; the local stage has obviously fake demo
    values. In a deployed stage never commit them: set them from AWS Secrets Manager or SSM
    Parameter Store (for example a CloudFormation dynamic reference
    `{{resolve:secretsmanager:gridloop/prod/sms:SecretString:twilio_auth_token}}` in the
    function's environment). Unset or empty means the gateway refuses every request.
    """
    twilio_auth_token: str | None = None
    twilio_webhook_url: str | None = None       # the URL configured at Twilio, if ours differs
    tencent_callback_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        env = os.environ if env is None else env   # os.environ as it is now, not at import
        return cls(twilio_auth_token=env.get("GRIDLOOP_TWILIO_AUTH_TOKEN") or None,
                   twilio_webhook_url=env.get("GRIDLOOP_TWILIO_WEBHOOK_URL") or None,
                   tencent_callback_token=env.get("GRIDLOOP_TENCENT_CALLBACK_TOKEN") or None)


# -- requests ----------------------------------------------------------------------
def parse_form(raw: bytes | str) -> list[tuple[str, str]]:
    """application/x-www-form-urlencoded, every pair kept in order (UTF-8, strict)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidGatewayPayload("invalid_encoding", "the form is not UTF-8") from None


def request_url(headers: Mapping[str, str], path: str,
                query: Mapping[str, Sequence[str]] | None = None) -> str:
    """The URL a caller used, as well as the request tells: the scheme from
    X-Forwarded-Proto (API Gateway sets https; without it, http), the Host header, and the
    path as called (API Gateway's requestContext.path, with its stage). `headers` must have
    lower-case names. A query string is rebuilt from its parameters, so it may not be
    byte for byte what the caller sent: a URL with one needs GRIDLOOP_TWILIO_WEBHOOK_URL."""
    host = (headers.get("host") or "").strip()
    if not host:
        raise GatewayRefused("no Host header: cannot tell the URL that was signed "
                             "(set GRIDLOOP_TWILIO_WEBHOOK_URL)")
    scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip().lower() or "http"
    query_string = urlencode([(k, v) for k, values in (query or {}).items() for v in values])
    return urlunsplit((scheme, host, path or "/", query_string, ""))


# -- Twilio ------------------------------------------------------------------------
def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """What Twilio puts in X-Twilio-Signature: base64 of HMAC-SHA1, keyed with the auth
    token, over the URL followed by every POST parameter's name and value, sorted by name
    (a repeated name's values sorted too, as Twilio's SDK does)."""
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL without its port and with it (the default one if it has none): Twilio signs
    either form, so its SDK accepts both."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:                              # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    without_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}"))
    return [without_port, with_port]


def twilio_signature_matches(auth_token: str, url: str, params: Params, signature: str) -> bool:
    given = signature.strip().encode("utf-8")
    try:
        candidates = _url_variants(url)
    except ValueError:   # a Host header no URL has ("host:abc", "[::1"): nothing Twilio signed
        return False
    matches = False
    for candidate in candidates:
        expected = twilio_signature(auth_token, candidate, params).encode("ascii")
        matches |= hmac.compare_digest(expected, given)   # constant time, both tried
    return matches


def check_twilio_signed(settings: GatewaySettings, signature: str | None) -> None:
    """GatewayRefused at once, before the body is read, if the request cannot be checked."""
    if not settings.twilio_auth_token:
        raise GatewayRefused("GRIDLOOP_TWILIO_AUTH_TOKEN is not set: every Twilio webhook is refused")
    if not signature or not signature.strip():
        raise GatewayRefused("no X-Twilio-Signature header")


def check_twilio(settings: GatewaySettings, url: str, params: Params, signature: str | None) -> None:
    """GatewayRefused unless `signature` is Twilio's for this URL and these parameters."""
    check_twilio_signed(settings, signature)
    if not twilio_signature_matches(settings.twilio_auth_token or "", url, params, signature or ""):
        raise GatewayRefused(f"X-Twilio-Signature does not match {url} and the parameters")


def parse_twilio(params: Params) -> GatewayMessage:
    """An incoming-message webhook: From and Body (may be empty), MessageSid, To."""
    fields: dict[str, str] = {}
    for name, value in params:
        if name in ("From", "To", "Body", "MessageSid") and name in fields:
            raise InvalidGatewayPayload("repeated_field", f"{name} is given more than once", name)
        fields.setdefault(name, value)
    sender = fields.get("From", "").strip()
    if not sender:
        raise InvalidGatewayPayload("missing_field", "From is required: the sender's phone number", "From")
    if "Body" not in fields:
        raise InvalidGatewayPayload("missing_field", "Body is required: the text of the message", "Body")
    return GatewayMessage(TWILIO, sender, fields["Body"],
                          message_id=fields.get("MessageSid") or fields.get("SmsSid") or None,
                          recipient=fields.get("To") or None)


# -- Tencent Cloud SMS -------------------------------------------------------------------
def check_token(expected: str | None, given: str | None, variable: str) -> None:
    """A shared secret in the URL, compared in constant time."""
    if not expected:
        raise GatewayRefused(f"{variable} is not set: every callback is refused")
    if not given:
        raise GatewayRefused("no token in the URL")
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise GatewayRefused("the token in the URL is wrong")


def parse_tencent(raw: bytes | str) -> list[GatewayMessage]:
    """Tencent's reply callback: one JSON object (a list of them is taken too)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidGatewayPayload("invalid_json", "the body is not valid JSON") from None
    items = body if isinstance(body, list) else [body]
    if not items:
        raise InvalidGatewayPayload("invalid_body", "the body holds no reply")
    return [_tencent_reply(item) for item in items]


def _tencent_reply(item: Any) -> GatewayMessage:
    if not isinstance(item, dict):
        raise InvalidGatewayPayload("invalid_body", "a reply must be a JSON object")
    mobile, nationcode, text = item.get("mobile"), item.get("nationcode"), item.get("text")
    if not isinstance(mobile, str) or not mobile.strip():
        raise InvalidGatewayPayload("missing_field", "mobile is required: the sender's number", "mobile")
    if isinstance(nationcode, bool) or (nationcode is not None and not isinstance(nationcode, (str, int))):
        raise InvalidGatewayPayload("invalid_type", "nationcode must be a country code", "nationcode")
    code = str(nationcode).strip().lstrip("+") if nationcode is not None else ""
    if code and not code.isdigit():
        raise InvalidGatewayPayload("invalid_type", "nationcode must be digits", "nationcode")
    if not isinstance(text, str):
        raise InvalidGatewayPayload("missing_field", "text is required: the reply", "text")
    mobile = mobile.strip()
    sender = mobile if mobile.startswith("+") or not code else f"+{code}{mobile}"
    return GatewayMessage(TENCENT, sender, text)


# -- AWS End User Messaging --------------------------------------------------------------
def parse_end_user_messaging(message: Any) -> GatewayMessage:
    """The JSON message End User Messaging publishes to the two-way SMS topic."""
    if not isinstance(message, str):
        raise InvalidGatewayPayload("invalid_body", "the SNS message is not a string")
    try:
        body = json.loads(message)
    except (ValueError, RecursionError):
        raise InvalidGatewayPayload("invalid_json", "the SNS message is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidGatewayPayload("invalid_body", "the SNS message is not a JSON object")
    sender, text = body.get("originationNumber"), body.get("messageBody")
    if not isinstance(sender, str) or not sender.strip():
        raise InvalidGatewayPayload("missing_field", "originationNumber is required", "originationNumber")
    if not isinstance(text, str):
        raise InvalidGatewayPayload("missing_field", "messageBody is required", "messageBody")

    def optional(name: str) -> str | None:
        value = body.get(name)
        return value if isinstance(value, str) and value else None

    return GatewayMessage(END_USER_MESSAGING, sender.strip(), text,
                          message_id=optional("inboundMessageId"),
                          recipient=optional("destinationNumber"),
                          in_reply_to=optional("previousPublishedMessageId"))
