"""domain.ops.parse: every console test event gives a Command or a Rejected naming the field
at fault, never an exception."""
from __future__ import annotations

import pytest

from chalicelib.domain.ops import Command, Rejected, parse

WHO = {"operator": "wangfang"}

ACCEPTED = [
    ({"command": "show", "case": "7kq-2xm"}, {"case": "7KQ2XM", "personal": False}),
    ({"command": "show", "case": "7KQ2XM", "personal": True}, {"personal": True}),
    ({"command": "overdue"}, {"limit": 50, "community": None}),
    ({"command": "overdue", "community": "garang", "limit": 5}, {"community": "garang", "limit": 5}),
    ({"command": "reassign", "case": "7KQ2XM", "member": "m07", "reason": " 外出 "},
     {"member": "m07", "reason": "外出"}),
    ({"command": "escalate", "case": "7KQ2XM", "from_level": 2, "reason": "r"}, {"from_level": 2}),
    ({"command": "close", "case": "7KQ2XM", "reason": "已修好"}, {"reason": "已修好"}),
    ({"command": "cancel", "case": "7KQ2XM", "reason": "重复"}, {"reason": "重复"}),
    ({"command": "resend", "case": "7KQ2XM"}, {"notice": None, "member": None}),
    ({"command": "resend", "case": "7KQ2XM", "notice": "7kq2xm.3"}, {"notice": "7KQ2XM.3"}),
    ({"command": "resend", "case": "7KQ2XM", "member": "@reporter"}, {"member": "@reporter"}),
    ({"command": "directory-import", "community": "changmu", "format": "yaml", "document": "id: changmu"},
     {"dry_run": False, "document": "id: changmu"}),
    ({"command": "directory-import", "community": "changmu", "format": "csv", "document": {"members.csv": "id"},
      "dry_run": True}, {"dry_run": True, "document": {"members.csv": "id"}}),
    ({"command": "directory-export", "community": "changmu"}, {"format": "yaml", "version": None}),
    ({"command": "directory-export", "community": "changmu", "format": "csv", "version": 3}, {"version": 3}),
    ({"command": "redrive", "queue": "intake-dlq"}, {"queue": "intake", "max": 100}),
    ({"command": "redrive", "queue": "sms-inbound", "max": 7}, {"queue": "sms-inbound", "max": 7}),
]

REJECTED = [
    (None, "invalid_command", None, False),
    ("show 7KQ2XM", "invalid_command", None, False),
    ({"case": "7KQ2XM"}, "missing_field", "command", True),
    ({"command": "drop-table"}, "unknown_command", "command", True),
    ({"command": "show", "case": "7KQ2XM"}, "missing_field", "operator", False),
    ({"command": "show", "case": "7KQ2XM", "operator": "王 芳"}, "invalid_field", "operator", False),
    ({"command": "show", "case": "7KQ2XM", "operator": 7}, "invalid_field", "operator", False),
    ({"command": "show"}, "missing_field", "case", True),
    ({"command": "show", "case": "OOOOOO"}, "invalid_field", "case", True),
    ({"command": "show", "case": "7KQ2XM", "reason": "x"}, "unknown_field", "reason", True),
    ({"command": "show", "case": "7KQ2XM", "personal": "yes"}, "invalid_field", "personal", True),
    ({"command": "close", "case": "7KQ2XM"}, "missing_field", "reason", True),
    ({"command": "close", "case": "7KQ2XM", "reason": "   "}, "invalid_field", "reason", True),
    ({"command": "close", "case": "7KQ2XM", "reason": "长" * 201}, "invalid_field", "reason", True),
    ({"command": "escalate", "case": "7KQ2XM", "reason": "r"}, "missing_field", "from_level", True),
    ({"command": "escalate", "case": "7KQ2XM", "reason": "r", "from_level": True}, "invalid_field", "from_level", True),
    ({"command": "escalate", "case": "7KQ2XM", "reason": "r", "from_level": "2"}, "invalid_field", "from_level", True),
    ({"command": "reassign", "case": "7KQ2XM", "reason": "r", "member": "m 7"}, "invalid_field", "member", True),
    ({"command": "resend", "case": "7KQ2XM", "notice": "7KQ2XM.1", "member": "m07"}, "invalid_field", "member", True),
    ({"command": "resend", "case": "7KQ2XM", "notice": "3"}, "invalid_field", "notice", True),
    ({"command": "overdue", "limit": 0}, "invalid_field", "limit", True),
    ({"command": "overdue", "community": "Chang Mu"}, "invalid_field", "community", True),
    ({"command": "redrive", "queue": "cases"}, "invalid_field", "queue", True),
    ({"command": "redrive", "queue": "intake", "max": 100000}, "invalid_field", "max", True),
    ({"command": "directory-import", "community": "changmu", "format": "yaml", "document": {"a.csv": "x"}},
     "invalid_field", "document", True),
    ({"command": "directory-import", "community": "changmu", "format": "xml", "document": "x"},
     "invalid_field", "format", True),
    ({"command": "directory-import", "community": "changmu", "format": "yaml", "document": ""},
     "invalid_field", "document", True),
    ({"command": "directory-export", "community": "changmu", "version": -1}, "invalid_field", "version", True),
]


