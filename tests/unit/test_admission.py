"""The domain of floods and personal data: what a new report must pass
(domain.admission), and how senders and errors are named in logs (domain.privacy)."""
from __future__ import annotations

import pytest

from chalicelib.domain.admission import (
    LookupLimits,
    OrderLimits,
    Quota,
    RateLimited,
    ReportLimits,
    admission_for,
    lookup_quota,
)
from chalicelib.domain.privacy import masked, redact, sender_key

PHONE, IP = "+8613800138000", "203.0.113.7"
NOW = 1_790_000_000.0          # 2800 s before the end of its hour window (number 497222)


@pytest.mark.parametrize("phone, ip, limits, blocks, quotas", [
    (PHONE, IP, ReportLimits(5, 60), [sender_key(phone=PHONE), sender_key(ip=IP)], [5, 60]),
    (None, IP, ReportLimits(5, 60), [sender_key(ip=IP)], [60]),
    (PHONE, None, ReportLimits(5, 60), [sender_key(phone=PHONE)], [5]),
    (PHONE, IP, ReportLimits(0, 60), [sender_key(phone=PHONE), sender_key(ip=IP)], [60]),   # 0: no limit,
    (None, None, ReportLimits(5, 60), [], []),                                               # still blockable
])
def test_a_report_counts_against_its_phone_and_its_address(phone, ip, limits, blocks, quotas):
    admission = admission_for(limits, NOW, phone=phone, ip=ip)
    assert list(admission.blocks) == blocks
    assert [q.limit for q in admission.quotas] == quotas
    assert bool(admission) == bool(blocks)


def test_a_count_is_kept_per_sender_and_fixed_window_and_expires_after_it():
    [quota] = admission_for(ReportLimits(5, 60, 3600), NOW, phone=PHONE).quotas
    assert quota.counter == f"{sender_key(phone=PHONE)}#reports#497222"
    assert (quota.ends_at, quota.expires_at) == (497223 * 3600.0, 497223 * 3600 + 3600)
    later = admission_for(ReportLimits(5, 60, 3600), quota.ends_at, phone=PHONE).quotas[0]
    assert later.counter.endswith("#reports#497223")       # the next window counts from zero


def test_an_order_counts_in_a_day_window_of_its_own_not_against_the_reports():
    # GIVEN the default order limits, WHEN a resident orders from a phone and an address
    orders = admission_for(OrderLimits(), NOW, phone=PHONE, ip=IP)
    reports = admission_for(ReportLimits(), NOW, phone=PHONE, ip=IP)
    # THEN the counts are the orders' own, by the day, and the senders are blockable as ever
    assert [q.counter for q in orders.quotas] == [f"{sender_key(phone=PHONE)}#orders#{int(NOW // 86400)}",
                                                  f"{sender_key(ip=IP)}#orders#{int(NOW // 86400)}"]
    assert not {q.counter for q in orders.quotas} & {q.counter for q in reports.quotas}
    assert [q.limit for q in orders.quotas] == [5, 60] and orders.blocks == reports.blocks
    assert "5 new orders within 86400 s" in str(RateLimited(orders.quotas[0], NOW))


@pytest.mark.parametrize("now, retry_after", [(NOW, 2800), (497223 * 3600.0 - 0.2, 1), (497223 * 3600.0 - 59.5, 60)])
def test_a_refusal_says_how_long_until_the_window_ends(now, retry_after):
    quota = Quota(sender_key(phone=PHONE), "x", 5, 3600.0, 497223 * 3600.0)
    refused = RateLimited(quota, now)
    assert refused.retry_after == retry_after and refused.by_phone
    assert PHONE not in str(refused) and "13800138000" not in str(refused)


@pytest.mark.parametrize("text, said", [
    ("Invalid parameter: PhoneNumber Reason: +8613800138000 is not valid to publish to",
     "Invalid parameter: PhoneNumber Reason: <number> is not valid to publish to"),
    ("sender 138 0013 8000 unknown", "sender <number> unknown"),
    ("call 138-0013-8000 or (0971) 851-2345", "call <number> or (<number>"),
    ("Expecting value: line 1 column 30 (char 29)", "Expecting value: line 1 column 30 (char 29)"),
    ("KeyError('text')", "KeyError('text')"),
])
def test_phone_like_digits_are_taken_out_of_errors_before_they_are_logged(text, said):
    assert redact(text) == said


@pytest.mark.parametrize("kwargs, shown", [
    ({"phone": PHONE}, "+86138****8000"), ({"ip": IP}, "203.0.113.*"),
    ({"ip": "2001:db8:85a3::8a2e:370:7334"}, "2001:db8:85a3:*"),
])
def test_the_block_list_shows_a_sender_masked(kwargs, shown):
    assert masked(**kwargs) == shown


def test_a_sender_key_is_a_stable_pseudonym_that_tells_phones_from_addresses():
    assert sender_key(phone=PHONE) == sender_key(phone=PHONE) != sender_key(phone="+8613800138001")
    assert sender_key(ip=IP).startswith("ip:") and sender_key(phone=PHONE).startswith("phone:")
    assert sender_key(ip="203.0.113.7 ") == sender_key(ip=IP)
    with pytest.raises(ValueError):
        sender_key()


def test_a_look_up_counts_against_its_address_in_a_counter_of_its_own():
    quota = lookup_quota(LookupLimits(120, 3600), NOW, IP)
    assert quota.counter == f"{sender_key(ip=IP)}#lookups#497222" and quota.limit == 120
    assert quota.counter != admission_for(ReportLimits(), NOW, ip=IP).quotas[0].counter
    refused = RateLimited(quota, NOW)
    assert "120 look-ups within 3600 s" in str(refused) and IP not in str(refused) and not refused.by_phone


@pytest.mark.parametrize("limits, ip", [(LookupLimits(0, 3600), IP), (LookupLimits(120, 3600), None)])
def test_a_look_up_without_a_limit_or_an_address_counts_nothing(limits, ip):
    assert lookup_quota(limits, NOW, ip) is None
