"""SLA figures: domain.sla (summarize, percentile, fact_row), the SlaFacts service and the
in-memory repository's sla_facts, which mirrors the by-grid index."""
from __future__ import annotations

import json

import pytest

from chalicelib.domain.case import Case
from chalicelib.domain.directory import Directory, Level
from chalicelib.domain.policy import EscalationPolicy
from chalicelib.domain.sla import empty_summary, fact_row, percentile, summarize
from chalicelib.services.sla import SlaFacts, UnknownCommunity, member_grids
from tests.fakes import InMemoryCases
from tests.unit.builders import tiny

T0 = 1_790_000_000.0
NO_FIGURES = {"median_seconds_to_acknowledge": None, "p90_seconds_to_acknowledge": None,
              "median_seconds_to_resolve": None, "p90_seconds_to_resolve": None}


def row(code="C1", grid="g1", status="resolved", created_at=T0, *, ack_by=None, ack=None,
        res_by=None, res=None, escalations=None, yellow=None, red=None, breaches=0):
    facts = {"escalations": escalations or {}, "supervisions_yellow": yellow or {},
             "supervisions_red": red or {}, "breaches": breaches}
    if ack_by is not None:
        facts.update(acknowledged_at=created_at + ack, acknowledged_by=ack_by, acknowledged_level=1,
                     seconds_to_acknowledge=ack)
    if res_by is not None:
        facts.update(resolved_at=created_at + res, resolved_by=res_by, resolved_level=1,
                     seconds_to_resolve=res)
    return fact_row(code=code, community_id="c", grid_id=grid, category="sanitation", status=status,
                    level=1, holder=ack_by, created_at=created_at, facts=facts)


# -- percentile ----------------------------------------------------------------------------
@pytest.mark.parametrize("values, q, expected", [
    ([], 50, None),
    ([7], 50, 7.0),
    ([7], 90, 7.0),
    ([3, 1, 2], 50, 2.0),                  # unsorted input
    ([1, 2, 3, 4], 50, 2.5),               # even count: between the middle two
    (list(range(1, 11)), 90, 9.1),         # 1..10: rank 8.1 of 0..9
    ([10, 20], 90, 19.0),
    ([1.0004, 1.0004], 50, 1.0),           # rounded to milliseconds
])
def test_given_values_when_a_percentile_is_taken_then_linear_between_closest_ranks(values, q, expected):
    assert percentile(values, q) == expected


# -- summarize -----------------------------------------------------------------------------
def test_given_no_rows_when_summarized_then_zeros_and_no_figures():
    assert summarize([]) == {"total": empty_summary(), "grids": {}, "members": {}}
    assert empty_summary() == {"cases": 0, "open": 0, "acknowledged": 0, "resolved": 0, **NO_FIGURES,
                               "escalations": {}, "supervisions_yellow": {}, "supervisions_red": {},
                               "breaches": 0}


def test_given_grids_to_report_when_one_has_no_cases_then_it_is_there_with_zeros():
    report = summarize([row(grid="g2", ack_by="m1", ack=60)], grids=["g3", "g1"])
    assert list(report["grids"]) == ["g1", "g2", "g3"]
    assert report["grids"]["g1"] == report["grids"]["g3"] == empty_summary()
    assert report["grids"]["g2"]["cases"] == 1


@pytest.mark.parametrize("rows, expected", [
    pytest.param([row(status="assigned")],
                 {"cases": 1, "open": 1, "acknowledged": 0, "resolved": 0, **NO_FIGURES},
                 id="assigned, not acknowledged"),
    pytest.param([row(status="acknowledged", ack_by="m1", ack=600)],
                 {"cases": 1, "open": 1, "acknowledged": 1, "resolved": 0,
                  "median_seconds_to_acknowledge": 600.0, "p90_seconds_to_acknowledge": 600.0},
                 id="acknowledged, still open"),
    pytest.param([row(ack_by="m1", ack=60, res_by="m1", res=3600)],
                 {"cases": 1, "open": 0, "acknowledged": 1, "resolved": 1,
                  "median_seconds_to_acknowledge": 60.0, "median_seconds_to_resolve": 3600.0},
                 id="resolved"),
    pytest.param([row(f"C{i}", ack_by="m1", ack=60 * i, res_by="m1", res=600 * i) for i in range(1, 11)],
                 {"cases": 10, "resolved": 10, "median_seconds_to_acknowledge": 330.0,
                  "p90_seconds_to_acknowledge": 546.0, "median_seconds_to_resolve": 3300.0,
                  "p90_seconds_to_resolve": 5460.0},
                 id="ten resolved: median and 90th percentile"),
    pytest.param([row("C1", status="resolved", res_by="m2", res=100), row("C2", status="closed"),
                  row("C3", status="cancelled"), row("C4", status="received")],
                 {"cases": 4, "open": 1, "acknowledged": 0, "resolved": 1, "median_seconds_to_resolve": 100.0},
                 id="resolved without acknowledging; closed and cancelled are not open"),
])
def test_given_rows_when_summarized_then_counts_and_times(rows, expected):
    total = summarize(rows)["total"]
    assert {key: total[key] for key in expected} == expected