@pytest.mark.parametrize("event, expected", ACCEPTED, ids=[str(i) for i in range(len(ACCEPTED))])
def test_given_a_well_formed_command_when_parsed_then_its_fields_are_normalised(event, expected):
    command = parse({**event, **WHO})

    assert isinstance(command, Command) and command.name == event["command"]
    assert command.actor == "ops:wangfang"
    assert {key: getattr(command, key) for key in expected} == expected


@pytest.mark.parametrize("event, code, field, with_operator", REJECTED, ids=[str(i) for i in range(len(REJECTED))])
def test_given_a_bad_command_when_parsed_then_it_is_rejected_naming_the_field(event, code, field, with_operator):
    rejected = parse({**event, **WHO} if with_operator else event)

    assert isinstance(rejected, Rejected), rejected
    assert (rejected.code, rejected.field) == (code, field)
    assert rejected.to_dict()["ok"] is False and rejected.message


@pytest.mark.parametrize("junk", [[], 0, {"command": ["show"]}, {"command": "show", "case": None, **WHO},
                                  {"command": "resend", "case": "7KQ2XM", "notice": 3, **WHO},
                                  {"command": "directory-import", "community": "c", "format": "csv",
                                   "document": {"a.csv": 1}, **WHO}])
def test_given_anything_when_parsed_then_no_exception(junk):
    assert isinstance(parse(junk), Rejected)


POINTS_ACCEPTED = [
    ({"command": "points-statement", "community": "changmu", "member": "m06"},
     {"member": "m06", "household": None, "month": None}),
    ({"command": "points-statement", "community": "changmu", "household": "changmu-03-2-301", "month": "2026-12"},
     {"household": "changmu-03-2-301", "month": "2026-12"}),
    ({"command": "points-credit", "community": "changmu", "member": "m06", "event": "2026-12-05-free-clinic",
      "points": 5}, {"event": "2026-12-05-free-clinic", "points": 5}),
    ({"command": "points-redeem", "community": "changmu", "household": "changmu-03-2-301", "item": "rice",
      "receipt": "R-0001"}, {"item": "rice", "receipt": "R-0001"}),
    ({"command": "shop-restock", "community": "changmu", "item": "rice", "count": 20}, {"count": 20}),
    ({"command": "shop-list", "community": "changmu"}, {"community": "changmu"}),
]

POINTS_REJECTED = [
    ({"command": "points-statement", "community": "changmu"}, "missing_field", "member"),
    ({"command": "points-statement", "community": "changmu", "member": "m06", "household": "changmu-03-2-301"},
     "invalid_field", "household"),
    ({"command": "points-statement", "community": "changmu", "member": "@reporter"}, "invalid_field", "member"),
    ({"command": "points-statement", "community": "changmu", "member": "m06", "month": "2026-13"},
     "invalid_field", "month"),
    ({"command": "points-statement", "community": "changmu", "household": "+8613800138000"},
     "invalid_field", "household"),
    ({"command": "points-credit", "community": "changmu", "member": "m06", "event": "e1"}, "missing_field", "points"),
    ({"command": "points-credit", "community": "changmu", "member": "m06", "event": "e1", "points": 0},
     "invalid_field", "points"),
    ({"command": "points-credit", "community": "changmu", "member": "m06", "event": "e1", "points": "5"},
     "invalid_field", "points"),
    ({"command": "points-credit", "community": "changmu", "member": "m06", "event": "义诊", "points": 5},
     "invalid_field", "event"),
    ({"command": "points-redeem", "community": "changmu", "member": "m06", "item": "Rice", "receipt": "R-1"},
     "invalid_field", "item"),
    ({"command": "points-redeem", "community": "changmu", "member": "m06", "item": "rice", "receipt": "R 1"},
     "invalid_field", "receipt"),
    ({"command": "points-redeem", "community": "changmu", "member": "m06", "item": "rice"}, "missing_field", "receipt"),
    ({"command": "shop-restock", "community": "changmu", "item": "rice", "count": 0}, "invalid_field", "count"),
    ({"command": "shop-restock", "community": "changmu", "item": "rice", "count": 10**6}, "invalid_field", "count"),
    ({"command": "shop-list", "community": "changmu", "member": "m06"}, "unknown_field", "member"),
    ({"command": "shop-list"}, "missing_field", "community"),
]


@pytest.mark.parametrize("event, expected", POINTS_ACCEPTED, ids=[e["command"] for e, _ in POINTS_ACCEPTED])
def test_given_a_points_command_when_parsed_then_its_fields_are_there(event, expected):
    command = parse({**event, **WHO})

    assert isinstance(command, Command) and command.name == event["command"]
    assert {key: getattr(command, key) for key in expected} == expected


@pytest.mark.parametrize("event, code, field", POINTS_REJECTED, ids=[str(i) for i in range(len(POINTS_REJECTED))])
def test_given_a_bad_points_command_when_parsed_then_it_is_rejected_naming_the_field(event, code, field):
    rejected = parse({**event, **WHO})

    assert isinstance(rejected, Rejected), rejected
    assert (rejected.code, rejected.field) == (code, field)
