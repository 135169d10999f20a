"""The residents' web pages (docs/web.md): the report form at `/`, its answer, the status page
`/r/{code}` and the stylesheet. Rendered on the server, whole, so that they work with no
JavaScript at all; the one script (the description's counter) only adds to what the page says.

Each function here takes the composition root's services (`services`: bootstrap.Container)
and the request as the handlers read it (PageRequest), and returns a Page; the handlers turn it
into an HTTP answer. A report from the form goes through the same intake as `POST /reports`:
its validation, its idempotency (the form's own key), its flood limits and the block list.
Intake's refusals become the form again, with every fault listed at the top and told at its
field, and what was typed kept; a flood is a 429 page, the block list a 403 page. Nothing here
catches anything else: the handlers answer a failure of ours with a 503 page.
"""
from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from chalicelib.domain.admission import Blocked, RateLimited
from chalicelib.domain.language import DEFAULT as DEFAULT_REPORT_LANG
from chalicelib.domain.language import LANGS
from chalicelib.domain.public_status import public_status
from chalicelib.domain.report import MAX_DESCRIPTION, InvalidReport, problems
from chalicelib.services.intake import IdempotencyConflict

from . import i18n, templates, texts

log = logging.getLogger("gridloop")

STYLESHEET = "site.css"
COUNTER_SCRIPT = "counter.js"
UNKNOWN_UNIT = "unknown"          # the unit select's "I don't know the unit": the building is the place
KEY = re.compile(r"web-[0-9a-f]{32}")   # the form's own idempotency key; another is no key
DEFAULT_TIMEZONE = "Asia/Shanghai"
FIELDS = ("building", "unit", "category", "description", "phone")   # in the form's order
SHOWN_CODE = 20                   # of a code that matched nothing, at most this much is repeated
COOKIE_SECONDS = 365 * 86400
STATIC_SECONDS = 365 * 86400      # a versioned stylesheet never changes under its URL
UNVERSIONED_SECONDS = 300


@dataclass(frozen=True)
class PageRequest:
    """What a page needs of an HTTP request, read by the handlers."""
    query: Mapping[str, str] = field(default_factory=dict)
    cookie_lang: str | None = None
    accept_language: str | None = None
    base: str = ""                   # the stage's path in AWS ("/api"), "" locally
    source_ip: str | None = None     # API Gateway's view of the caller's address


@dataclass
class Page:
    status: int
    body: str
    headers: dict[str, str]


# -- GET / -------------------------------------------------------------------------
def report_page(services: Any, request: PageRequest) -> Page:
    """The form; first, when the deployment has several communities, the choice of one
    (`?community=ID` then picks it)."""
    lang = _lang(request)
    communities = _communities(services)
    if not communities:
        return problem(request, 503, "unavailable")
    asked = request.query.get("community")
    if asked is None and len(communities) > 1:
        return _choose_community(request, lang, communities, 200)
    community = communities[0] if asked is None else next((c for c in communities if c.id == asked), None)
    if community is None:
        return _choose_community(request, lang, communities, 404, unknown=True)
    return _form(services, request, lang, community, 200)


# -- POST / ------------------------------------------------------------------------
def submit_report(services: Any, request: PageRequest, fields: Mapping[str, str]) -> Page:
    """The form, sent: a report made (or found again, with the same key) and its code shown;
    or the form again with what is wrong."""
    lang = i18n.negotiate(fields.get("lang") or request.query.get("lang"), request.cookie_lang,
                          request.accept_language)
    directory = services.directory()
    communities = _communities(services)
    if not communities:
        return problem(request, 503, "unavailable", lang=lang)
    values = {name: str(fields.get(name) or "") for name in FIELDS}
    building = directory.location(values["building"].strip())
    # The building says which community (the form's hidden field only when it is missing).
    community = (directory.communities.get(building.community_id) if building else None) or (
        directory.communities.get(str(fields.get("community") or ""))) or (
        communities[0] if len(communities) == 1 else None)
    if community is None:
        return _choose_community(request, lang, communities, 400, unknown=True)
    building_ok = building is not None and building.unit_id is None
    unit = values["unit"].strip()
    location = values["building"].strip()
    if location and unit and unit != UNKNOWN_UNIT:
        location = f"{location}-{unit}"
    payload = {"category": values["category"], "location": location, "description": values["description"],
               "phone": values["phone"], "lang": lang if lang in LANGS else DEFAULT_REPORT_LANG}
    key = str(fields.get("key") or "")
    key_given = KEY.fullmatch(key) is not None

    own = [("unit", texts.N_("Choose your unit, or “I don't know the unit”"), {})] if building_ok and not unit else []
    if own:
        return _form(services, request, lang, community, 400, values=values, key=key if key_given else None,
                     errors=own + _faults(services, payload, building_ok, unit))
    try:
        case = services.intake.submit(payload, idempotency_key=key if key_given else None, source="web",
                                      sender_ip=request.source_ip)
    except InvalidReport:
        faults = _faults(services, payload, building_ok, unit) or [("", texts.FORM_UNREADABLE, {})]
        return _form(services, request, lang, community, 400, values=values, key=key if key_given else None,
                     errors=faults)
    except IdempotencyConflict as conflict:
        code = str(conflict.args[0]) if conflict.args else ""
        return _form(services, request, lang, community, 400, values=values,
                     errors=[("", texts.ALREADY_SENT, {"code": code})])
    except RateLimited as limited:
        log.warning("report refused: %s", limited)      # pseudonyms only, never the phone or address
        return problem(request, 429, "busy_reports", lang=lang, retry_after=limited.retry_after,
                       by_phone=limited.by_phone)
    except Blocked as blocked:
        log.warning("report refused: %s", blocked)
        return problem(request, 403, "blocked", lang=lang, by_phone=blocked.by_phone)
    return _page(200, "done.html", lang, request, switch=f"/r/{case.code}",
                 code=case.code, community_name=_name(community.name, lang),
                 sms_number=_shown_number(community.sms_number), phone_given=bool(values["phone"].strip()),
                 status_url=f"{request.base}/r/{case.code}")