@pytest.mark.parametrize("rows, escalations, yellow, red, breaches", [
    pytest.param([row()], {}, {}, {}, 0, id="none"),
    pytest.param([row(escalations={"1": 1}, breaches=1), row("C2", escalations={"1": 1, "2": 1}, breaches=2)],
                 {"1": 2, "2": 1}, {}, {}, 3, id="escalations add up by level"),
    pytest.param([row(escalations={"10": 1, "2": 1, "1": 0}, breaches=2)],
                 {"2": 1, "10": 1}, {}, {}, 2, id="levels in level order, zero counts left out"),
    pytest.param([row(yellow={"2": 1}, red={"2": 2}, breaches=2), row("C2", yellow={"3": 1})],
                 {}, {"2": 1, "3": 1}, {"2": 2}, 2, id="supervisions by level"),
])
def test_given_breaches_when_summarized_then_by_level(rows, escalations, yellow, red, breaches):
    total = summarize(rows)["total"]
    assert (total["escalations"], total["supervisions_yellow"], total["supervisions_red"], total["breaches"]) \
        == (escalations, yellow, red, breaches)
    assert list(total["escalations"]) == list(escalations)


def test_given_rows_in_two_grids_when_summarized_then_each_grid_counts_its_own_and_the_total_all():
    rows = [row("A", "g2", ack_by="m1", ack=100, escalations={"1": 1}, breaches=1),
            row("B", "g1", status="assigned"),
            row("C", "g2", ack_by="m1", ack=300, res_by="m1", res=900)]
    report = summarize(rows)
    assert list(report["grids"]) == ["g1", "g2"]
    assert (report["grids"]["g1"]["cases"], report["grids"]["g1"]["open"]) == (1, 1)
    g2 = report["grids"]["g2"]
    assert (g2["cases"], g2["acknowledged"], g2["resolved"], g2["median_seconds_to_acknowledge"],
            g2["escalations"]) == (2, 2, 1, 200.0, {"1": 1})
    assert report["total"]["cases"] == 3 and report["total"]["escalations"] == {"1": 1}


@pytest.mark.parametrize("rows, member, expected", [
    pytest.param([row(ack_by="m1", ack=60, res_by="m1", res=600)], "m1",
                 {"cases": 1, "acknowledged": 1, "resolved": 1, "median_seconds_to_acknowledge": 60.0,
                  "median_seconds_to_resolve": 600.0}, id="acknowledged and resolved it"),
    pytest.param([row(ack_by="m1", ack=60, res_by="m2", res=600)], "m1",
                 {"cases": 1, "acknowledged": 1, "resolved": 0, "median_seconds_to_acknowledge": 60.0,
                  "median_seconds_to_resolve": None}, id="acknowledged, someone else resolved"),
    pytest.param([row(ack_by="m1", ack=60, res_by="m2", res=600)], "m2",
                 {"cases": 1, "acknowledged": 0, "resolved": 1, "median_seconds_to_acknowledge": None,
                  "median_seconds_to_resolve": 600.0}, id="resolved what someone else acknowledged"),
    pytest.param([row("A", "g1", status="acknowledged", ack_by="m1", ack=60, red={"2": 1}, breaches=1),
                  row("B", "g2", ack_by="m1", ack=120, res_by="m1", res=600)], "m1",
                 {"cases": 2, "open": 1, "acknowledged": 2, "resolved": 1, "median_seconds_to_acknowledge": 90.0,
                  "supervisions_red": {"2": 1}, "breaches": 1, "grids": ["g1", "g2"]},
                 id="cases in two grids, one still open and under red supervision"),
])
def test_given_acting_members_when_summarized_then_each_has_the_cases_they_acknowledged_or_resolved(
        rows, member, expected):
    figures = summarize(rows)["members"][member]
    assert {key: figures[key] for key in expected} == expected


def test_given_cases_nobody_acted_on_when_summarized_then_no_member_entries():
    assert summarize([row(status="assigned"), row("C2", escalations={"1": 1}, breaches=1)])["members"] == {}


@pytest.mark.parametrize("member_grid, expected", [
    (None, {"m1": [], "m2": []}),
    ({"m1": "g1"}, {"m1": ["g1"], "m2": []}),
    ({"m1": ("g2", "g1", "g2"), "m2": ["g1"]}, {"m1": ["g1", "g2"], "m2": ["g1"]}),
])
def test_given_member_grids_when_summarized_then_each_member_shows_their_home_grids(member_grid, expected):
    rows = [row(ack_by="m2", ack=5, res_by="m1", res=50)]
    members = summarize(rows, member_grid=member_grid)["members"]
    assert list(members) == ["m1", "m2"]
    assert {m: members[m]["home_grids"] for m in members} == expected


