"""One problem reported many times, over in-memory fakes on the communities' policy books
(tests/conftest.py book_services): reports folded by the case worker, "me too" followers,
merges by SMS (合并) and what every follower hears.

Demo directory (data/directory/changmu.yaml): 5号楼 is b05 (changmu-05, units changmu-05-1..3),
its stairwell leader m14; a water_pipe case goes to property management (m45 first) with the
stairwell leader following. The changmu book folds water_pipe within 2 days anywhere in the
building, gas_leak (urgent) within 6 hours, and never medical_insurance.
"""
from __future__ import annotations

import pytest

from chalicelib.domain.case import REPORTER, Case, Status, TransitionRefused, co_reporter_address
from chalicelib.domain.duplicates import (
    NEVER,
    DuplicateRule,
    DuplicateRules,
    DuplicateRulesError,
    OpenReport,
    original_for,
)
from chalicelib.domain.messages import render
from chalicelib.domain.policy import PolicyError
from tests.unit.test_sms_services import phone, text_in

HOUR, DAY = 3600, 86400
RESIDENT_A, RESIDENT_B, RESIDENT_C = "+8613800000011", "+8613800000012", "+8613800000013"


def report(services, location="changmu-05-2", category="water_pipe", phone=None, route=True, **extra):
    payload = {"category": category, "location": location, "description": "水管漏水", **extra}
    if phone:
        payload["phone"] = phone
    case = services.intake.submit(payload)
    if route:
        services.run_intake()
    return services.cases.get(case.code)


def resolve(services, case):
    holder = services.cases.get(case.code).holder
    assert text_in(services, phone(services, holder), f"完成 {case.code}") == "resolve"
    return services.cases.get(case.code)


def resolved_notices(services, to):
    return [t for t in services.sms.to(to) if "已办结" in t]


# -- the rules ------------------------------------------------------------------------------------

def test_given_rules_then_each_category_gets_its_own_and_the_rest_the_default():
    rules = DuplicateRules.from_dict({"default": {"match": "unit", "within": "2 days"},
                                      "categories": {"fire": {"match": "building", "within": "6 hours"},
                                                     "other": "never"}}, lambda text: {"2 days": 2 * DAY,
                                                                                       "6 hours": 6 * HOUR}[text])
    assert rules.for_category("fire") == DuplicateRule(True, "building", 6 * HOUR)
    assert rules.for_category("heating") == DuplicateRule(True, "unit", 2 * DAY)
    assert rules.for_category("other") is NEVER
    assert DuplicateRules.from_dict(None, int).for_category("fire") is NEVER      # no key: nothing folds


@pytest.mark.parametrize("data", [
    [], {"default": {"match": "street", "within": "1 day"}}, {"default": {"match": "unit"}},
    {"default": "sometimes"}, {"categories": {"fire": {"within": "1 day", "extra": 1}}}, {"unknown": 1},
])
def test_given_a_wrong_duplicates_section_then_it_is_refused_saying_what(data):
    with pytest.raises(DuplicateRulesError):
        DuplicateRules.from_dict(data, lambda text: DAY)


def test_given_working_time_in_a_policy_books_window_then_the_book_is_refused(communities):
    import copy
    import json

    from chalicelib.bootstrap import DATA
    from chalicelib.domain.policy import PolicyBook
    data = json.loads((DATA / "policies" / "changmu.json").read_text(encoding="utf-8"))
    bad = copy.deepcopy(data)
    bad["duplicates"]["default"]["within"] = "2 working days"
    with pytest.raises(PolicyError, match="working time"):
        PolicyBook.from_dict(bad)
    bad = copy.deepcopy(data)
    bad["duplicates"]["categories"]["no_such_category"] = "never"
    known = frozenset(c["code"] for c in json.loads((DATA / "categories.json").read_text())["categories"])
    with pytest.raises(PolicyError, match="no_such_category"):
        PolicyBook.from_dict(bad, known_categories=known)


BUILDINGS = {"c-05-1": "b05", "c-05-2": "b05", "c-05": "b05", "c-06-1": "b06"}
UNIT = DuplicateRule(True, "unit", DAY)
BUILDING = DuplicateRule(True, "building", DAY)


