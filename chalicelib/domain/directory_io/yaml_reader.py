"""Reading the YAML layout (data/directory/*.yaml) into records, each value with its line;
structural problems (not YAML, unknown or repeated fields, wrong shapes) are reported here."""
from __future__ import annotations

from typing import Any

from .records import _TEAM_NAMES, Loc, _Problems, _Rec, _Records

_TOP_FIELDS = ("id", "name", "area", "committee", "teams", "grids", "buildings", "members",
               "triage", "sms_number", "sms_default", "households")
_HOUSEHOLD_FIELDS = ("phone", "unit")
_AREA_FIELDS = ("name", "chief")
_MEMBER_FIELDS = ("id", "name", "phone", "roles", "category", "lang", "leave", "posts", "linked_units",
                  "paired_with")
_GRID_FIELDS = ("id", "name", "chief", "members", "volunteers")
_BUILDING_FIELDS = ("id", "number", "grid", "leader", "grid_member", "units")
_UNIT_FIELDS = ("number", "leader")


def _read_yaml(text: str, filename: str, out: _Problems) -> _Records | None:
    import yaml  # lazily: only the YAML path needs PyYAML

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        out.error((filename, mark.line + 1 if mark else 0),
                  f"not valid YAML: {error.problem or error.context or error}")
        return None
    except yaml.YAMLError as error:
        out.error((filename, 0), f"not valid YAML: {error}")
        return None
    if root is None:
        out.error((filename, 0), "the file is empty")
        return None

    constructor = yaml.constructor.SafeConstructor()

    def line(node: Any) -> Loc:
        return filename, node.start_mark.line + 1

    def plain(node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return {plain(k): plain(v) for k, v in node.value}
        if isinstance(node, yaml.SequenceNode):
            return [plain(v) for v in node.value]
        try:
            return constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            return node.value

    def mapping(node: Any, what: str, allowed: tuple[str, ...]) -> dict[str, tuple[Any, Any]] | None:
        """{key: (key node, value node)}, with duplicate and unknown keys reported."""
        if not isinstance(node, yaml.MappingNode):
            out.error(line(node), f"{what} must be a mapping of {', '.join(allowed)}")
            return None
        result: dict[str, tuple[Any, Any]] = {}
        for key_node, value_node in node.value:
            key = plain(key_node)
            if not isinstance(key, str):
                out.error(line(key_node), f"{what}: field names must be text, not {key!r}")
            elif key in result:
                out.error(line(key_node), f"{what}: {key!r} is given twice "
                                          f"(first on line {line(result[key][0])[1]})")
            elif key not in allowed:
                out.error(line(key_node), f"{what}: unknown field {key!r} "
                                          f"(fields are: {', '.join(allowed)})")
            else:
                result[key] = (key_node, value_node)
        return result

    def sequence(node: Any, what: str) -> list[Any]:
        if isinstance(node, yaml.ScalarNode) and plain(node) is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            out.error(line(node), f"{what} must be a list")
            return []
        return list(node.value)

    def record(fields: dict[str, tuple[Any, Any]], loc: Loc, lists: tuple[str, ...] = ()) -> _Rec:
        rec = _Rec(loc)
        for key, (key_node, value_node) in fields.items():
            rec.locs[key] = line(key_node)
            if key in lists and isinstance(value_node, yaml.SequenceNode):
                rec.values[key] = [plain(v) for v in value_node.value]
                for index, item in enumerate(value_node.value):
                    rec.locs[(key, index)] = line(item)
                    if isinstance(item, yaml.MappingNode):       # e.g. a leave period's from and to
                        for sub_key, _ in item.value:
                            rec.locs[(f"{key}.{plain(sub_key)}", index)] = line(sub_key)
            else:
                rec.values[key] = plain(value_node)
        return rec

    records = _Records()
    top = mapping(root, "the community", _TOP_FIELDS)
    if top is None:
        return None
    head = record({k: v for k, v in top.items()
                   if k in ("id", "name", "committee", "triage", "sms_number", "sms_default")},
                  line(root), lists=("committee",))
    if "name" in top and isinstance(top["name"][1], yaml.MappingNode):
        for key_node, _ in top["name"][1].value:
            head.locs[("name", plain(key_node))] = line(key_node)
    if "area" in top:
        area = mapping(top["area"][1], "area", _AREA_FIELDS) or {}
        head.locs["area"] = line(top["area"][0])
        for key, (key_node, value_node) in area.items():
            head.values[f"area_{key}"] = plain(value_node)
            head.locs[f"area_{key}"] = line(key_node)
    records.head = head

    if "teams" in top:
        teams_node = top["teams"][1]
        if isinstance(teams_node, yaml.ScalarNode) and plain(teams_node) is None:
            pass
        elif not isinstance(teams_node, yaml.MappingNode):
            out.error(line(teams_node), f"teams must be a mapping of team: [members] "
                                        f"(teams are: {_TEAM_NAMES})")
        else:
            for key_node, value_node in teams_node.value:
                team = _Rec(line(key_node), {"team": plain(key_node)}, {"team": line(key_node)})
                team.locs["members"] = line(key_node)
                items = sequence(value_node, f"team {plain(key_node)}")
                team.values["members"] = [plain(v) for v in items]
                for index, item in enumerate(items):
                    team.locs[("members", index)] = line(item)
                records.teams.append(team)

    for kind, fields, lists in (("members", _MEMBER_FIELDS, ("roles", "leave", "posts", "linked_units")),
                                ("grids", _GRID_FIELDS, ("members", "volunteers")),
                                ("households", _HOUSEHOLD_FIELDS, ())):
        if kind not in top:
            continue
        for item in sequence(top[kind][1], kind):
            found = mapping(item, {"members": "a member", "grids": "a grid",
                                   "households": "a household"}[kind], fields)
            if found is not None:
                getattr(records, kind).append(record(found, line(item), lists))
    if "buildings" in top:
        for item in sequence(top["buildings"][1], "buildings"):
            found = mapping(item, "a building", _BUILDING_FIELDS)
            if found is None:
                continue
            units = found.pop("units", None)
            building = record(found, line(item))
            records.buildings.append(building)
            if units is None:
                continue
            for unit_node in sequence(units[1], "units"):
                unit_fields = mapping(unit_node, "a stairwell unit", _UNIT_FIELDS)
                if unit_fields is not None:
                    unit = record(unit_fields, line(unit_node))
                    unit.values["building"] = building.values.get("id")
                    unit.values["nested"] = True
                    records.units.append(unit)
    return records