def test_given_the_same_rows_in_any_order_when_summarized_then_the_same_json():
    rows = [row(f"C{i}", f"g{i % 3}", ack_by=f"m{i % 4}", ack=17 * i, res_by=f"m{i % 5}", res=101 * i,
                escalations={str(i % 3 + 1): 1}, breaches=1) for i in range(12)]
    forward, backward = summarize(rows), summarize(list(reversed(rows)))
    assert json.dumps(forward, sort_keys=False) == json.dumps(backward, sort_keys=False)
    assert list(forward["members"]) == sorted(forward["members"])


# -- fact rows from the in-memory repository, and the service ------------------------------------------
def _policy() -> EscalationPolicy:
    return EscalationPolicy(version="t", ack_seconds={1: 600, 2: 600, 3: 600, 4: 600, 5: 600})


def _stored(cases: InMemoryCases, code: str, grid: str | None, created_at: float, community="tiny"):
    case = Case.receive(id=f"id-{code}", code=code, community_id=community, category="sanitation",
                        location="tiny-01-1", description="x", now=created_at)
    if grid is not None:
        chain = [Level(1, "stairwell_leader", "sl", ("sl",)), Level(2, "grid_member", "gm", ("gm",))]
        case.route(chain, _policy(), created_at, grid_id=grid)
    cases.add(case)
    return case


def test_given_stored_cases_when_facts_are_read_by_grid_then_only_that_grids_routed_cases_in_the_period():
    cases = InMemoryCases()
    _stored(cases, "LATE", "g1", T0 + 100)
    _stored(cases, "EARLY", "g1", T0)
    _stored(cases, "EDGE", "g1", T0 + 200)
    _stored(cases, "AFTER", "g1", T0 + 201)
    _stored(cases, "OTHER", "g2", T0)
    _stored(cases, "UNROUTED", None, T0)
    _stored(cases, "ELSEWHERE", "g1", T0, community="other")

    rows = list(cases.sla_facts("tiny", "g1", T0, T0 + 200))
    assert [r["code"] for r in rows] == ["EARLY", "LATE", "EDGE"]
    assert {k: rows[0][k] for k in ("community_id", "grid_id", "category", "status", "level", "holder",
                                    "created_at", "escalations", "breaches")} == \
        {"community_id": "tiny", "grid_id": "g1", "category": "sanitation", "status": "assigned", "level": 1,
         "holder": "sl", "created_at": T0, "escalations": {}, "breaches": 0}


def test_given_a_member_in_several_grids_then_member_grids_lists_them_all():
    grids = member_grids(tiny())
    assert grids["chief"] == grids["gm"] == grids["sl"] == grids["bl"] == ["g1"]
    assert "k1" not in grids and "area" not in grids


def test_given_acted_on_cases_when_the_service_reports_then_per_grid_and_per_member_for_the_period():
    cases = InMemoryCases()
    first = _stored(cases, "A", "g1", T0)
    first.acknowledge("sl", T0 + 60, _policy())
    first.resolve("sl", T0 + 660)
    cases.save(first)
    second = _stored(cases, "B", "g1", T0 + 10)
    assert second.escalate(second.due_at, _policy(), T0 + 700)
    second.acknowledge("gm", T0 + 1010, _policy())
    cases.save(second)
    _stored(cases, "OUTSIDE", "g1", T0 + 5000)
    service = SlaFacts(cases, lambda: Directory([tiny()]))

    report = service.report("tiny", T0, T0 + 1000)

    assert (report["community_id"], report["grid_id"], report["since"], report["until"]) == \
        ("tiny", None, T0, T0 + 1000)
    g1 = report["grids"]["g1"]
    assert (g1["cases"], g1["open"], g1["acknowledged"], g1["resolved"]) == (2, 1, 2, 1)
    assert (g1["median_seconds_to_acknowledge"], g1["median_seconds_to_resolve"]) == (530.0, 660.0)
    assert (g1["escalations"], g1["breaches"]) == ({"1": 1}, 1)
    assert report["members"]["sl"]["resolved"] == 1 and report["members"]["gm"]["acknowledged"] == 1
    assert report["members"]["gm"]["home_grids"] == ["g1"]
    assert report == service.report("tiny", T0, T0 + 1000, grid_id="g1") | {"grid_id": None}
    json.dumps(report)


@pytest.mark.parametrize("community, grid", [("nowhere", None), ("tiny", "g9")])
def test_given_an_unknown_community_or_grid_when_reported_then_refused(community, grid):
    with pytest.raises(UnknownCommunity):
        SlaFacts(InMemoryCases(), lambda: Directory([tiny()])).report(community, T0, T0 + 1, grid_id=grid)
