"""Cases for the storage tests, built with the domain as the services build them.

Demo directory (data/directory/changmu.yaml), location changmu-01-1 (building 1, unit 1,
grid g1), standard chain (sanitation): level 1 m10 (stairwell leader), 2 m06 (grid
member), 3 m02 (grid chief), 4 m03 (committee), 5 m01 (area chief); m03 is on the
committee that may suspend (挂起) it.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.case import Case
from chalicelib.domain.codes import code_for, report_id_for

T0 = 1_790_000_000.0
LOCATION = "changmu-01-1"
HOLDER, SUPERVISOR, COMMITTEE = "m10", "m06", "m03"


def received(stack: Any, seed: str, location: str = LOCATION, phone: str | None = None,
             now: float = T0, category: str = "sanitation") -> Case:
    community = next(c for c in stack.directory().communities.values() if location in c.locations)
    return Case.receive(id=report_id_for(seed), code=code_for(seed), community_id=community.id,
                        category=category, location=location, description=f"楼道垃圾 {seed}", now=now,
                        reporter_phone=phone, dedupe_key=seed, request_hash=f"hash-{seed}")


def route(stack: Any, case: Case, now: float) -> Case:
    """Routed to its first holder, every notice sent (as the case worker leaves it)."""
    community = stack.directory().communities[case.community_id]
    policy = stack.policies.for_case(case.community_id, case.category, case.priority)
    case.route(community.chain_for(case.location, policy.steps, at=now), policy, now,
               responsibility=community.responsibility(case.location, at=now),
               grid_id=community.grid_of(case.location))
    return all_sent(case, now)


def all_sent(case: Case, now: float) -> Case:
    for notice in list(case.outbox):
        case.mark_sent(notice, now, f"sms-{notice.id}", notice.member_id)
    return case


def policy_of(stack: Any, case: Case) -> Any:
    return stack.policies.for_case(case.community_id, case.category, case.priority)


def stored_routed(stack: Any, seed: str, now: float = T0, **kwargs: Any) -> Case:
    """Added as received, then saved routed: the two writes intake and the case worker make."""
    case = received(stack, seed, now=now, **kwargs)
    stack.cases.add(case)
    route(stack, case, now + 1)
    stack.cases.save(case)
    return case
