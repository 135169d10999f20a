"""Group-robot webhooks: POST one JSON message, as WeCom's (企业微信) group robot takes it.

    POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY
    {"msgtype": "markdown", "markdown": {"content": "..."}}
    → 200 {"errcode": 0, "errmsg": "ok"}

Written with urllib (no new dependency). Anything but HTTP 2xx with `errcode` 0 raises
WebhookError, so the caller can retry. The URL holds the robot's key: it never appears in
an error or a log line, only its scheme, host and path (domain.digest.redact).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from chalicelib.domain.digest import redact

MAX_ANSWER_BYTES = 64 * 1024


class WebhookError(Exception):
    """The robot did not take the message: unreachable, an HTTP error, or errcode ≠ 0."""


class WebhookSender:
    def __init__(self, timeout: float = 10.0, opener: Callable[..., Any] | None = None):
        self._timeout = timeout
        # Redirects are refused (see _NoRedirect).
        self._open = opener or urllib.request.build_opener(_NoRedirect).open

    def post(self, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST `payload`; returns the robot's answer ({"errcode": 0, "errmsg": "ok"})."""
        where = redact(url)
        if not url.lower().startswith(("https://", "http://")):
            raise WebhookError(f"{where}: not an http(s) URL")
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": "gridloop-digest"})
        try:
            with self._open(request, timeout=self._timeout) as response:
                raw = response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as error:
            raise WebhookError(f"{where} answered HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise WebhookError(f"{where} unreachable: {reason}") from None
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise WebhookError(f"{where} answered something that is not JSON") from None
        if not isinstance(answer, dict) or answer.get("errcode") != 0:
            code = answer.get("errcode") if isinstance(answer, dict) else None
            message = answer.get("errmsg") if isinstance(answer, dict) else None
            raise WebhookError(f"{where} refused the message: errcode {code}, {str(message)[:200]}")
        return answer


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A robot answers directly; a redirect would resend the body (and the key) elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):   # noqa: D401 - urllib's API
        raise urllib.error.HTTPError(req.full_url, code, f"redirect refused ({msg})", headers, fp)
