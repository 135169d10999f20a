"""The residents' web pages (docs/web.md): chalicelib.web renders them (Jinja2 and Babel,
imported here on a page's first request, never at cold start); these read the request for it
and turn its Page into the HTTP answer."""
from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import bootstrap

from .common import FORM_TYPES, HttpError, _base_path, _decode_body, _invocation, _log_failure, _source_ip, log

UNAVAILABLE_PAGE = ("<!DOCTYPE html><html lang=\"zh-CN\"><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>暂时无法受理 Unavailable</title><h1>抱歉，请稍后再试</h1>"
                    "<p>现在暂时无法受理，请过几分钟再试。急事请直接打电话给网格员或社区办公室。</p>"
                    "<p lang=\"en\">We cannot take this right now. Please try again in a few minutes.</p></html>")
# What a body that cannot be read becomes: the page that says so (web/templates/problem.html).
PAGE_PROBLEMS = {400: "unreadable", 413: "too_large", 415: "wrong_type"}


def _paged(handler):
    """A page route: the handler's Page, or a page that says what went wrong: the body's
    refusal (HttpError: 400, 413, 415) or, for a failure of ours, a 503 page (logged as
    _answered logs it); if even that page cannot be made, a fixed one."""
    def run(request: Any, *args: Any) -> Response:
        with _invocation("api_handler"):
            try:
                return _html(handler(request, *args))
            except HttpError as error:
                return _safe_page(request, error.status, PAGE_PROBLEMS.get(error.status))
            except Exception as error:
                _log_failure("page", error)
                return _safe_page(request, 503, "unavailable")
    return run


def _html(page: Any) -> Response:
    return Response(body=page.body, status_code=page.status, headers=page.headers)


def _safe_page(request: Any, status: int, kind: str | None) -> Response:
    try:
        from chalicelib.web import pages
        return _html(pages.problem(_page_request(request), status, kind))
    except Exception as error:     # the templates themselves: the fixed page, never a 500
        log.error("problem page failed: %s", type(error).__name__)
        return Response(body=UNAVAILABLE_PAGE, status_code=503,
                        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


def _page_request(request: Any) -> Any:
    from chalicelib.web.pages import PageRequest

    params = request.query_params or {}
    query = {name: params[name] for name in params}
    headers = request.headers
    return PageRequest(query=query, cookie_lang=_cookie(headers.get("cookie"), "lang"),
                       accept_language=headers.get("accept-language"), base=_base_path(request),
                       source_ip=_source_ip(request))


def _cookie(header: str | None, name: str) -> str | None:
    for part in (header or "").split(";")[:50]:
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip().strip('"')[:35] or None
    return None


def _form_fields(request: Any) -> dict[str, str]:
    """The page's form: a form post only, read as POST /reports reads a form."""
    return _decode_body(request, FORM_TYPES, "send application/x-www-form-urlencoded")


@_paged
def report_page(request: Any) -> Any:
    from chalicelib.web import pages
    return pages.report_page(bootstrap.container(), _page_request(request))


@_paged
def submit_report_page(request: Any) -> Any:
    from chalicelib.web import pages
    fields = _form_fields(request)
    return pages.submit_report(bootstrap.container(), _page_request(request), fields)


@_paged
def status_page(request: Any, code: str) -> Any:
    from chalicelib.web import pages
    return pages.status_page(bootstrap.container(), _page_request(request), code)


@_paged
def stylesheet(request: Any) -> Any:
    from chalicelib.web import pages
    return pages.stylesheet(_page_request(request))