@pytest.mark.parametrize("rule, location, candidates, expected", [
    (UNIT, "c-05-2", [OpenReport("OLD", "c-05-2", 100, "assigned")], "OLD"),
    (UNIT, "c-05-2", [OpenReport("OLD", "c-05-1", 100, "assigned")], None),          # another unit
    (BUILDING, "c-05-2", [OpenReport("OLD", "c-05-1", 100, "assigned")], "OLD"),
    (BUILDING, "c-05-2", [OpenReport("OLD", "c-06-1", 100, "assigned")], None),      # another building
    (UNIT, "c-05-2", [OpenReport("OLD", "c-05-2", 1000 - DAY - 1, "assigned")], None),   # outside the window
    (UNIT, "c-05-2", [OpenReport("OLD", "c-05-2", 100, "resolved")], None),         # no longer open
    (UNIT, "c-05-2", [OpenReport("NEW", "c-05-2", 1000, "assigned")], None),         # itself
    (UNIT, "c-05-2", [OpenReport("LATER", "c-05-2", 1001, "received")], None),       # made after it
    (UNIT, "c-05-2", [OpenReport("B", "c-05-2", 300, "assigned"), OpenReport("A", "c-05-2", 200, "received")], "A"),
    (NEVER, "c-05-2", [OpenReport("OLD", "c-05-2", 100, "assigned")], None),
])
def test_the_open_case_a_report_joins_is_the_oldest_that_matches(rule, location, candidates, expected):
    assert original_for("NEW", location, 1000, rule, candidates, BUILDINGS) == expected


# -- folded by the case worker ------------------------------------------------------------------------

def test_given_two_reports_of_a_leak_in_one_building_then_one_case_with_two_residents(book_services):
    services = book_services
    first = report(services, phone=RESIDENT_A)
    services.clock.advance(HOUR)
    sent_before = len(services.sms.sent)
    second = report(services, location="changmu-05-3", phone=RESIDENT_B)

    assert second.status is Status.DUPLICATE and second.duplicate_of == first.code
    assert second.due_at is None and second.holder is None                   # its clocks stopped
    original = services.cases.get(first.code)
    assert original.affected == 2 and original.merged_codes == [second.code]
    assert original.resident_address(RESIDENT_B) == co_reporter_address(1)
    # the second resident hears their own code (as any reporter does), no member hears anything new
    assert [to for to, _ in services.sms.sent[sent_before:]] == [RESIDENT_B]
    assert second.code in services.sms.to(RESIDENT_B)[0]


def test_given_the_routing_message_again_then_the_fold_changes_nothing(book_services):
    services = book_services
    first = report(services)
    second = report(services, route=False)
    message = services.intake_queue.take()
    for _ in range(2):                                  # SQS delivers at least once
        services.workflow.route(services.intake.parse_queue_message(message[0], "m-1"))
        assert services.cases.get(second.code).status is Status.DUPLICATE
        assert services.cases.get(first.code).affected == 2


def test_given_a_reports_routing_message_was_lost_then_the_sweep_folds_it_as_the_worker_would(book_services):
    services = book_services
    first = report(services)
    second = report(services, location="changmu-05-1", route=False)
    services.intake_queue.take()                         # the routing message never arrives
    services.clock.advance(HOUR)                         # past the routing deadline
    assert services.workflow.sweep() >= 1
    services.run_escalations()
    assert services.cases.get(second.code).duplicate_of == first.code


@pytest.mark.parametrize("first, second, wait", [
    ({}, {"category": "heating"}, 0),                     # another problem
    ({}, {"location": "changmu-06-1"}, 0),                # another building
    ({}, {}, 2 * DAY + 1),                                # after the window
    ({"category": "medical_insurance"}, {"category": "medical_insurance"}, 0),   # never folded: each their own
])
def test_given_a_report_that_is_not_the_same_problem_then_it_is_its_own_case(book_services, first, second, wait):
    services = book_services
    report(services, **first)
    services.clock.advance(wait)
    other = report(services, **second)
    assert other.status is Status.ASSIGNED and other.duplicate_of is None


def test_given_the_first_case_was_resolved_then_a_new_report_is_its_own_case(book_services):
    services = book_services
    first = report(services)
    resolve(services, first)
    assert report(services).status is Status.ASSIGNED


def test_given_an_urgent_case_reported_again_then_it_is_folded_and_its_holder_told(book_services):
    services = book_services
    first = report(services, category="gas_leak", priority="urgent")
    holder = services.cases.get(first.code).holder
    services.sms.sent.clear()
    second = report(services, category="gas_leak", location="changmu-05-1", priority="urgent")
    assert second.status is Status.DUPLICATE
    told = services.sms.to(phone(services, holder))
    assert told == [render("duplicate_reported", "zh", community="常牧家园", code=first.code,
                           duplicate=second.code, affected=2)]


# -- me too ---------------------------------------------------------------------------------------------

