"""Where a resident's SMS report is about, and triage (chalicelib/domain/sms_intake.py).

Demo directory: changmu (sms_default, triage m09, households +8613709741001 → 3-2,
...1002 → 1-1, ...1003 → 11-2, ...1004 → building 5; 20 buildings of 3 units) and
garang (its own SMS number +8613897520100, triage m04; buildings 1 and 2, 2 units each).
"""
from __future__ import annotations

import pytest

from chalicelib.domain.case import REPORTER, Case, Status, TransitionRefused
from chalicelib.domain.directory import Directory
from chalicelib.domain.sms_intake import (
    TRIAGE_TIMER,
    Placement,
    await_triage,
    awaits_place,
    locate,
    phone_shown,
    place,
    remind_triage,
    snippet,
)

STRANGER = "+8613800000000"
GARANG_NUMBER = "+8613897520100"


@pytest.mark.parametrize("phone, text, to, expected", [
    # a registered household: where it lives, whatever the text says
    ("+8613709741001", "楼道灯坏了", None, Placement("changmu", "changmu-03-2", "household")),
    ("+8613709741001", "5号楼门口有垃圾", None, Placement("changmu", "changmu-03-2", "household")),
    ("+8613709741004", "停水了", None, Placement("changmu", "changmu-05", "household")),
    # an unknown phone naming a place: the default community (changmu) has it
    (STRANGER, "3号楼2单元楼道灯坏了", None, Placement("changmu", "changmu-03-2", "mention")),
    (STRANGER, "3栋2单元", None, Placement("changmu", "changmu-03-2", "mention")),
    (STRANGER, "３－２漏水", None, Placement("changmu", "changmu-03-2", "mention")),
    (STRANGER, "12号楼门口", None, Placement("changmu", "changmu-12", "mention")),
    # ... or texting Garang's own number: Garang's place, or Garang's triage
    (STRANGER, "2号楼1单元漏水", GARANG_NUMBER, Placement("garang", "garang-02-1", "mention")),
    (STRANGER, "12号楼门口", GARANG_NUMBER, Placement("garang", None, "triage")),
    (STRANGER, "停水了", "13897520100", Placement("garang", None, "triage")),
    # ... or naming the community in the text
    (STRANGER, "尕让家园1号楼2单元漏水", None, Placement("garang", "garang-01-2", "mention")),
    (STRANGER, "尕让这边停水了", None, Placement("garang", None, "triage")),
    (STRANGER, "常牧家园停电了", None, Placement("changmu", None, "triage")),
    # nothing says where: the default community's triage
    (STRANGER, "楼道灯坏了", None, Placement("changmu", None, "triage")),
    (STRANGER, "3楼漏水", None, Placement("changmu", None, "triage")),
    (STRANGER, "楼道灯坏了", "+8613800009999", Placement("changmu", None, "triage")),   # a To nobody has
])
def test_given_an_sms_then_where_its_report_is(directory, phone, text, to, expected):
    assert place(directory, phone, text, to) == expected


def test_given_a_place_only_another_community_has_then_that_community(communities):
    garang = next(c for c in communities if c.id == "garang")
    changmu = next(c for c in communities if c.id == "changmu")
    plain = changmu.to_dict()
    tiny_changmu = type(changmu).from_dict({**plain, "households": [], "buildings": plain["buildings"][:1],
                                             "members": [{**m, "linked_units": []} for m in plain["members"]]})
    directory = Directory([tiny_changmu, garang])          # changmu has building 1 only
    assert place(directory, STRANGER, "2号楼1单元漏水") == Placement("garang", "garang-02-1", "mention")
    assert place(directory, STRANGER, "1号楼1单元漏水") == Placement("changmu", "changmu-01-1", "mention")


def test_given_no_community_then_no_placement():
    assert place(Directory([]), STRANGER, "3号楼2单元") is None


@pytest.mark.parametrize("text, lang, phone, shown", [
    ("楼道灯坏了", "zh", "13912345678", "楼道灯坏了"),
    ("三号楼二单元楼道里煤气味很大快来看看吧谢谢", "zh", "13912345678", "三号楼二单元楼道里煤气味很大快来看看吧…"),
    ("三号楼二单元楼道里煤气味很大", "en", "13912345678", "三号楼二单元楼道里…"),
    ("a\nb   c", "zh", "13912345678", "a b c"),
    ("三号楼二单元楼道里煤气味很大快来看看吧谢谢", "zh", "+4420794609580", "三号楼二单元楼道里煤气味很大快来…"),
])
def test_the_triage_notice_shows_as_much_of_the_text_as_fits(text, lang, phone, shown):
    assert snippet(text, lang, phone) == shown


@pytest.mark.parametrize("phone, shown", [("+8613912345678", "13912345678"), ("+442079460958", "+442079460958"),
                                          (None, "-")])
def test_a_phone_is_shown_as_a_member_dials_it(phone, shown):
    assert phone_shown(phone) == shown


# -- triage on the case ------------------------------------------------------------------------------

NOW = 1_790_000_000.0


def unplaced() -> Case:
    return Case.receive(id="x", code="ABC234", community_id="changmu", category="other", location="changmu",
                        description="楼道灯坏了好几天", now=NOW, source="sms", reporter_phone=STRANGER)


def test_given_an_unplaced_report_then_the_triage_member_gets_it_and_the_resident_their_code(directory):
    case = unplaced()
    assert awaits_place(case, directory.communities["changmu"])
    assert await_triage(case, "m09", NOW, NOW + 1800)
    assert (case.status, case.holder, case.timer, case.due_at) == (Status.RECEIVED, "m09", TRIAGE_TIMER, NOW + 1800)
    assert [(n.member_id, n.template, n.params) for n in case.outbox] == [
        ("m09", "triage_request", {"text": "楼道灯坏了好几天", "phone": "13800000000"}),
        (REPORTER, "reporter_received", {})]
    assert case.history[-1].event == "triage"
    assert not await_triage(case, "m09", NOW, NOW + 1800)          # a redelivery: nothing more


def test_given_the_triage_deadline_then_a_reminder_and_stale_requests_do_nothing():
    case = unplaced()
    await_triage(case, "m09", NOW, NOW + 1800)
    case.outbox.clear()
    assert not remind_triage(case, NOW + 1800, "m09", NOW + 1000, NOW + 3600)     # not due yet
    assert not remind_triage(case, NOW + 999, "m09", NOW + 1800, NOW + 3600)      # not the deadline the sweep saw
    assert remind_triage(case, NOW + 1800, "m08", NOW + 1800, NOW + 3600)         # m09 is away now: m08
    assert (case.holder, case.due_at) == ("m08", NOW + 3600)
    assert [(n.member_id, n.template) for n in case.outbox] == [("m08", "triage_reminder")]


def test_given_a_place_then_the_case_is_placed_once():
    case = unplaced()
    await_triage(case, "m09", NOW, NOW + 1800)
    assert locate(case, "changmu-03-2", "m09", NOW + 60, NOW + 180)
    assert (case.location, case.holder, case.timer, case.due_at) == ("changmu-03-2", None, "ack", NOW + 180)
    assert case.history[-1].event == "located" and case.history[-1].detail == "changmu-03-2"
    assert not locate(case, "changmu-03-2", "m09", NOW + 70, NOW + 190)           # the same SMS again
    with pytest.raises(TransitionRefused):
        locate(case, "changmu-04-1", "m09", NOW + 80, NOW + 200)                  # it has its place
