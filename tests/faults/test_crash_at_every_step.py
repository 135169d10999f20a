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
from tests.faults.scenarios import SCENARIOS

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


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
            summary.add(**done[name].as_json())
        return done[name]

    return sweep_of


@pytest.mark.parametrize("name", list(BY_NAME))
def test_a_crash_anywhere_then_redelivery_ends_as_the_clean_run(sweeps, name):
    sweep = sweeps(name)

    # Every fault was reached, and its run ended: nothing stuck, no SMS lost, and the cases,
    # the contacts table and the dead-letter queues as the clean run left them.
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
    # before the next request of the same invocation, which is the same moment.
    assert sends and {o.sent_unrecorded for o in at_boundary} == {c.sent for c in sends}
    # There, and only there, the redelivery sends that very text again, once.
    for outcome in at_boundary:
        assert outcome.verdict == "duplicate_sms", outcome.fault
        assert outcome.duplicates == [outcome.sent_unrecorded], outcome.fault
