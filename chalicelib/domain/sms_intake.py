"""A resident's SMS becomes a report: where it is, and triage when nobody can tell.

Where (in this order):
1. the phone's registered household (directory `households`): that unit or building;
2. else a building/unit named in the text ("3号楼2单元", "3栋2单元", "3-2": domain.places),
   in the community the SMS is for. Which community: the one whose own SMS number
   (`sms_number`) the resident texted (the gateway's `To`), or whose name the text
   says ("尕让家园3号楼..."); else the community that has the place named (if several
   do, the default one); else the deployment's default community
   (Directory.default_community: the only one, or the one with `sms_default`, or the
   first by id);
3. else nowhere yet: the report is stored in that community with its id as the
   location, and goes to the member on triage duty (`triage`, else the committee),
   who sets the place with `位置 CODE 3-2` (domain.sms). Until then the triage member
   is reminded at the case's first acknowledge limit.

Pure: the services (services.workflow) store and send.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import case as _case
from . import places
from .case import Case, Status
from .directory import Community, Directory

TRIAGE_TIMER = _case.TRIAGE_TIMER   # the clock an unplaced report runs on (kept by the case)
SNIPPET = {"zh": 20, "en": 10}      # what of the resident's text fits one SMS with the rest
MAX_DESCRIPTION = 1000


@dataclass(frozen=True)
class Placement:
    community_id: str
    location: str | None          # None: the triage member places it
    how: str                      # "household", "mention" or "triage"


def place(directory: Directory, phone: str, text: str, to: str | None = None) -> Placement | None:
    """Where an SMS report from `phone` is about; None only when there is no community at all."""
    household = directory.household(phone)
    if household is not None:
        return Placement(household.community_id, household.code, "household")
    mention = places.find(text)
    community = directory.community_by_sms_number(to) or named_community(directory, text)
    if community is not None:
        code = places.location_code(community, mention)
        return Placement(community.id, code, "mention" if code else "triage")
    default = directory.default_community()
    having = sorted((c for c in directory.communities.values() if places.location_code(c, mention)),
                    key=lambda c: c.id)
    if having:
        chosen = default if default in having else having[0]
        return Placement(chosen.id, places.location_code(chosen, mention), "mention")
    return Placement(default.id, None, "triage") if default is not None else None


def named_community(directory: Directory, text: str) -> Community | None:
    """The one community whose name the text says: 常牧家园 or 常牧, Changmu Homeland or Changmu."""
    found = []
    lowered = (text or "").lower()
    for community in directory.communities.values():
        names = set()
        for name in community.name.values():
            names.add(name.lower())
            for suffix in ("家园", "小区", "社区", " homeland"):
                if name.lower().endswith(suffix) and len(name) - len(suffix) >= 2:
                    names.add(name.lower()[:-len(suffix)])
        if any(name and name in lowered for name in names):
            found.append(community)
    return found[0] if len(found) == 1 else None


def awaits_place(case: Case, community: Community | None) -> bool:
    """An SMS report nobody has placed yet: received, at no location of its community."""
    return case.status is Status.RECEIVED and (community is None or case.location not in community.locations)


def snippet(text: str, lang: str, phone: str = "") -> str:
    """The start of a resident's text, short enough that the triage notice stays one SMS
    (a phone longer than a Chinese mobile's 11 digits takes its room)."""
    flat = " ".join((text or "").split())
    limit = SNIPPET.get(lang, SNIPPET["zh"]) - max(0, len(phone) - 11)
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def phone_shown(phone: str | None) -> str:
    """A phone as a member dials it: national form for a Chinese number."""
    if not phone:
        return "-"
    return phone[3:] if phone.startswith("+86") else phone


def await_triage(case: Case, holder: str, now: float, remind_at: float, lang: str = "zh") -> bool:
    """Hand an unplaced SMS report to the member on triage duty, with what the resident
    wrote and their phone; the resident gets their code now (the reporter_received
    notice), not when the report is placed. False when it already was (a redelivery)."""
    phone = phone_shown(case.reporter_phone)
    if not case.await_triage(holder, now, remind_at, text=snippet(case.description, lang, phone), phone=phone):
        return False
    case.give_code()
    return True


def give_code(case: Case) -> bool:
    """The resident's code (reporter_received), once, before the report is placed or routed."""
    return case.give_code()


def remind_triage(case: Case, expected_due_at: float, holder: str | None, now: float,
                  remind_at: float) -> bool:
    """Nobody placed it in time: remind whoever is on triage duty now (the directory may
    have changed). Stale or duplicate requests change nothing, as escalations."""
    return case.remind_triage(expected_due_at, holder, now, remind_at)


def locate(case: Case, location: str, member_id: str, now: float, route_by: float) -> bool:
    """位置: the triage member sets the place. The case stays received, due for routing at
    `route_by` (the caller routes it at once; the sweep does if that is lost). False for
    the same place again (a redelivered SMS); TransitionRefused once it is placed."""
    return case.locate(location, member_id, now, route_by)


def oversees(community: Community, member_id: str) -> bool:
    """The member on triage duty, the committee and the area chief: who may place an SMS
    report, or cancel a junk report (取消), whoever holds it."""
    return member_id in {community.triage_id, community.area_chief_id, *community.committee_ids}


def may_place(community: Community, case: Case, member_id: str) -> bool:
    """Who may set an SMS report's place: its triage holder, the member on triage duty,
    the committee and the area chief."""
    return member_id == case.holder or oversees(community, member_id)


def description_of(text: str) -> str:
    return (text or "").strip()[:MAX_DESCRIPTION]
