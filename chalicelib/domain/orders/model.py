"""The words of an order (群众点单 → 支部下单 → 党员接单): its statuses, its timers and who is
told what. Value types only: the aggregate is Order (aggregate.py)."""
from __future__ import annotations

from enum import Enum


class OrderStatus(str, Enum):   # noqa: UP042 - as case.Status
    ORDERED = "ordered"          # 点单: waiting for the committee to dispatch or refuse it
    POOLED = "pooled"            # 下单: published to the pool, waiting for a claim
    CLAIMED = "claimed"          # 接单: claimed, not started yet (the claim holds for a while)
    IN_PROGRESS = "in_progress"  # the claimant ticked a step of the checklist
    DONE = "done"                # 完成: waiting for the resident (or the household head) to confirm
    VERIFIED = "verified"        # confirmed done and rated satisfied: closed, the points credited
    REFUSED = "refused"          # the committee refused it, with a reason
    CANCELLED = "cancelled"      # called off by the office


OPEN_ORDER_STATUSES = frozenset({OrderStatus.ORDERED, OrderStatus.POOLED, OrderStatus.CLAIMED,
                                 OrderStatus.IN_PROGRESS, OrderStatus.DONE})
# The same as the words an order's row carries (the by-community index's `status`).
OPEN_ORDER_WORDS = frozenset(status.value for status in OPEN_ORDER_STATUSES)
# The timers an open order runs (Order.timer), and what happens when one fires (Order.escalate).
DISPATCH = "dispatch"    # ordered, not dispatched: the area chief hears of it
CLAIM = "claim"          # pooled, nobody claimed: it climbs to the committee
START = "start"          # claimed, not started: the claim lapses and the order returns to the pool
COMPLETE = "complete"    # started, not done: the committee hears of it (督办)
CONFIRM = "confirm"      # done, not confirmed: the confirmer is reminded once, then it is verified (默认满意)
# The resident who ordered, on the outbox: the same address as a case's reporter, so that
# delivery (services.notices) finds their phone and honours 退订 the same way.
ORDERER = "@reporter"


class OrderRefused(Exception):
    """The actor may not do this to the order; the order is unchanged."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason   # machine word: already_claimed, not_in_pool, not_claimant, ...
