"""The points a grid case earns (domain.case_credits), entered in the points bank after the
resident's answer is saved: a crash in between leaves them to the answer's redelivery, and the
ledger keeps each entry once; a reopening reverses that round's credits, once."""
from __future__ import annotations

import logging
from typing import Any

from chalicelib.domain.case import Case
from chalicelib.domain.case_credits import CasePoints, credits_due, reversals_due

log = logging.getLogger(__name__)


def settle_case_credits(case: Case, bank: Any, policies: Any) -> tuple[int, int]:
    """Enter what the case's answers call for; returns (credits, reversals) asked of the bank."""
    book = getattr(policies, "books", {}).get(case.community_id)
    points = getattr(book, "points", None) or CasePoints()
    if bank is None or not (points.resolved or points.followed_up):
        return 0, 0
    reversed_ids = {credit.entry_id for credit in reversals_due(case, points)}
    credits = [c for c in credits_due(case, points) if c.entry_id not in reversed_ids]
    for credit in credits:
        bank.credit_case(community_id=case.community_id, member_id=credit.member_id, case_code=credit.ref,
                         points=credit.points, at=credit.at, follower=credit.follower)
    for entry_id in sorted(reversed_ids):
        bank.reverse(entry_id, case.updated_at)
    if credits or reversed_ids:
        log.info("case %s: %d credit(s), %d reversal(s) settled", case.code, len(credits), len(reversed_ids))
    return len(credits), len(reversed_ids)