def _faults(services: Any, payload: dict[str, str], building_ok: bool, unit: str) -> list[tuple[str, str, dict]]:
    """Intake's refusals of `payload` (all of them: domain.report.problems) as the form's."""
    faults = []
    for error in problems(payload, services.directory(), services.intake.categories):
        key = (error.code, error.field or "")
        if key == ("unknown_location", "location") and building_ok and unit and unit != UNKNOWN_UNIT:
            key = ("unknown_unit", "location")
        found = texts.FIELD_ERRORS.get(key)
        params = {"max": MAX_DESCRIPTION} if error.code == "too_long" else {}
        faults.append((found[0], found[1], params) if found else ("", texts.FORM_UNREADABLE, {}))
    return faults


# -- GET /r/{code} -------------------------------------------------------------------
def status_page(services: Any, request: PageRequest, code: str) -> Page:
    """A report's status in words, its steps, and when its clock expects the next; a friendly
    404 for a code that matches nothing. Every look-up counts against the caller's address."""
    lang = _lang(request)
    code = unquote(code)           # as typed: "ap3 zum" may reach us still %-encoded
    try:
        case = services.lookups.find(code, request.source_ip)
    except RateLimited as limited:
        log.warning("look-up refused: %s", limited)
        return problem(request, 429, "busy_lookups", lang=lang, retry_after=limited.retry_after)
    if case is None:
        return _page(404, "not_found.html", lang, request, switch=None, code=code[:SHOWN_CODE])
    directory = services.directory()
    community = directory.communities.get(case.community_id)
    status = public_status(case, community)
    policy = services.policies.for_case(case.community_id, case.category, case.priority)
    zone = getattr(getattr(policy, "calendar", None), "timezone", None) or DEFAULT_TIMEZONE

    def when(at: float) -> str:
        return i18n.local_time(at, lang, zone)

    steps = [{"kind": step.kind, "when": when(step.at), "role": texts.ROLES.get(step.role or "")}
             for step in status.steps]
    expected = status.expected and {"step": status.expected.step, "when": when(status.expected.at),
                                    "role": texts.ROLES.get(status.expected.role or "")}
    return _page(200, "status.html", lang, request, switch=f"/r/{case.code}", code=case.code,
                 state=status.state, role=texts.ROLES.get(status.role or ""), steps=list(reversed(steps)),
                 expected=expected, category=_category(services, case.category),
                 place=_place(community, case.location), zone=zone,
                 community_name=_name(community.name, lang) if community else case.community_id,
                 sms_number=_shown_number(community.sms_number if community else None))


# -- GET /static/site.css ------------------------------------------------------------
def stylesheet(request: PageRequest) -> Page:
    """The pages' one stylesheet. Under the version the pages link to it never changes, and
    may be kept a year; without it (or with an old one), five minutes."""
    text, version = templates.static(STYLESHEET)
    seconds = STATIC_SECONDS if request.query.get("v") == version else UNVERSIONED_SECONDS
    cache = f"public, max-age={seconds}" + (", immutable" if seconds == STATIC_SECONDS else "")
    return Page(200, text, {"Content-Type": "text/css; charset=utf-8", "Cache-Control": cache,
                            "X-Content-Type-Options": "nosniff"})


# -- what went wrong -------------------------------------------------------------------
PROBLEMS = {400: "unreadable", 403: "blocked", 413: "too_large", 415: "wrong_type", 429: "busy_reports",
            503: "unavailable"}


def problem(request: PageRequest, status: int, kind: str | None = None, lang: str | None = None,
            retry_after: int | None = None, by_phone: bool = False) -> Page:
    """A friendly page for a request we cannot take (`kind`: see templates/problem.html)."""
    lang = lang or _lang(request)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    minutes = max(1, round(retry_after / 60)) if retry_after is not None else None
    return _page(status, "problem.html", lang, request, switch="/", headers=headers,
                 kind=kind or PROBLEMS.get(status, "unreadable"), minutes=minutes, by_phone=by_phone)