def test_given_me_too_then_no_new_case_and_the_case_counts_the_resident(book_services):
    services = book_services
    first = report(services, phone=RESIDENT_A)
    count = len(services.cases.items)
    case = services.workflow.duplicates.me_too(first.code, RESIDENT_B, "en", key="web-1")
    assert len(services.cases.items) == count and case.affected == 2
    again = services.workflow.duplicates.me_too(first.code, RESIDENT_B, "en", key="web-1")   # a refresh
    assert again.affected == 2 and again.version == case.version
    assert services.workflow.duplicates.me_too(first.code, None, "zh", key="web-2").affected == 3   # no phone
    assert services.follows.followed_by(RESIDENT_B) == [first.code]


def test_already_reported_shows_open_cases_of_a_folding_category_nearby_and_never_a_private_one(book_services):
    services = book_services
    report(services, category="medical_insurance")
    here = report(services, location="changmu-05-2")
    there = report(services, location="changmu-05-1", category="water_pipe", route=False)   # not yet routed
    found = services.workflow.duplicates.already_reported("changmu", "changmu-05-2", "water_pipe")
    assert [r.code for r in found] == [here.code, there.code]          # the very unit first
    assert services.workflow.duplicates.already_reported("changmu", "changmu-05-2", "medical_insurance") == []
    assert services.workflow.duplicates.already_reported("changmu", "changmu-06-1", "water_pipe") == []


def test_given_me_too_on_a_closed_case_then_refused(book_services):
    services = book_services
    first = report(services)
    resolve(services, first)
    with pytest.raises(TransitionRefused, match="not_followable_resolved"):
        services.workflow.duplicates.me_too(first.code, RESIDENT_B, "zh", key="web-1")


@pytest.mark.parametrize("followers", [0, 1, 3])
def test_given_n_followers_then_resolving_sends_n_more_resolved_notices_and_nothing_else(book_services, followers):
    services = book_services
    first = report(services, phone=RESIDENT_A)
    phones = [f"+86138000001{n:02d}" for n in range(followers)]
    for index, resident in enumerate(phones):
        services.workflow.duplicates.me_too(first.code, resident, "zh", key=f"web-{index}")
    services.sms.sent.clear()
    resolve(services, first)
    residents = [to for to, _ in services.sms.sent if to in [RESIDENT_A, *phones]]
    assert sorted(residents) == sorted([RESIDENT_A, *phones])     # one resolved notice each
    members = [to for to, _ in services.sms.sent if to not in [RESIDENT_A, *phones]]
    assert len(services.sms.sent) == len(residents) + len(members)
    assert all(len(resolved_notices(services, to)) == 1 for to in [RESIDENT_A, *phones])


def test_given_a_follower_answers_2_then_the_case_reopens(book_services):
    services = book_services
    first = report(services, phone=RESIDENT_A)
    services.workflow.duplicates.me_too(first.code, RESIDENT_B, "zh", key="web-1")
    resolve(services, first)
    assert text_in(services, RESIDENT_B, "2") == "unsatisfied"
    case = services.cases.get(first.code)
    reopened = next(e for e in case.history if e.event == "reopened")
    assert case.status is Status.ASSIGNED and reopened.actor == co_reporter_address(1)
    assert not case.awaits_feedback_from(REPORTER)               # asked again after the next fix
    assert text_in(services, RESIDENT_A, "1") == "feedback:refused"


def test_given_one_resident_satisfied_then_the_case_waits_for_the_others(book_services):
    services = book_services
    first = report(services, phone=RESIDENT_A)
    services.workflow.duplicates.me_too(first.code, RESIDENT_B, "zh", key="web-1")
    resolve(services, first)
    assert text_in(services, RESIDENT_A, "1") == "satisfied"
    assert services.cases.get(first.code).status is Status.RESOLVED
    assert text_in(services, RESIDENT_A, "1") == "satisfied"          # a repeat: no change, no answer
    assert text_in(services, RESIDENT_B, "满意") == "satisfied"
    assert services.cases.get(first.code).status is Status.CLOSED


def test_given_a_folded_reporter_answers_then_the_case_it_joined_hears_it(book_services):
    services = book_services
    first = report(services, phone=RESIDENT_A)
    second = report(services, phone=RESIDENT_B)
    resolve(services, first)
    assert len(resolved_notices(services, RESIDENT_B)) == 1 and first.code in resolved_notices(services, RESIDENT_B)[0]
    assert text_in(services, RESIDENT_B, "2") == "unsatisfied"
    assert services.cases.get(first.code).status is Status.ASSIGNED
    assert services.cases.get(second.code).status is Status.DUPLICATE


def test_given_a_duplicate_then_its_status_by_sms_points_to_the_case_it_joined(book_services):
    services = book_services
    first = report(services, phone=RESIDENT_A)
    second = report(services, phone=RESIDENT_B)
    services.sms.sent.clear()
    assert text_in(services, RESIDENT_B, f"查询 {second.code}") == "query"
    [answer] = services.sms.to(RESIDENT_B)
    assert first.code in answer and "并入" in answer


