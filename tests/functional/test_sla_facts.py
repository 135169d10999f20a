"""SLA facts on the real adapters (moto): every save keeps the case's facts on the sparse
`by-grid` index, and the SLA report (Container.sla) reads them by grid with Queries,
never a Scan. The sanitation category takes the standard chain (楼道长 → 网格员 → ...).
The index itself (sparse, read page by page) is tested on both engines in tests/storage."""
from __future__ import annotations

import json

import botocore.client
import pytest

from chalicelib.adapters.dynamo import GRID_INDEX, GRID_PROJECTION
from infra.template import render
from tests.functional.conftest import case, escalate_due, member_phone, routed_report, text_in

MINUTE = 60
G1_UNIT, G1_OTHER_UNIT, G2_UNIT = "changmu-01-1", "changmu-02-1", "changmu-06-1"
# changmu-01-1: stairwell leader m10, grid member m06 (grid g1); changmu-02-1: m11, m06;
# changmu-06-1: stairwell leader m15, grid member m07 (grid g2).


@pytest.fixture
def operations(monkeypatch):
    """Every AWS operation made through botocore while the test runs; a Scan fails it."""
    made: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        made.append(operation_name)
        if operation_name == "Scan":
            raise AssertionError(f"a Scan was made: {api_params}")
        return real(self, operation_name, api_params)

    def no_scan(*args, **kwargs):
        raise AssertionError("the model's scan() was called")

    class Recorder:
        def start(self, model):
            made.clear()
            monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
            monkeypatch.setattr(model, "scan", no_scan)
            return made

    return Recorder()


def reply(client, stack, member_id: str, text: str, community: str = "changmu") -> None:
    text_in(stack, member_phone(stack, member_id, community), text, client)


def test_the_report_gives_figures_per_grid_and_per_member_from_queries_only(client, aws_stack, clock, operations):
    # GIVEN three cases reported at T0: two in grid g1, one in grid g2
    t0 = clock.now
    first = routed_report(client, aws_stack, location=G1_UNIT, description="楼道垃圾 1")
    second = routed_report(client, aws_stack, location=G1_OTHER_UNIT, description="楼道垃圾 2")
    third = routed_report(client, aws_stack, location=G2_UNIT, description="楼道垃圾 3")
    # AND one in grid g1 of the other community, acknowledged and resolved at once
    elsewhere = routed_report(client, aws_stack, location="garang-01-1", description="楼道垃圾 4")
    reply(client, aws_stack, "m05", f"收到 {elsewhere}", community="garang")
    reply(client, aws_stack, "m05", f"完成 {elsewhere}", community="garang")
    # first: the stairwell leader acknowledges after 5 minutes and resolves after 65
    clock.advance(5 * MINUTE)
    reply(client, aws_stack, "m10", f"收到 {first}")
    # third: its stairwell leader acknowledges after 10 minutes
    clock.advance(5 * MINUTE)
    reply(client, aws_stack, "m15", f"收到 {third}")
    # second: nobody answers for 30 minutes, so it climbs to the grid member, who
    # acknowledges it at 40 minutes and resolves it at 50
    clock.advance(21 * MINUTE)
    assert escalate_due(client, aws_stack) == 1
    assert (case(aws_stack, second).level, case(aws_stack, second).holder) == (2, "m06")
    clock.advance(9 * MINUTE)
    reply(client, aws_stack, "m06", f"收到 {second}")
    clock.advance(10 * MINUTE)
    reply(client, aws_stack, "m06", f"完成 {second}")
    clock.advance(15 * MINUTE)
    reply(client, aws_stack, "m10", f"完成 {first}")
    # third: its resolve clock reaches the yellow mark: the grid member is warned (level 2)
    clock.now = case(aws_stack, third).due_at + 1
    # (in office time, the next morning: Garang's call-back, held through its quiet hours, is due too)
    assert escalate_due(client, aws_stack) == 2
    assert case(aws_stack, elsewhere).outbox == []
    assert [e.event for e in case(aws_stack, third).history if e.event.startswith("supervised")] == \
        ["supervised_yellow"]
    # AND a case in g1 reported after the period
    routed_report(client, aws_stack, location=G1_UNIT, description="楼道垃圾 6")

    # WHEN the SLA report for changmu over the first two hours is read, with Scans forbidden
    # (the directory is warm in the container's cache, as in any warm container)
    aws_stack.directory()
    made = operations.start(aws_stack.case_model)
    result = aws_stack.sla.report("changmu", t0, t0 + 2 * 3600)

    # THEN only Queries on the cases' by-grid index were made: one per grid
    assert made == ["Query"] * 4
    # AND each grid has its own figures
    assert list(result["grids"]) == ["g1", "g2", "g3", "g4"]
    g1, g2 = result["grids"]["g1"], result["grids"]["g2"]
    assert {k: g1[k] for k in ("cases", "open", "acknowledged", "resolved")} == \
        {"cases": 2, "open": 0, "acknowledged": 2, "resolved": 2}
    assert (g1["median_seconds_to_acknowledge"], g1["p90_seconds_to_acknowledge"]) == (1350.0, 2190.0)
    assert (g1["median_seconds_to_resolve"], g1["p90_seconds_to_resolve"]) == (3450.0, 3810.0)
    assert (g1["escalations"], g1["supervisions_yellow"], g1["supervisions_red"], g1["breaches"]) == \
        ({"1": 1}, {}, {}, 1)
    assert {k: g2[k] for k in ("cases", "open", "acknowledged", "resolved", "median_seconds_to_acknowledge",
                               "median_seconds_to_resolve", "escalations", "supervisions_yellow", "breaches")} == \
        {"cases": 1, "open": 1, "acknowledged": 1, "resolved": 0, "median_seconds_to_acknowledge": 600.0,
         "median_seconds_to_resolve": None, "escalations": {}, "supervisions_yellow": {"2": 1}, "breaches": 0}
    assert result["grids"]["g3"]["cases"] == result["grids"]["g4"]["cases"] == 0
    assert result["total"]["cases"] == 3          # neither the later one nor garang's
    # AND each member who acknowledged or resolved has theirs
    assert list(result["members"]) == ["m06", "m10", "m15"]
    m06, m10, m15 = (result["members"][m] for m in ("m06", "m10", "m15"))
    assert (m10["cases"], m10["acknowledged"], m10["resolved"], m10["median_seconds_to_acknowledge"],
            m10["median_seconds_to_resolve"], m10["grids"]) == (1, 1, 1, 300.0, 3900.0, ["g1"])
    assert (m06["cases"], m06["median_seconds_to_acknowledge"], m06["median_seconds_to_resolve"],
            m06["escalations"], m06["home_grids"]) == (1, 2400.0, 3000.0, {"1": 1}, ["g1", "g2"])
    assert (m15["open"], m15["supervisions_yellow"], m15["home_grids"]) == (1, {"2": 1}, ["g2"])
    json.dumps(result)

    # AND one grid alone gives that grid's figures, with one Query
    made.clear()
    alone = aws_stack.sla.report("changmu", t0, t0 + 2 * 3600, grid_id="g2")
    assert made == ["Query"] and list(alone["grids"]) == ["g2"] and alone["grids"]["g2"] == g2
    # AND the other community's g1 is its own
    [theirs] = aws_stack.cases.sla_facts("garang", "g1", t0, t0 + 2 * 3600)
    assert (theirs["code"], theirs["resolved_by"]) == (elsewhere, "m05")


