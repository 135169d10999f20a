"""The members' checks: ids, names, phones (also against the deployment's other communities),
category, language, roles, leave periods and posts; then, once the buildings are known, the
households a member is linked to and the member an elderly or away member is paired with."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .. import leave as _leave
from ..directory import POSTS, TEAM_ROLES, MemberCategory
from .records import Loc, _Rec, _split
from .value_checks import _Checks, _place_label, _places

KNOWN_ROLES = ("area_chief", "committee", "grid_chief", "grid_member", "building_leader",
               "stairwell_leader", "volunteer", *TEAM_ROLES)
_LEAVE_SEPARATORS = re.compile(r"[;；,，、\n]+")


class _MemberChecks(_Checks):
    def check_members(self, cid: str | None) -> None:
        phones: dict[str, tuple[str, Loc]] = {}
        elsewhere: dict[str, tuple[str, Any]] = {}
        for other in self.others:
            if other.id == cid:
                continue
            for member in other.members.values():
                elsewhere[member.phone] = (other.id, member)
        from ..report import InvalidReport, normalize_phone

        for rec in self.r.members:
            member_id = self.ident(rec, "id", "a member")
            what = f"member {member_id}" if member_id else "a member"
            if member_id is not None and member_id in self.members:
                self.out.error(rec.at("id"), f"member id {member_id} is used twice "
                                             f"(first on line {self.members[member_id].loc[1]})")
                member_id = None
            name = self.text(rec, "name", what)
            raw_phone = self.text(rec, "phone", what)
            phone = None
            if raw_phone is not None:
                try:
                    phone = normalize_phone(raw_phone)
                except InvalidReport:
                    hint = " (a spreadsheet turned it into a number: format the column as text)" \
                        if "E+" in raw_phone.upper() else ""
                    self.out.error(rec.at("phone"), f"{what}: {raw_phone!r} is not a valid phone number{hint}")
            if phone is not None:
                if phone in phones:
                    first_id, first_loc = phones[phone]
                    self.out.error(rec.at("phone"), f"{what}: phone {phone} is also {first_id}'s "
                                                    f"(line {first_loc[1]}); each member needs their own phone")
                elif phone in elsewhere:
                    other_id, other = elsewhere[phone]
                    self.out.error(rec.at("phone"), f"{what}: phone {phone} belongs to member {other.id} "
                                                    f"({other.name}) of community {other_id}; a person can "
                                                    f"be a member of one community only")
                else:
                    phones[phone] = (member_id or "another member", rec.at("phone"))
            category = self.text(rec, "category", what, required=False) or MemberCategory.AT_HOME.value
            try:
                category_value = MemberCategory(category)
            except ValueError:
                self.out.error(rec.at("category"), f"{what}: category {category!r} is not one of "
                                                   f"{', '.join(c.value for c in MemberCategory)}")
                category_value = None
            lang = self.text(rec, "lang", what, required=False) or "zh"
            if lang not in _languages():
                self.out.warn(rec.at("lang"), f"{what}: gridloop has no messages in {lang!r} "
                                              f"(it has {', '.join(sorted(_languages()))}); they will get Chinese")
            leave = self.leave(rec, what)
            roles = [r for r, _ in self.id_list(rec, "roles", what)]
            for index, role in enumerate(roles):
                if role not in KNOWN_ROLES:
                    self.out.warn(rec.at("roles", index), f"{what}: unknown role {role!r} "
                                                          f"(roles are: {', '.join(KNOWN_ROLES)})")
            posts = self.posts(rec, what)
            if member_id is None:
                continue
            self.members[member_id] = rec
            self.names[member_id] = name or "?"
            if category_value is not None:
                self.category[member_id] = category_value
            rec.values["_plain"] = {"id": member_id, "name": name, "phone": phone, "roles": roles,
                                    "category": category, "lang": lang, "leave": leave, "posts": posts,
                                    "linked_units": [], "paired_with": None}    # these two: check_links

    def posts(self, rec: _Rec, what: str) -> list[str]:
        """The member's service posts (设岗), each one of POSTS, each once."""
        posts: list[str] = []
        for post, loc in self.id_list(rec, "posts", what):
            if post not in POSTS:
                self.out.error(loc, f"{what}: unknown post {post!r} (posts are: {', '.join(POSTS)})")
            elif post in posts:
                self.out.error(loc, f"{what}: post {post} is listed twice")
            else:
                posts.append(post)
        return posts

    def check_links(self, buildings: Iterable[dict[str, Any]]) -> None:
        """What needs every member and every building known: the households a member is
        linked to (党群连心户: linked_units, "3-2" or "3"), the at-home member an elderly or
        away member is paired with (结对帮扶: paired_with); and a warning for a member who
        holds posts or is linked to households but is not at home."""
        places = _places(buildings)
        for member_id, rec in self.members.items():
            what = f"member {member_id}"
            plain = rec.values["_plain"]
            plain["linked_units"] = self.linked_units(rec, what, places)
            if not self.at_home(member_id) and member_id in self.category:
                if plain["posts"]:
                    self.out.warn(rec.at("posts"), f"member {self.who(member_id)} holds posts but is not at "
                                                   f"home: they are never in a service pool")
                if plain["linked_units"]:
                    self.out.warn(rec.at("linked_units"), f"household head {self.who(member_id)} is not at "
                                                          f"home: they cannot visit their households")
            plain["paired_with"] = self.paired_with(rec, member_id, what)

    def linked_units(self, rec: _Rec, what: str, places: set[str]) -> list[str]:
        value = rec.values.get("linked_units")
        if value is None or value == "":
            return []
        if isinstance(value, str):
            value = _split(value)
        if not isinstance(value, list):
            self.out.error(rec.at("linked_units"), f"{what}: linked_units must be a list of units (\"3-2\")")
            return []
        labels: list[str] = []
        for index, item in enumerate(value):
            loc = rec.at("linked_units", index)
            label = _place_label(item)
            if label is None or label not in places:
                self.out.error(loc, f"{what}: linked unit {item!r} is not a building or stairwell unit of this "
                                    f"community (write building-unit: \"3-2\", or \"3\" for building 3)")
            elif label in labels:
                self.out.error(loc, f"{what}: linked unit {label} is listed twice")
            else:
                labels.append(label)
        return labels

    def paired_with(self, rec: _Rec, member_id: str, what: str) -> str | None:
        partner = self.ident(rec, "paired_with", what, required=False)
        if partner is None:
            return None
        loc = rec.at("paired_with")
        if self.at_home(member_id):
            self.out.error(loc, f"{what} is at home: only elderly or away members are paired with someone "
                                f"(paired_with {partner})")
            return None
        if partner == member_id:
            self.out.error(loc, f"{what} is paired with themselves (paired_with names the at-home member "
                                f"who visits them)")
            return None
        if not self.member_ref(partner, loc, f"{what} paired_with (结对帮扶)"):
            return None
        if not self.at_home(partner):
            self.out.error(loc, f"{what} is paired with {self.who(partner)}, who is not at home: the member "
                                f"who visits them (结对帮扶) must be at home")
            return None
        return partner

    def leave(self, rec: _Rec, what: str) -> list[dict[str, float]]:
        """The member's leave periods as {"from": start, "to": end} in epoch seconds."""
        value = rec.values.get("leave")
        periods: list[tuple[Any, Loc, Any, Loc]] = []        # from, its line, to, its line
        if value is None or value == "":
            return []
        if isinstance(value, str):                            # CSV: FROM/TO;FROM/TO
            for part in _LEAVE_SEPARATORS.split(value):
                if not part.strip():
                    continue
                bounds = part.split("/")
                if len(bounds) != 2 or not all(b.strip() for b in bounds):
                    self.out.error(rec.at("leave"), f"{what}: leave {part.strip()!r} is not FROM/TO "
                                                    f"(e.g. 2026-12-01/2026-12-10)")
                    continue
                periods.append((bounds[0].strip(), rec.at("leave"), bounds[1].strip(), rec.at("leave")))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                loc = rec.at("leave", index)
                if not isinstance(item, dict):
                    self.out.error(loc, f"{what}: a leave period is from: and to:, not {item!r}")
                    continue
                unknown = [k for k in item if k not in ("from", "to")]
                for key in unknown:
                    self.out.error(rec.at(f"leave.{key}", index) if (f"leave.{key}", index) in rec.locs else loc,
                                   f"{what}: a leave period: unknown field {key!r} (fields are: from, to)")
                missing = [k for k in ("from", "to") if item.get(k) in (None, "")]
                if missing:
                    self.out.error(loc, f"{what}: a leave period has no {' and no '.join(missing)}")
                if unknown or missing:
                    continue
                periods.append((item["from"], rec.at("leave.from", index) if ("leave.from", index) in rec.locs
                                else loc, item["to"], rec.at("leave.to", index)
                                if ("leave.to", index) in rec.locs else loc))
        else:
            self.out.error(rec.at("leave"), f"{what}: leave must be a list of periods (from:, to:)")
            return []
        result = []
        for start_value, start_loc, end_value, end_loc in periods:
            bounds = []
            for bound, loc, end in ((start_value, start_loc, False), (end_value, end_loc, True)):
                try:
                    bounds.append(_leave.parse_bound(bound, end=end))
                except _leave.LeaveError as error:
                    self.out.error(loc, f"{what}: leave {'to' if end else 'from'}: {error}")
            if len(bounds) != 2:
                continue
            start, end = bounds
            if end <= start:
                shown = [v.isoformat() if hasattr(v, "isoformat") else str(v) for v in (start_value, end_value)]
                same = end == start and _leave.parse_bound(end_value, end=False) == end   # not a whole day
                relation = "is the same instant as" if same else "is before"
                self.out.error(end_loc, f"{what}: leave to {shown[1]} {relation} from {shown[0]}: "
                                        f"a period must end after it starts")
                continue
            result.append({"from": start, "to": end})
        return result


_LANGUAGES: set[str] = set()


def _languages() -> set[str]:
    """The languages every message template has."""
    if not _LANGUAGES:
        try:
            from ..messages import TEMPLATES
            _LANGUAGES.update(set.intersection(*(set(t) for t in TEMPLATES.values())))
        except Exception:   # the messages module is not ours to break on
            _LANGUAGES.update({"zh", "en"})
    return _LANGUAGES
