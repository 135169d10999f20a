"""Bundling through the real handlers on moto: the send windows live on the contacts
table, are taken in the same TransactWriteItems as the case, and the sweep sends what
waited as one text (services.notices, adapters.send_windows)."""
from __future__ import annotations

import pytest

from chalicelib.adapters.send_windows import window_key
from chalicelib.services.notices import BUNDLE_SECONDS
from tests.conftest import moto_stack
from tests.functional.conftest import (
    GRID_MEMBER,
    STAIRWELL_LEADER,
    case,
    member_phone,
    post_report,
    report,
    run_queue,
    sms_to,
    sweep,
)


@pytest.fixture
def aws_stack(aws_credentials, clock):
    with moto_stack(clock, bundle_seconds=BUNDLE_SECONDS) as container:
        yield container


def routed(client, aws_stack, **overrides) -> str:
    response = post_report(client, report(phone=..., name=..., **overrides))
    assert response.status_code == 202, response.body
    run_queue(client, aws_stack, "intake")
    return response.json_body["code"]


def swept(client, aws_stack) -> None:
    sweep(client)
    run_queue(client, aws_stack, "escalation")


def test_two_reports_within_the_window_reach_the_leader_as_two_texts_two_minutes_apart(client, aws_stack, clock):
    leader = member_phone(aws_stack, STAIRWELL_LEADER)
    first = routed(client, aws_stack)
    clock.advance(30)
    second = routed(client, aws_stack)
    clock.advance(15)
    third = routed(client, aws_stack)

    assert len(sms_to(leader)) == 1 and first in sms_to(leader)[0]
    window = aws_stack.send_window_model.get(window_key(leader), consistent_read=True)
    assert set(window.waiting) == {second, third}
    assert window.until == pytest.approx(clock.now - 45 + BUNDLE_SECONDS)

    clock.advance(BUNDLE_SECONDS)
    swept(client, aws_stack)

    texts = sms_to(leader)
    assert len(texts) == 2
    assert second in texts[1] and third in texts[1] and "2条通知" in texts[1]
    assert case(aws_stack, second).outbox == [] and case(aws_stack, third).outbox == []
    assert not aws_stack.send_window_model.get(window_key(leader), consistent_read=True).waiting

    clock.advance(BUNDLE_SECONDS)
    swept(client, aws_stack)                             # a second sweep sends nothing again
    assert len(sms_to(leader)) == 2


def test_a_held_notice_does_not_hold_up_the_case(client, aws_stack, clock):
    routed(client, aws_stack)
    clock.advance(10)
    second = routed(client, aws_stack)

    held = case(aws_stack, second)
    assert (held.status.value, held.holder) == ("assigned", STAIRWELL_LEADER)
    # Its acknowledge clock runs as usual: 30 minutes on, it climbs, bundled or not. (Here
    # the first sweep in 30 minutes sends the held notice; the next, a minute on, escalates.)
    clock.advance(30 * 60)
    swept(client, aws_stack)
    clock.advance(60)
    swept(client, aws_stack)
    assert case(aws_stack, second).holder == GRID_MEMBER
