"""A GeoReport v2 request read into gridloop's terms (docs/open311.md "Mapping"): pure.

`submission`: POST requests' form fields as the report intake takes (category, location,
description, phone, name, lang). Where: `attribute[building]` with `attribute[unit]`, else
`address_id` (a location code), else `address_string` in a resident's words ("3号楼2单元",
"3-2", "5号楼"); `lat` and `long` are accepted and ignored, since the grid knows no
coordinates, and alone they are refused with a 400 that says how to say where. Names:
`first_name` and `last_name` become the one `name` POST /reports keeps (50 characters at
most); `email`, `device_id`, `account_id` and `media_url` are not stored (the device and the
account only tell two requests apart: `fingerprint`). Any field GeoReport does not define,
or an attribute the definition does not have, is a 400.

`filters`: GET requests' query (service_request_id, service_code, start_date, end_date,
status), checked: every fault is a 400 that names it.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.codes import normalize_code
from chalicelib.domain.directory import Community
from chalicelib.domain.language import LANGS
from chalicelib.domain.places import parse_place

from .formats import Open311Error
from .mapping import UNKNOWN_UNIT, open311_status

# GeoReport v2's POST requests fields (attribute[CODE] aside).
FIELDS = frozenset({"api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string", "address_id",
                    "email", "device_id", "account_id", "first_name", "last_name", "phone", "description",
                    "media_url"})
ATTRIBUTES = ("building", "unit")
ATTRIBUTE = re.compile(r"^attribute\[([^\]]*)\]$")
MAX_IDS = 100                 # service_request_id: codes per list
MAX_DAYS = 90                 # the spec's window, and its default
MAX_RESULTS = 1000


def _bad(description: str) -> Open311Error:
    return Open311Error(400, description)


def lang_of(query: Mapping[str, str]) -> str:
    lang = (query.get("lang") or "zh").strip().lower()
    if lang not in LANGS:
        raise _bad(f"lang must be one of {', '.join(LANGS)}")
    return lang


# -- POST requests ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Submission:
    payload: dict[str, str]    # for IntakeService.submit: validated there, as every report is
    fingerprint: str           # the content, to tell a resubmission from a new request


def submission(fields: Mapping[str, str], community: Community, lang: str) -> Submission:
    values = {k: v.strip() for k, v in fields.items() if isinstance(v, str) and v.strip()}
    attributes: dict[str, str] = {}
    for name in sorted(fields):
        matched = ATTRIBUTE.match(name)
        if matched:
            if matched.group(1) not in ATTRIBUTES:
                raise _bad(f"{name}: this service has no such attribute (its definition lists building and unit)")
            if name in values:
                attributes[matched.group(1)] = values[name]
        elif name not in FIELDS:
            raise _bad(f"{name} is not a GeoReport v2 field")
    if "service_code" not in values:
        raise _bad("service_code is required: one of GET services")
    location = place(values, attributes, community)
    payload = {"category": values["service_code"], "location": location, "description": values.get("description", ""),
               "lang": lang}
    if "phone" in values:
        payload["phone"] = values["phone"]
    name = full_name(values.get("first_name"), values.get("last_name"))
    if name:
        payload["name"] = name
    content = [payload.get(k) for k in ("category", "location", "description", "phone", "name", "lang")]
    content += [values.get("device_id"), values.get("account_id")]
    fingerprint = hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()[:32]
    return Submission(payload, fingerprint)


def place(values: Mapping[str, str], attributes: Mapping[str, str], community: Community) -> str:
    """The location code the request is about, in the community (see the module's docstring)."""
    building, unit = attributes.get("building"), attributes.get("unit")
    if building is not None:
        code = _building(community, building)
        if unit is not None and unit.lower() != UNKNOWN_UNIT:
            number = unit if unit.isdigit() else ""
            code = f"{code}-{int(number)}" if number else ""
            if code not in community.locations:
                raise _bad(f"attribute[unit]: building {building} has no unit {unit[:20]} (or send unknown)")
        address_id = values.get("address_id")
        if address_id is not None and address_id.lower() != code:
            raise _bad("attribute[building] and address_id name different places: send one")
        return code
    if unit is not None:
        raise _bad("attribute[unit] needs attribute[building]")
    if "address_id" in values:
        code = values["address_id"].lower()
        if code not in community.locations:
            raise _bad(f"address_id {values['address_id'][:40]} is no place of {community.id} "
                       "(the service definition lists the buildings)")
        return code
    if "address_string" in values:
        code = parse_place(community, values["address_string"])
        if code is None:
            raise _bad("address_string names no building of this community: write it as 3号楼2单元, 3-2 or 5号楼, "
                       "or send attribute[building]")
        return code
    if "lat" in values or "long" in values:
        raise _bad("lat and long are not used here: the grid knows buildings and units, not coordinates. "
                   "Send attribute[building] (and attribute[unit]) from the service definition")
    raise _bad("say where: attribute[building] (and attribute[unit]) from the service definition, "
               "or address_id, or address_string")


def _building(community: Community, text: str) -> str:
    code = text.lower()
    if code not in community.locations and text.isdigit():
        code = f"{community.id}-{int(text):02d}"
    location = community.locations.get(code)
    if location is None or location.unit_id is not None:
        raise _bad(f"attribute[building]: {text[:40]} is no building of {community.id} "
                   "(the service definition lists them)")
    return code


def full_name(first: str | None, last: str | None) -> str | None:
    """The one name POST /reports keeps: Chinese names family name first, with no space."""
    parts = [p for p in (first, last) if p]
    if len(parts) == 2 and all(_cjk(p) for p in parts):
        return parts[1] + parts[0]
    return " ".join(parts) or None


def _cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


# -- GET requests -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    codes: tuple[str, ...] | None        # service_request_id: when given, the other filters do not apply
    categories: frozenset[str] | None
    statuses: frozenset[str] | None      # "open", "closed"
    since: float
    until: float

    def keeps(self, status: str, category: str) -> bool:
        return ((self.categories is None or category in self.categories)
                and (self.statuses is None or open311_status(status) in self.statuses))


def _listed(text: str | None) -> list[str] | None:
    if text is None or not text.strip():
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def filters(query: Mapping[str, str], categories: Mapping[str, Any], now: float) -> Filters:
    codes = None
    ids = _listed(query.get("service_request_id"))
    if ids is not None:
        if len(ids) > MAX_IDS:
            raise _bad(f"service_request_id: at most {MAX_IDS} ids")
        codes = tuple(dict.fromkeys(_code(i) for i in ids))
    services = _listed(query.get("service_code"))
    for code in services or ():
        if code not in categories:
            raise _bad(f"service_code {code[:40]} is not a service (GET services lists them)")
    statuses = _listed(query.get("status"))
    for status in statuses or ():
        if status not in ("open", "closed"):
            raise _bad("status is open, closed or open,closed")
    since, until = _time(query, "start_date"), _time(query, "end_date")
    span = MAX_DAYS * 86400.0
    if until is None:
        until = min(now, since + span) if since is not None else now
    if since is None:
        since = until - span
    if since > until:
        raise _bad("start_date is after end_date")
    if until - since > span:
        raise _bad(f"start_date to end_date may span at most {MAX_DAYS} days")
    return Filters(codes, frozenset(services) if services else None, frozenset(statuses) if statuses else None,
                   since, until)


def _code(text: str) -> str:
    code = normalize_code(text)
    if code is None:
        raise _bad(f"service_request_id {text[:20]} is not a request's id (6 letters and digits such as AP3ZUM)")
    return code


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _time(query: Mapping[str, str], name: str) -> float | None:
    """A W3C date-time with its offset (2026-11-01T00:00:00Z, ...+08:00), or a date (UTC midnight)."""
    text = (query.get(name) or "").strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(f"{name} is not a W3C date-time such as 2026-11-01T00:00:00Z") from None
    if _DATE_ONLY.match(text):
        when = when.replace(tzinfo=UTC)
    if when.tzinfo is None:
        raise _bad(f"{name} needs its offset: 2026-11-01T00:00:00Z or 2026-11-01T08:00:00+08:00")
    try:
        return when.timestamp()
    except (OverflowError, ValueError):      # year 1 less an offset
        raise _bad(f"{name} is out of range") from None
