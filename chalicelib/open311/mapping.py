"""gridloop in GeoReport v2's terms (docs/open311.md "Mapping"): pure, in Chinese (the default)
or English.

- a category is a service (`service_code` its code, `service_name` its name), `type` realtime
  (a person takes each request in minutes to hours), with `metadata`: its definition's
  attributes say where, as the report page asks it: `building` (a building's location code)
  and `unit` (its unit's number, or `unknown`);
- a case is a service request at the public view's level of detail: its code, its category,
  its status (open or closed) and in words (`status_notes`), the role holding it
  (`agency_responsible`), its place in words (`address`, e.g. 5号楼2单元) and code
  (`address_id`), and the times. Never a name, a phone, a member id or the resident's words:
  `description` is left out. The grid knows no coordinates: `lat` and `long` are null.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.case import OPEN_STATUSES as CASE_OPEN_STATUSES
from chalicelib.domain.directory import ROLE_NAMES, Community
from chalicelib.domain.public_status import PublicStatus, public_status

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-03T00:00:00+00:00"      # when this API last changed (discovery's changeset)
UNKNOWN_UNIT = "unknown"                     # the unit attribute's "not known": the building is the place
# Open311's two statuses: a case is open while someone is to act on it (received, assigned,
# acknowledged; triage and suspended are states of those), closed otherwise (resolved, closed,
# cancelled, duplicate). As status values, so that a status added later reads as closed.
OPEN_STATUSES = frozenset(status.value for status in CASE_OPEN_STATUSES)

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "received": "已受理，正在分派给网格", "triage": "已受理，等待社区确认地点",
        "assigned": "已转交{role}，等待接单", "acknowledged": "{role}已接单，正在办理",
        "suspended": "已挂起，暂停办理", "resolved": "已办结，等待居民确认",
        "closed": "已结案", "cancelled": "已取消（无效报事）", "duplicate": "已合并到 {code}",
        "building": "楼号", "unit": "单元", "unknown_unit": "不清楚单元（整栋楼）",
        "building_help": "报事地点所在的楼；也可用 address_id（地点编码，如 changmu-03-2）"
                         "或 address_string（如 3号楼2单元）代替",
        "unit_help": "楼里的单元号；不清楚选 unknown",
        "notice": "已受理，编号 {code}。可发短信“查询 {code}”了解进度。",
        "contact": "社区办公室", "key_service": "api_key 由社区办公室签发（ops 命令 api-key-issue）",
        "building_name": "{n}号楼", "unit_name": "{n}单元", "grid": "网格",
    },
    "en": {
        "received": "received, being passed to the grid", "triage": "received, waiting for the community to place it",
        "assigned": "passed to the {role}, waiting to be taken on", "acknowledged": "taken on by the {role}",
        "suspended": "suspended", "resolved": "resolved, waiting for the resident to confirm",
        "closed": "closed", "cancelled": "cancelled (not a valid report)", "duplicate": "merged into {code}",
        "building": "Building", "unit": "Unit", "unknown_unit": "Unit not known (the whole building)",
        "building_help": "the building the request is about; address_id (a place's code such as changmu-03-2) "
                         "or address_string (such as 3-2) may say the place instead",
        "unit_help": "the unit's number in the building; unknown if not known",
        "notice": "Received: code {code}. Text CHECK {code} to follow it.",
        "contact": "the community office", "key_service": "api_key: issued by the community office (ops api-key-issue)",
        "building_name": "Building {n}", "unit_name": "Unit {n}", "grid": "grid",
    },
}


def iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds") if t is not None else None


def open311_status(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


def _name(names: Mapping[str, str], lang: str) -> str:
    return names.get(lang) or names.get("zh") or next(iter(names.values()), "")


# -- discovery and services -----------------------------------------------------------------
def discovery(endpoint_url: str, production: bool, lang: str) -> dict[str, Any]:
    words = TEXTS[lang]
    return {"changeset": CHANGESET, "contact": words["contact"], "key_service": words["key_service"],
            "endpoints": [{"specification": SPECIFICATION, "url": endpoint_url, "changeset": CHANGESET,
                           "type": "production" if production else "test",
                           "formats": ["application/json", "text/xml"]}]}


def services(categories: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    other = "en" if lang == "zh" else "zh"
    return [{"service_code": code, "service_name": _name(category["name"], lang),
             "description": _name(category["name"], other), "metadata": True, "type": "realtime",
             "keywords": "", "group": ""} for code, category in categories.items()]


def service_definition(service_code: str, community: Community, lang: str) -> dict[str, Any]:
    words = TEXTS[lang]
    buildings = sorted((community.buildings[loc.building_id].number, loc.code)
                       for loc in community.locations.values() if loc.unit_id is None)
    units = sorted({unit.number for unit in community.units.values()})
    return {"service_code": service_code, "attributes": [
        {"variable": True, "code": "building", "datatype": "singlevaluelist", "required": True,
         "datatype_description": words["building_help"], "order": 1, "description": words["building"],
         "values": [{"key": code, "name": words["building_name"].format(n=number)} for number, code in buildings]},
        {"variable": True, "code": "unit", "datatype": "singlevaluelist", "required": False,
         "datatype_description": words["unit_help"], "order": 2, "description": words["unit"],
         "values": [{"key": str(n), "name": words["unit_name"].format(n=n)} for n in units]
         + [{"key": UNKNOWN_UNIT, "name": words["unknown_unit"]}]},
    ]}


# -- service requests -------------------------------------------------------------------------
def service_notice(code: str, lang: str) -> str:
    return TEXTS[lang]["notice"].format(code=code)


def address(community: Community | None, location: str, lang: str) -> str:
    """The place in words: "5号楼2单元" (without the community's name); a report not yet
    placed (its location is the community's id) is the community."""
    place = community.locations.get(location) if community else None
    if place is not None:
        return _name(place.short_name, lang)
    if community is not None and location == community.id:
        return _name(community.name, lang)
    return location


def role_name(role: str | None, lang: str) -> str | None:
    return _name(ROLE_NAMES[role], lang) if role in ROLE_NAMES else None


def status_notes(status: PublicStatus, role: str | None, lang: str, duplicate_of: str | None = None) -> str:
    """The state in words, with the role that holds it; a duplicate names the case it joined."""
    words = TEXTS[lang]
    return words.get(status.state, status.state).format(role=role_name(role, lang) or words["grid"],
                                                        code=duplicate_of or status.duplicate_of or "")


def request_view(case: Any, community: Community | None, categories: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """One service request, as GET requests answers it: no personal data."""
    status = public_status(case, community)
    role = getattr(case, "level_role", None)      # the role of the level that has (or last had) it
    category = categories.get(case.category)
    return {
        "service_request_id": case.code,
        "status": open311_status(case.status.value),
        "status_notes": status_notes(status, role, lang, getattr(case, "duplicate_of", None)),
        "service_name": _name(category["name"], lang) if category else case.category,
        "service_code": case.category,
        "agency_responsible": role_name(role, lang),
        "service_notice": None,
        "requested_datetime": iso(case.created_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": iso(status.expected.at) if status.expected else None,
        "address": address(community, case.location, lang),
        "address_id": case.location,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }
