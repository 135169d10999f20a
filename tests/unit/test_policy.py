"""The escalation policy: defaults from chalicelib/data/policy.json, time scale, validation."""
from __future__ import annotations

import pytest

from chalicelib.bootstrap import Container, load_json
from chalicelib.domain.policy import EscalationPolicy, PolicyError
from tests.conftest import _config

HOUR = 3600


def levels(*minutes):
    return {"version": "t", "levels": [{"level": i, "ack_minutes": m} for i, m in enumerate(minutes, 1)]}


def test_given_default_policy_file_then_levels_have_30min_2h_4h_24h_24h():
    policy = EscalationPolicy.from_dict(load_json("policy.json"))
    assert dict(policy.ack_seconds) == {1: HOUR // 2, 2: 2 * HOUR, 3: 4 * HOUR, 4: 24 * HOUR, 5: 24 * HOUR}
    # the resolve clock: a day for the stairwell leader, up to five for the committee and area chief
    assert dict(policy.resolve_seconds) == {1: 24 * HOUR, 2: 48 * HOUR, 3: 72 * HOUR, 4: 120 * HOUR, 5: 120 * HOUR}
    assert policy.yellow_at == 0.8
    assert policy.top_level == 5
    assert policy.time_scale == 1.0


@pytest.mark.parametrize("level, expected_seconds", [(1, 1800), (2, 7200), (3, 14400), (4, 86400), (5, 86400)])
def test_given_default_policy_when_ack_deadline_then_now_plus_the_level_limit(level, expected_seconds):
    policy = EscalationPolicy.from_dict(load_json("policy.json"))
    assert policy.ack_deadline(level, 1_000.0) == 1_000.0 + expected_seconds


@pytest.mark.parametrize("scale, expected", [(1, 1800.0), (60, 30.0), (1800, 1.0), (0.5, 3600.0)])
def test_given_time_scale_when_ack_deadline_then_duration_is_divided(scale, expected):
    policy = EscalationPolicy.from_dict(load_json("policy.json"), time_scale=scale)
    assert policy.ack_deadline(1, 500.0) == pytest.approx(500.0 + expected)


def test_given_config_time_scale_then_the_container_policy_uses_it():
    policy = Container(_config(time_scale=120.0), clock=lambda: 0.0).policy
    assert policy.time_scale == 120.0
    assert policy.ack_deadline(2, 0.0) == pytest.approx(60.0)     # 2 h / 120


def test_given_fractional_minutes_then_seconds_are_kept():
    assert EscalationPolicy.from_dict(levels(0.5, 1)).ack_seconds == {1: 30, 2: 60}


@pytest.mark.parametrize("data, scale, match", [
    (levels(30, 120), 0, "time scale must be positive"),
    (levels(30, 120), -2, "time scale must be positive"),
    (levels(30, 0), 1, "level 2: ack_minutes must be positive"),
    (levels(-5), 1, "level 1: ack_minutes must be positive"),
    ({"version": "t", "levels": [{"level": 1, "ack_minutes": 30}, {"level": 3, "ack_minutes": 30}]},
     1, "without gaps"),
    ({"version": "t", "levels": [{"level": 2, "ack_minutes": 30}]}, 1, "without gaps"),
    ({"version": "t", "levels": [{"level": 0, "ack_minutes": 30}, {"level": 1, "ack_minutes": 30}]},
     1, "without gaps"),
], ids=["scale-zero", "scale-negative", "zero-minutes", "negative-minutes", "gap", "not-from-1", "level-0"])
def test_given_invalid_policy_when_loaded_then_policy_error(data, scale, match):
    with pytest.raises(PolicyError, match=match):
        EscalationPolicy.from_dict(data, time_scale=scale)


def test_given_policy_without_levels_when_loaded_then_policy_error():
    with pytest.raises(PolicyError):
        EscalationPolicy.from_dict({"version": "t", "levels": []})


def test_given_a_level_listed_twice_when_loaded_then_policy_error():
    data = {"version": "t", "levels": [{"level": 1, "ack_minutes": 30}, {"level": 2, "ack_minutes": 120},
                                       {"level": 2, "ack_minutes": 999}]}
    with pytest.raises(PolicyError):
        EscalationPolicy.from_dict(data)