# -- the parts -----------------------------------------------------------------------
def _lang(request: PageRequest) -> str:
    return i18n.negotiate(request.query.get("lang"), request.cookie_lang, request.accept_language)


def _communities(services: Any) -> list[Any]:
    return sorted(services.directory().communities.values(), key=lambda c: c.id)


def _choose_community(request: PageRequest, lang: str, communities: list[Any], status: int,
                      unknown: bool = False) -> Page:
    choices = [{"name": _name(c.name, lang), "url": f"{request.base}/?community={c.id}"} for c in communities]
    return _page(status, "communities.html", lang, request, switch="/", communities=choices, unknown=unknown)


def _form(services: Any, request: PageRequest, lang: str, community: Any, status: int,
          values: Mapping[str, str] | None = None, errors: list[tuple[str, str, dict]] | None = None,
          key: str | None = None) -> Page:
    buildings = sorted((community.buildings[loc.building_id].number, loc.code)
                       for loc in community.locations.values() if loc.unit_id is None)
    units = sorted({unit.number for unit in community.units.values()})
    categories = [{"code": code, "name": c["name"].get("en", code)} for code, c in services.intake.categories.items()]
    anchors = {"building": "building", "unit": "unit", "description": "description", "phone": "phone",
               "category": f"category-{categories[0]['code']}" if categories else "category", "": "report"}
    errors = sorted(errors or [], key=lambda e: FIELDS.index(e[0]) if e[0] in FIELDS else -1)
    summary = [{"href": f"#{anchors.get(name, 'report')}", "text": text, "params": params}
               for name, text, params in errors]
    at_field = {}
    for name, text, params in errors:
        if name:
            at_field.setdefault(name, {"text": text, "params": params})
    several = len(services.directory().communities) > 1
    switch = f"/?community={community.id}" if several else "/"
    return _page(status, "form.html", lang, request, switch=switch,
                 community={"id": community.id, "name": _name(community.name, lang)},
                 several=several, buildings=[{"number": n, "code": code} for n, code in buildings],
                 units=units, unknown_unit=UNKNOWN_UNIT, categories=categories,
                 values={**dict.fromkeys(FIELDS, ""), **(values or {})}, summary=summary, at_field=at_field,
                 key=key or f"web-{uuid.uuid4().hex}", max_description=MAX_DESCRIPTION,
                 counter=templates.static(COUNTER_SCRIPT)[0])


def _page(status: int, template: str, lang: str, request: PageRequest, switch: str | None,
          headers: Mapping[str, str] | None = None, **context: Any) -> Page:
    _, css_version = templates.static(STYLESHEET)
    others = [{"lang": other, "name": i18n.language_name(other), "html_lang": i18n.html_lang(other),
               "url": _with_lang(request.base + (switch or "/"), other)}
              for other in i18n.languages() if other != lang]
    body = templates.render(template, lang, html_lang=i18n.html_lang(lang), others=others, base=request.base,
                            css=f"{request.base}/static/{STYLESHEET}?v={css_version}", **context)
    answer = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
              "Content-Language": i18n.html_lang(lang), "X-Content-Type-Options": "nosniff",
              "Referrer-Policy": "no-referrer", "Content-Security-Policy": _csp(), **(headers or {})}
    if i18n.match(request.query.get("lang")) == lang:      # ?lang= chose it: remembered
        answer["Set-Cookie"] = f"{i18n.COOKIE}={lang}; Path=/; Max-Age={COOKIE_SECONDS}; SameSite=Lax; HttpOnly"
    return Page(status, body, answer)


def _csp() -> str:
    """Our own stylesheet, our one inline script, forms that post to us: nothing else."""
    return ("default-src 'none'; style-src 'self'; img-src 'self'; "
            f"script-src {templates.script_hash(COUNTER_SCRIPT)}; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'")


def _with_lang(url: str, lang: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}lang={lang}"


def _name(names: Mapping[str, str], lang: str) -> str:
    return names.get(lang) or names.get(i18n.DEFAULT) or next(iter(names.values()), "")


def _category(services: Any, code: str) -> str:
    """The category's English name: its msgid in the catalogues."""
    return services.intake.categories.get(code, {}).get("name", {}).get("en", code)


def _place(community: Any, location: str) -> dict[str, int] | None:
    """Building and unit numbers of a place; None for a report whose place is not known yet."""
    if community is None or location not in community.locations:
        return None
    place = community.locations[location]
    found = {"building": community.buildings[place.building_id].number}
    if place.unit_id:
        found["unit"] = community.units[place.unit_id].number
    return found


def _shown_number(number: str | None) -> str | None:
    """A community's SMS number as its residents dial it: 138 9752 0100 for +86."""
    if not number:
        return None
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException:
        return number
    style = phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 86 else \
        phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)