# -- 合并 by SMS ----------------------------------------------------------------------------------------

def test_given_a_member_merges_two_cases_by_sms_then_the_first_joins_the_second(book_services):
    services = book_services
    first = report(services, phone=RESIDENT_A)
    other = report(services, category="heating", phone=RESIDENT_B)      # not folded: another category
    holder = phone(services, services.cases.get(other.code).holder)
    services.sms.sent.clear()
    assert text_in(services, holder, f"合并 {other.code} {first.code}") == "merge"
    merged, original = services.cases.get(other.code), services.cases.get(first.code)
    assert (merged.status, merged.duplicate_of) == (Status.DUPLICATE, first.code)
    assert original.affected == 2 and original.resident_address(RESIDENT_B) == co_reporter_address(1)
    assert services.sms.to(holder) == []                         # a reply that worked needs no answer
    assert text_in(services, holder, f"MERGE {other.code} INTO {first.code}") == "merge"   # again: no change
    assert services.cases.get(first.code).affected == 2
    assert services.cases.get(first.code).version == original.version


def test_given_the_same_merge_sms_delivered_twice_then_one_merge(book_services):
    services = book_services
    first = report(services)
    other = report(services, category="heating")
    holder = phone(services, services.cases.get(other.code).holder)
    services.inbound.accept(holder, f"合并 {other.code} {first.code}", gateway="test", gateway_message_id="g-1")
    [body] = services.inbound_queue.take()
    assert [services.workflow.reply(body) for _ in range(2)] == ["merge", "merge"]
    original = services.cases.get(first.code)
    assert original.merged_codes == [other.code] and original.affected == 2


@pytest.mark.parametrize("how, answer", [
    ("unknown", "unknown_case"), ("same", "refused_merge"), ("resolved", "refused_merge"),
    ("stranger", "refused_not_on_chain"),
])
def test_given_a_merge_that_cannot_be_then_refused_and_nothing_changes(book_services, how, answer):
    services = book_services
    first = report(services)
    other = report(services, category="heating")
    member = services.cases.get(other.code).holder
    into = {"unknown": "ZZZ999", "same": other.code}.get(how, first.code)
    if how == "resolved":
        resolve(services, first)
    if how == "stranger":
        member = "m12"                                          # 3号楼's stairwell leader: no say on either
    services.sms.sent.clear()
    outcome = text_in(services, phone(services, member), f"合并 {other.code} {into}")
    assert outcome.startswith("refused:")
    [text] = services.sms.to(phone(services, member))
    assert text == render(answer, "zh", code=into if answer == "unknown_case" else other.code)
    assert services.cases.get(other.code).status is Status.ASSIGNED


def test_given_a_merge_sms_without_the_second_code_then_the_member_is_told_how(book_services):
    services = book_services
    other = report(services, category="heating")
    member = phone(services, services.cases.get(other.code).holder)
    assert text_in(services, member, f"合并 {other.code}") == "unparsable"
    assert services.cases.get(other.code).status is Status.ASSIGNED


# -- the aggregate alone ----------------------------------------------------------------------------------

def _case(code, phone=None, community="changmu"):
    return Case.receive(id=code.lower(), code=code, community_id=community, category="water_pipe",
                        location="changmu-05-2", description="d", now=0.0, reporter_phone=phone)


def test_absorbing_a_duplicate_takes_its_reporter_and_followers_once_each():
    original, duplicate = _case("AAA222", RESIDENT_A), _case("BBB333", RESIDENT_B)
    assert duplicate.follow(1.0, RESIDENT_C, "zh", key="k")
    assert duplicate.follow(1.0, RESIDENT_B, "zh", key="k2") is False     # its own reporter
    assert duplicate.follow(1.0, RESIDENT_A, "zh", key="k3")               # the original's reporter
    assert original.absorb(duplicate, 2.0, "m14")
    assert original.affected == 3 and original.absorb(duplicate, 3.0, "m14") is False   # A once: B, C
    with pytest.raises(TransitionRefused, match="merge_other_community"):
        original.absorb(_case("CCC444", community="garang"), 4.0, "m14")
    with pytest.raises(TransitionRefused, match="merge_same_case"):
        original.absorb(original, 4.0, "m14")


def test_a_duplicate_merged_elsewhere_is_refused_another_merge():
    duplicate = _case("BBB333")
    assert duplicate.mark_duplicate("AAA222", 1.0, "m14")
    assert duplicate.mark_duplicate("AAA222", 2.0, "m14") is False
    with pytest.raises(TransitionRefused, match="already_merged"):
        duplicate.mark_duplicate("CCC444", 3.0, "m14")
    assert Case.from_dict(duplicate.to_dict()).duplicate_of == "AAA222"
