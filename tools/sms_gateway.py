"""Post one inbound SMS in a gateway's real format: to the local stack, or to a stage's API.

    python -m tools.sms_gateway twilio  --from +8613971296604 --text "收到 CODE" [--unsigned | --tamper]
    python -m tools.sms_gateway tencent --from +8613971296604 --text "完成 CODE"
    python -m tools.sms_gateway eum     --from +8613971296604 --text "OK CODE"

twilio: Twilio's incoming-message webhook (form-encoded), signed with X-Twilio-Signature for
the URL it is posted to, with the auth token GRIDLOOP_TWILIO_AUTH_TOKEN (default: the local
stage's demo token in .chalice/config.json). --unsigned leaves the header out; --tamper
signs one text and sends another: both must be refused with 403.
tencent: Tencent Cloud SMS's reply callback (JSON) to /sms/tencent?token=TOKEN, TOKEN from
GRIDLOOP_TENCENT_CALLBACK_TOKEN (default: the local demo token).
eum: an AWS End User Messaging two-way SMS payload to the local stack's /dev/sns/sms, which
delivers it to the SNS subscriber as the topic would (in AWS, publish it to
gridloop-{stage}-sms-inbound-topic instead).

--base is the API's base URL (default http://127.0.0.1:$GRIDLOOP_HTTP_PORT, 8000). Prints the
status and the answer; exits 0 on a 2xx, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent


def _secret(variable: str) -> str:
    if os.environ.get(variable):
        return os.environ[variable]
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return config["stages"]["local"]["environment_variables"].get(variable, "")


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    if not url.lower().startswith(("http://", "https://")):
        raise SystemExit(f"--base must be an http:// or https:// URL, not {url.split(':', 1)[0]}:")
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        # bandit B310 (urlopen of any scheme): the scheme is checked above, so file:// never gets here.
        with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", errors="replace")


def twilio(base: str, sender: str, text: str, unsigned: bool = False, tamper: bool = False) -> tuple[int, str]:
    from chalicelib.adapters.sms_gateways import twilio_signature

    url = f"{base}/sms/twilio"
    sid = "SM" + uuid.uuid4().hex

    def params(body: str) -> list[tuple[str, str]]:
        return [("ToCountry", "CN"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("Body", body),
                ("From", sender), ("To", "+8610690000"), ("MessageSid", sid),
                ("AccountSid", "AC" + "0" * 32), ("NumSegments", "1"), ("ApiVersion", "2010-04-01")]

    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    if not unsigned:
        signed = params(text + " (tampered)" if tamper else text)
        headers["X-Twilio-Signature"] = twilio_signature(_secret("GRIDLOOP_TWILIO_AUTH_TOKEN"), url, signed)
    return _post(url, urlencode(params(text)).encode(), headers)


def tencent(base: str, sender: str, text: str) -> tuple[int, str]:
    nationcode, mobile = ("86", sender.removeprefix("+86")) if sender.startswith("+86") else ("", sender)
    body = {"extend": "", "mobile": mobile, "nationcode": nationcode, "sign": "常牧家园",
            "text": text, "time": int(time.time())}
    token = quote(_secret("GRIDLOOP_TENCENT_CALLBACK_TOKEN"), safe="")
    return _post(f"{base}/sms/tencent?token={token}", json.dumps(body, ensure_ascii=False).encode(),
                 {"Content-Type": "application/json"})


def end_user_messaging(base: str, sender: str, text: str) -> tuple[int, str]:
    body = {"originationNumber": sender, "destinationNumber": "+8610690000", "messageKeyword": "KEYWORD",
            "messageBody": text, "inboundMessageId": str(uuid.uuid4()), "previousPublishedMessageId": ""}
    return _post(f"{base}/dev/sns/sms", json.dumps(body, ensure_ascii=False).encode(),
                 {"Content-Type": "application/json"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gateway", choices=["twilio", "tencent", "eum"])
    parser.add_argument("--from", dest="sender", required=True, help="the member's phone, +86...")
    parser.add_argument("--text", required=True)
    parser.add_argument("--base", default=f"http://127.0.0.1:{os.environ.get('GRIDLOOP_HTTP_PORT', '8000')}")
    parser.add_argument("--unsigned", action="store_true", help="twilio: no X-Twilio-Signature")
    parser.add_argument("--tamper", action="store_true", help="twilio: sign one text, send another")
    args = parser.parse_args(argv)
    base = args.base.rstrip("/")
    if args.gateway == "twilio":
        status, answer = twilio(base, args.sender, args.text, args.unsigned, args.tamper)
    elif args.gateway == "tencent":
        status, answer = tencent(base, args.sender, args.text)
    else:
        status, answer = end_user_messaging(base, args.sender, args.text)
    print(status, answer)
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
