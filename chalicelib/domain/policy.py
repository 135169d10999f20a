"""The escalation policy: how long each level has to acknowledge a case."""
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

    @classmethod
    def from_dict(cls, data: Mapping, time_scale: float = 1.0) -> "EscalationPolicy":
        if time_scale <= 0:
            raise PolicyError("time scale must be positive")
        limits: dict[int, int] = {}
        for entry in data["levels"]:
            level, minutes = int(entry["level"]), float(entry["ack_minutes"])
            if level in limits:
                raise PolicyError(f"level {level} is listed twice")
            if minutes <= 0:
                raise PolicyError(f"level {level}: ack_minutes must be positive")
            limits[level] = int(minutes * 60)
        if sorted(limits) != list(range(1, len(limits) + 1)):
            raise PolicyError("levels must be numbered 1..n without gaps")
        if not limits:
            raise PolicyError("the policy has no levels")
        grace = float(data.get("routing_grace_minutes", 2))
        if grace <= 0:
            raise PolicyError("routing_grace_minutes must be positive")
        return cls(version=str(data["version"]), ack_seconds=limits, time_scale=time_scale,
                   routing_grace_seconds=int(grace * 60))

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

    def ack_deadline(self, level: int, now: float) -> float:
        """When a case that reached `level` at `now` must have been acknowledged."""
        return now + self.ack_seconds[level] / self.time_scale
