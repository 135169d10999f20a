"""Figure 7: what followers cost in SMS. A case that N other residents reported too ("me too",
or their reports folded or merged into it) sends N more resolved notices, one each with its
call-back, and nothing else: joining sends them nothing, and the members hear no more.

Counted on the case itself (chalicelib.domain.case): every notice a transition puts in the
outbox is one SMS when services.notices delivers it (fewer only when bundled or opted out).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from chalicelib.domain.case import Case, is_resident_address
from chalicelib.domain.directory import Level
from chalicelib.domain.policy import EscalationPolicy

FOLLOWERS = (0, 1, 5, 20)
T0 = 1_790_000_000.0


@dataclass
class Result:
    rows: list[tuple[int, Counter, Counter, int]]   # followers, at resolve: residents', members'; on joining
    seconds: float

    def extra_per_follower_ok(self) -> bool:
        base = self.rows[0]
        return all(residents["reporter_resolved"] - base[1]["reporter_resolved"] == n
                   and sum(residents.values()) - sum(base[1].values()) == n
                   and members == base[2] and joining == 0
                   for n, residents, members, joining in self.rows)


def _policy() -> EscalationPolicy:
    return EscalationPolicy.from_dict({"version": "bench", "levels": [
        {"level": 1, "ack_minutes": 30, "resolve_minutes": 1440}]})


def _case(code: str, phone: str) -> Case:
    return Case.receive(id=code.lower(), code=code, community_id="changmu", category="water_pipe",
                        location="changmu-05-2", description="漏水", now=T0, reporter_phone=phone)


def run() -> Result:
    started = time.perf_counter()
    policy = _policy()
    rows = []
    for followers in FOLLOWERS:
        case = _case("AAA222", "+8613800000000")
        case.route([Level(1, "stairwell_leader", "m14", ("m14",))], policy, T0 + 1)
        case.outbox.clear()
        for n in range(followers):     # half "me too", half a report folded into it
            if n % 2:
                case.follow(T0 + 2, f"+86138000{n:05d}", "zh", key=f"web-{n}")
            else:
                case.absorb(_case(f"BB{n:04d}", f"+86139000{n:05d}"), T0 + 2, None, via="folded")
        joining = len(case.outbox)
        case.outbox.clear()
        case.acknowledge("m14", T0 + 3, policy)
        case.resolve("m14", T0 + 4, policy)
        residents = Counter(n.template for n in case.outbox if is_resident_address(n.member_id))
        members = Counter(n.template for n in case.outbox if not is_resident_address(n.member_id))
        rows.append((followers, residents, members, joining))
    return Result(rows, time.perf_counter() - started)