def test_the_stored_facts_are_the_cases_own_and_follow_every_save(client, aws_stack, clock):
    # GIVEN a routed case in g1
    code = routed_report(client, aws_stack, location=G1_UNIT)
    rows = list(aws_stack.cases.sla_facts("changmu", "g1", clock.now - 1, clock.now + 1))
    assert [(r["code"], r["status"], r["level"], r["holder"], r["category"], r["community_id"], r["grid_id"])
            for r in rows] == [(code, "assigned", 1, "m10", "sanitation", "changmu", "g1")]
    assert "acknowledged_at" not in rows[0]

    # WHEN it is acknowledged
    clock.advance(90)
    reply(client, aws_stack, "m10", f"收到 {code}")

    # THEN the index has the new facts, the very ones the case gives
    [row] = aws_stack.cases.sla_facts("changmu", "g1", clock.now - 100, clock.now)
    stored = case(aws_stack, code)
    assert {k: row[k] for k in stored.sla_facts()} == json.loads(json.dumps(stored.sla_facts()))
    assert (row["status"], row["acknowledged_by"], row["seconds_to_acknowledge"]) == ("acknowledged", "m10", 90.0)
    # AND the item carries the grid's key
    item = aws_stack.case_model.get(code)
    assert item.grid_key == "changmu#g1" and item.sla == json.loads(json.dumps(stored.sla_facts()))


def test_the_by_grid_index_is_the_same_in_the_template_and_the_model(aws_stack):
    table = render("dev")["Resources"]["CasesTable"]["Properties"]
    index = next(i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == GRID_INDEX)
    assert index["KeySchema"] == [{"AttributeName": "grid_key", "KeyType": "HASH"},
                                  {"AttributeName": "created_at", "KeyType": "RANGE"}]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(GRID_PROJECTION)}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert (types["grid_key"], types["created_at"]) == ("S", "N")

    model_index = aws_stack.case_model.grid_index
    schema = model_index._get_schema()
    assert schema["index_name"] == GRID_INDEX
    assert sorted(schema["key_schema"], key=lambda k: k["KeyType"]) == index["KeySchema"]
    assert schema["projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(GRID_PROJECTION)}
    # AND the table moto made from the template has it
    described = aws_stack.case_model.describe_table()
    assert GRID_INDEX in {i["IndexName"] for i in described["GlobalSecondaryIndexes"]}
