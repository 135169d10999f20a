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

Before a valid form becomes a report, the page asks whether the problem is already reported
(services.duplicates.already_reported: the open cases of its category in that building): if it
is, the resident sees those and chooses "me too" (`me_too=CODE`: they follow that case, no new
report) or "mine is different" (`new=1`: the report is sent). All on the one route, POST /.
"""
from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from chalicelib.domain import duplicates
from chalicelib.domain.admission import Blocked, RateLimited
from chalicelib.domain.case import TransitionRefused
from chalicelib.domain.codes import code_for
from chalicelib.domain.language import DEFAULT as DEFAULT_REPORT_LANG
from chalicelib.domain.language import LANGS
from chalicelib.domain.public_status import public_status
from chalicelib.domain.report import MAX_DESCRIPTION, InvalidReport, ReportRequest, problems, validate
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
SHOWN_STATES = ("received", "triage", "assigned", "acknowledged", "suspended")   # an offered case's status
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
    me_too = str(fields.get("me_too") or "")
    if me_too or str(fields.get("new") or "") != "1":
        try:
            valid = validate(payload, directory, services.intake.categories)
        except InvalidReport:
            valid = None          # intake refuses it below, and the form shows every fault
        if valid is not None and me_too:
            return _me_too(services, request, lang, community, values, key if key_given else None, valid, me_too)
        if valid is not None:
            offered = _offered(services, request, valid, key if key_given else None)
            if offered:
                return _already_reported(services, request, lang, community, values,
                                         key if key_given else f"web-{uuid.uuid4().hex}", valid, offered, 200)
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


# -- already reported? -------------------------------------------------------------------
def _offered(services: Any, request: PageRequest, report: ReportRequest, key: str | None) -> list[Any]:
    """The open cases the page offers to follow instead of sending `report`: those of its
    category in its building (services.duplicates.already_reported), read for how many residents
    each has and its status. None when this form's key made a report already (a refresh of the
    answer: intake shows its code again); none either when the caller's address is over its
    look-up limit: the list shows codes, so each showing counts as a look-up, and over the limit
    the report is simply sent (the case worker still folds it)."""
    found = services.workflow.duplicates.already_reported(report.community_id, report.location, report.category)
    if not found or (key and _sent_before(services, report.community_id, key)):
        return []
    try:
        services.lookups.find(found[0].code, request.source_ip)      # counts one look-up
    except RateLimited as limited:
        log.warning("already reported not shown: %s", limited)
        return []
    cases = {case.code: case for case in services.cases.get_many([r.code for r in found])}
    return [cases[r.code] for r in found if r.code in cases and cases[r.code].is_open]


def _sent_before(services: Any, community_id: str, key: str) -> bool:
    """Whether this form's key already made a report (services.intake.submit's seed for a key;
    its first code, which a report almost always has)."""
    seed = f"key:{community_id}:{key}"
    case = services.cases.get(code_for(seed))
    return case is not None and case.dedupe_key == seed


def _already_reported(services: Any, request: PageRequest, lang: str, community: Any, values: Mapping[str, str],
                      key: str, report: ReportRequest, offered: list[Any], status: int,
                      closed: str | None = None) -> Page:
    """"Already reported?": the open cases of the same problem at the place, each with a "me
    too" button, and the button that sends the report as it is. One form: every field the
    resident typed comes back hidden, with the form's own key."""
    zone = _zone(services, report.community_id, report.category, report.priority)
    reports = [{"code": case.code, "place": _place(community, case.location),
                "when": i18n.local_time(case.created_at, lang, zone), "affected": case.affected,
                "state": _shown_state(case, community)} for case in offered]
    return _page(status, "already_reported.html", lang, request, switch="/", reports=reports, closed=closed,
                 category=_category(services, report.category),
                 place=_place(community, report.location), community_id=community.id,
                 values={**dict.fromkeys(FIELDS, ""), **values}, key=key)


def _shown_state(case: Any, community: Any) -> str:
    state = public_status(case, community).state
    return state if state in SHOWN_STATES else "received"


def _me_too(services: Any, request: PageRequest, lang: str, community: Any, values: Mapping[str, str],
            key: str | None, report: ReportRequest, code: str) -> Page:
    """"Me too": the resident follows the case `code`, one of those the page offered for this
    place and category, with the form's key (a refresh or a double tap changes nothing). Counted
    as a look-up, as the status page counts, so that the button cannot walk through codes."""
    if key is None:
        return problem(request, 400, "unreadable", lang=lang)
    try:
        case = services.lookups.find(code[:SHOWN_CODE], request.source_ip)
    except RateLimited as limited:
        log.warning("me too refused: %s", limited)
        return problem(request, 429, "busy_lookups", lang=lang, retry_after=limited.retry_after)
    if case is not None and any(entry.get("key") == key for entry in case.co_reporters):
        return _followed(request, lang, community, case, report)            # followed already: a refresh
    here = duplicates.place_key_at(community, report.location, report.category)
    if case is None or here is None or case.community_id != report.community_id or \
            duplicates.place_key_at(community, case.location, case.category) != here:
        return problem(request, 400, "not_offered", lang=lang)
    if case.is_open:
        offered = services.workflow.duplicates.already_reported(report.community_id, report.location,
                                                                report.category)
        if case.code not in {r.code for r in offered}:
            return problem(request, 400, "not_offered", lang=lang)
        try:
            case = services.workflow.duplicates.me_too(case.code, report.phone, report.lang, key)
        except LookupError:
            return problem(request, 400, "not_offered", lang=lang)
        except TransitionRefused as refused:
            log.info("me too on %s refused: %s", case.code, refused.reason)
        else:
            return _followed(request, lang, community, case, report)
    # Closed (resolved, merged, ...) since the page offered it: the others, and the report as new.
    others = [c for c in services.cases.get_many(
        [r.code for r in services.workflow.duplicates.already_reported(
            report.community_id, report.location, report.category)]) if c.is_open and c.code != case.code]
    others.sort(key=lambda c: (c.location != report.location, c.created_at, c.code))
    return _already_reported(services, request, lang, community, values, key, report, others, 409,
                             closed=case.code)


def _followed(request: PageRequest, lang: str, community: Any, case: Any, report: ReportRequest) -> Page:
    return _page(200, "followed.html", lang, request, switch=f"/r/{case.code}", code=case.code,
                 affected=case.affected, phone_given=bool(report.phone),
                 sms_number=_shown_number(community.sms_number), status_url=f"{request.base}/r/{case.code}")


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
    zone = _zone(services, case.community_id, case.category, case.priority)

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
                 sms_number=_shown_number(community.sms_number if community else None),
                 affected=status.affected, duplicate_of=status.duplicate_of)


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


def _zone(services: Any, community_id: str, category: str, priority: str) -> str:
    """The community's time zone (its working calendar's), which the pages' times are in."""
    policy = services.policies.for_case(community_id, category, priority)
    return getattr(getattr(policy, "calendar", None), "timezone", None) or DEFAULT_TIMEZONE


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
