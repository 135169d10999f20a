"""The escalation policy: each level's two clocks.

The acknowledge clock (接单): not acknowledged in time, the case climbs a level.
The resolve clock (办结), from the acknowledgement: the level above is warned at the
yellow point and supervises (督办) at the limit, while the holder keeps the case.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class EscalationPolicy:
    version: str
    ack_seconds: Mapping[int, int]    # level → seconds to acknowledge before the case climbs
    time_scale: float = 1.0           # every duration is divided by this (demos and tests)
    routing_grace_seconds: int = 120  # a stored report not routed by then is routed by the sweep
    resolve_seconds: Mapping[int, int] | None = None   # level → seconds to resolve once acknowledged
    yellow_at: float = 0.8            # share of the resolve limit at which the yellow warning goes out

    @classmethod
    def from_dict(cls, data: Mapping, time_scale: float = 1.0) -> "EscalationPolicy":
        if time_scale <= 0:
            raise PolicyError("time scale must be positive")
        limits: dict[int, int] = {}
        resolve: dict[int, int] = {}
        for entry in data["levels"]:
            level, minutes = int(entry["level"]), float(entry["ack_minutes"])
            if level in limits:
                raise PolicyError(f"level {level} is listed twice")
            if minutes <= 0:
                raise PolicyError(f"level {level}: ack_minutes must be positive")
            limits[level] = int(minutes * 60)
            if "resolve_minutes" in entry:
                if float(entry["resolve_minutes"]) <= 0:
                    raise PolicyError(f"level {level}: resolve_minutes must be positive")
                resolve[level] = int(float(entry["resolve_minutes"]) * 60)
        if sorted(limits) != list(range(1, len(limits) + 1)):
            raise PolicyError("levels must be numbered 1..n without gaps")
        if not limits:
            raise PolicyError("the policy has no levels")
        grace = float(data.get("routing_grace_minutes", 2))
        if grace <= 0:
            raise PolicyError("routing_grace_minutes must be positive")
        if resolve and set(resolve) != set(limits):
            raise PolicyError("resolve_minutes must be given for every level or for none")
        yellow_at = float(data.get("yellow_at", 0.8))
        if not 0 < yellow_at < 1:
            raise PolicyError("yellow_at must be between 0 and 1 (a share of the resolve limit)")
        return cls(version=str(data["version"]), ack_seconds=limits, time_scale=time_scale,
                   routing_grace_seconds=int(grace * 60), resolve_seconds=resolve or None,
                   yellow_at=yellow_at)

    def require_levels(self, count: int) -> "EscalationPolicy":
        """Check the policy has a limit for each of the chain's `count` levels."""
        if self.top_level < count:
            raise PolicyError(f"policy {self.version} has limits for {self.top_level} levels; the chain has {count}")
        return self

    @property
    def top_level(self) -> int:
        return max(self.ack_seconds)

    def routing_deadline(self, now: float) -> float:
        """When a received report must have been routed: should its routing message be
        lost (a crash right after storing it), the sweep routes it then."""
        return now + self.routing_grace_seconds / self.time_scale

    def resolve_deadlines(self, level: int, now: float) -> tuple[float, float] | None:
        """(yellow warning, red limit) for a case acknowledged at `level` at `now`;
        None when the policy has no resolve limits."""
        if not self.resolve_seconds:
            return None
        limit = self.resolve_seconds[level] / self.time_scale
        return now + limit * self.yellow_at, now + limit

    def ack_deadline(self, level: int, now: float) -> float:
        """When a case that reached `level` at `now` must have been acknowledged."""
        return now + self.ack_seconds[level] / self.time_scale
