"""Crash at every step (tests/faults/harness.py): for each scenario, a crash before and
after every AWS request our code makes, then redelivery until done. The end state must be
the clean run's, and every SMS must go out exactly once, with one exception that no
provider lets us close: SNS Publish has no idempotency key, so a crash after SNS took a
text and before it is recorded (on the case, or in the answer's record) sends it again.
`test_the_one_boundary_left_is_a_text_sent_and_not_yet_recorded` keeps that boundary in
view; everything else is exactly once."""
from __future__ import annotations

import pytest

from tests.fakes import FakeClock
from tests.faults.harness import START, Recorder, Sweep, World, crash_everywhere
from tests.faults.scenarios import HOUSEHOLD, ORDER_SCENARIOS, SCENARIOS

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}

# Known bugs (docs/testing.md: kept as xfail, the reason naming the fault), by scenario.
KNOWN_BUGS: dict[str, str] = {}
# Scenarios that send no SMS: a claim that worked gets no answer (services.order_replies).
SILENT = frozenset({"member claims an order"})


def with_known_bugs(names):
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name]))
            if name in KNOWN_BUGS else name for name in names]


@pytest.fixture(scope="module")
def worlds():
    """A moto for the scenarios of one configuration (bundling off, bundling on); moto's
    data is global, so one at a time."""
    made: dict[str, World] = {}

    def world_for(config: dict) -> World:
        key = repr(sorted(config.items()))
        if key not in made:
            for world in made.values():
                world.close()
            made.clear()
            made[key] = World(FakeClock(START), Recorder(), **config)
        return made[key]

    yield world_for
    for world in made.values():
        world.close()


@pytest.fixture(scope="module")
def sweeps(worlds, summary):
    """Each scenario crashed everywhere, once per module (two tests read the results)."""
    done: dict[str, Sweep] = {}

    def sweep_of(name: str) -> Sweep:
        if name not in done:
            scenario = BY_NAME[name]
            done[name] = crash_everywhere(worlds(scenario.config), scenario)
            summary.add(**done[name].as_json(), known_bug=KNOWN_BUGS.get(name))
        return done[name]

    return sweep_of


@pytest.mark.parametrize("name", with_known_bugs(BY_NAME))
def test_a_crash_anywhere_then_redelivery_ends_as_the_clean_run(sweeps, name):
    sweep = sweeps(name)

    # Every fault was reached, and its run ended: nothing stuck, no SMS lost, and the cases,
    # the orders, the points ledger, the contacts table and the dead-letter queues as the
    # clean run left them.
    assert len(sweep.outcomes) == 2 * len(sweep.calls) > 0
    wrong = [o for o in sweep.outcomes if o.verdict in ("not_reached", "stuck", "lost_sms", "state_differs")]
    assert wrong == [], [(o.fault, o.verdict, o.missing, o.differences) for o in wrong]
    # An SMS sent twice only at the one boundary: SNS took it and it was not yet recorded.
    twice = [o for o in sweep.outcomes if o.verdict == "duplicate_sms" and not o.sent_unrecorded]
    assert twice == [], [(o.fault, o.duplicates) for o in twice]
    # The crashes were real: each fault made at least one redelivery.
    assert all(o.crashes >= 1 for o in sweep.outcomes)


@pytest.mark.parametrize("name", list(BY_NAME))
def test_the_one_boundary_left_is_a_text_sent_and_not_yet_recorded(sweeps, name):
    sweep = sweeps(name)
    sends = [c for c in sweep.calls if c.operation == "sns.Publish"]
    at_boundary = [o for o in sweep.outcomes if o.sent_unrecorded]

    # Every text the scenario sends has the boundary: once after its Publish, and once
    # before the next request of the same invocation, which is the same moment. A scenario
    # that sends nothing by design has none.
    assert bool(sends) is (name not in SILENT), sends
    assert {o.sent_unrecorded for o in at_boundary} == {c.sent for c in sends}
    # There, and only there, the redelivery sends that very text again, once.
    for outcome in at_boundary:
        assert outcome.verdict == "duplicate_sms", outcome.fault
        assert outcome.duplicates == [outcome.sent_unrecorded], outcome.fault


# -- the service loop: what each scenario's clean run did, and the points once ------------------------
def _texts(clean: dict, phone: str, containing: str) -> list[str]:
    """The texts of the clean run (its setup's included) to `phone` that contain `containing`,
    each as often as it was sent."""
    return [text for (to, text), n in clean["sms"] if to == phone and containing in text for _ in range(n)]


@pytest.mark.parametrize("name", ORDER_SCENARIOS)
def test_each_service_loop_scenario_does_what_it_says_when_nothing_crashes(worlds, sweeps, name):
    sweep = sweeps(name)
    clean = sweep.clean
    [(code, order)] = clean["orders"].items()
    directory = worlds(BY_NAME[name].config).stack.directory()

    def phone(member_id: str) -> str:
        return directory.member("changmu", member_id).phone

    assert order["outbox"] == []                   # every notice sent and recorded
    if name == "resident orders by SMS":
        assert (order["status"], order["location"]) == ("ordered", "changmu-03-2")
        assert len(_texts(clean, HOUSEHOLD, code)) == 1
        assert len(_texts(clean, phone(order["dispatcher"]), f"派单 {code}")) == 1
    elif name == "committee dispatches to the pool":
        assert order["status"] == "pooled" and len(order["pool"]) >= 2
        for member_id in order["pool"]:
            assert len(_texts(clean, phone(member_id), f"接单 {code}")) == 1
    elif name == "member claims an order":
        assert (order["status"], order["claimant"]) == ("claimed", order["pool"][0])
        assert len(_texts(clean, phone(order["claimant"]), code)) == 1    # the pool's notice, no answer
    elif name == "two members claim one order":
        first, second = order["pool"][:2]
        assert (order["status"], order["claimant"]) == ("claimed", first)
        assert len(_texts(clean, phone(second), "已被认领")) == 1
        assert _texts(clean, phone(first), "已被认领") == []
    elif name == "resident confirms an order":
        claimant = order["claimant"]
        assert (order["status"], order["credit"], order["credited"]) == ("verified", None, f"order:{code}:verified")
        assert len(_texts(clean, HOUSEHOLD, "回复1")) == 1
        # 10 points and the on-time bonus, as PointsBank.balance reads them (World.state)
        assert clean["points"]["balances"] == {f"member:changmu:{claimant}": 12}
    elif name == "an unclaimed order climbs to the committee":
        assert (order["status"], order["level"], order["timer"]) == ("pooled", 1, None)
        assert len(_texts(clean, phone(order["dispatched_by"]), "无人接单")) == 1
    else:
        raise AssertionError(f"no expectations for {name}")


def test_a_confirmed_order_credits_its_claimant_exactly_once_whatever_the_crash(sweeps):
    """The crash that matters most here falls between the order's save (verified, its credit
    pending) and the ledger's write: the redelivered 1 must enter the pending credit, once,
    and mark it entered."""
    sweep = sweeps("resident confirms an order")
    wrong = [(o.fault, [d for d in o.differences if d.startswith(("orders.", "points."))])
             for o in sweep.outcomes if any(d.startswith(("orders.", "points.")) for d in o.differences)]
    assert wrong == []
