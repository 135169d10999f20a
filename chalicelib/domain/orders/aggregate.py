"""Order: one service a resident ordered (点单), from the committee's dispatch (下单) through a
party member's claim (接单) and checklist to the resident's confirmation, saved whole in one
conditional write as a case is.

The transitions check the order's state and who acts; who may dispatch, who is in the pool and
when each limit falls are the service's to say (services.orders), from the directory, the
catalogue and the calendar. Every transition returns False when there is nothing to do (a
redelivered message) and raises OrderRefused when the actor may not. What it tells whom goes
in the outbox (case.outbox's mixin: delivered and recorded the same way as a case's).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..case.model import Event, Notice
from ..case.outbox import OutboxMixin
from .model import (
    CLAIM,
    COMPLETE,
    CONFIRM,
    DISPATCH,
    OPEN_ORDER_STATUSES,
    ORDERER,
    START,
    OrderRefused,
    OrderStatus,
)


@dataclass
class Order(OutboxMixin):
    id: str
    code: str
    community_id: str
    item: str                            # the catalogue item's code
    kind: str                            # its kind: proxy_service, care_visit, help_at_home, micro_wish
    location: str                        # the household it is for (its unit, or its building)
    created_at: float
    door: str | None = None              # its flat ("501" of 3-2-501), when the orderer gave one
    ordered_by: str = "resident"         # resident, household_head (代点) or committee (after a visit)
    placed_by: str | None = None         # the member who placed it (代点, a committee member, a schedule)
    orderer_phone: str | None = None     # the resident who ordered it, if by their own phone
    orderer_lang: str = "zh"
    source: str = "sms"                  # sms, web, ops, schedule
    wish: str | None = None              # a micro-wish's words
    value_yuan: int | None = None        # ... and its value, if given
    checklist_size: int = 1
    catalogue_version: str | None = None
    dedupe_key: str | None = None        # what makes two submissions one order
    status: OrderStatus = OrderStatus.ORDERED
    level: int = 0                       # 1 once it climbed to the committee unclaimed
    dispatcher: str | None = None        # the committee member asked to dispatch it
    dispatched_by: str | None = None
    pool: list[str] = field(default_factory=list)   # who may claim it (设岗, at home, of its grid)
    claimant: str | None = None
    lapsed: list[str] = field(default_factory=list)  # members whose claim lapsed unstarted
    claimed_at: float | None = None
    started_at: float | None = None
    done_at: float | None = None
    closed_at: float | None = None
    complete_due_at: float | None = None   # the completion limit of the current claim
    steps_done: list[int] = field(default_factory=list)
    satisfied: bool | None = None
    reason: str | None = None            # why it was refused, cancelled or rated not done
    answer_key: str | None = None        # the inbound SMS that last confirmed it (its redelivery is no news)
    visit: str | None = None             # a scheduled care visit: "<elder>:<period>"
    credit: dict[str, Any] | None = None   # the points still to enter in the ledger (services.orders)
    credited: str | None = None          # the ledger entry once entered
    due_at: float | None = None          # when the running timer fires; open orders only
    timer: str | None = None             # DISPATCH, CLAIM, START or COMPLETE
    updated_at: float = 0.0
    history: list[Event] = field(default_factory=list)
    outbox: list[Notice] = field(default_factory=list)
    notice_seq: int = 0
    version: int = 0

    # -- placing -------------------------------------------------------------------
    @classmethod
    def place(cls, *, id: str, code: str, community_id: str, item: str, kind: str, location: str,
              now: float, checklist_size: int, dispatcher: str | None, dispatch_due: float,
              ordered_by: str = "resident", placed_by: str | None = None, orderer_phone: str | None = None,
              orderer_lang: str = "zh", source: str = "sms", wish: str | None = None,
              value_yuan: int | None = None, catalogue_version: str | None = None,
              dedupe_key: str | None = None, bring: str = "", visit: str | None = None,
              door: str | None = None) -> Order:
        order = cls(id=id, code=code, community_id=community_id, item=item, kind=kind, location=location, door=door,
                    created_at=now, updated_at=now, ordered_by=ordered_by, placed_by=placed_by,
                    orderer_phone=orderer_phone, orderer_lang=orderer_lang, source=source, wish=wish,
                    value_yuan=value_yuan, checklist_size=checklist_size, catalogue_version=catalogue_version,
                    dedupe_key=dedupe_key, dispatcher=dispatcher, visit=visit)
        order._record(now, "ordered", actor=placed_by, detail=source)
        order._timer(DISPATCH, dispatch_due)
        # The dispatch request first: it is what moves the order on (the resident's code follows
        # it in the same handling).
        order._notify(dispatcher, "order_to_dispatch")
        if orderer_phone:    # their code, and what to have ready: told once, in one message
            order._notify(ORDERER, "order_received", bring=bring)
        elif placed_by and ordered_by == "household_head":
            order._notify(placed_by, "order_received", bring=bring)
        return order

    # -- queries -------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES

    @property
    def confirmer(self) -> str | None:
        """Who confirms the work is done: the resident who ordered it, else the member who
        placed it for them (a household head for an elder, the committee after a visit)."""
        return ORDERER if self.orderer_phone else self.placed_by

    def resident_contact(self, address: str) -> tuple[str | None, str]:
        """(phone, language) of the resident's notice address (services.notices asks)."""
        return (self.orderer_phone, self.orderer_lang) if address == ORDERER else (None, "zh")

    def on_time(self) -> bool:
        """Done within the completion limit of the claim that did it."""
        return (self.done_at is not None and self.complete_due_at is not None
                and self.done_at <= self.complete_due_at)

    # -- 下单: the committee ------------------------------------------------------------
    def dispatch(self, actor: str, pool: list[str], now: float, claim_due: float) -> bool:
        """Publish it to the pool: each member there is told, once."""
        if self.status is not OrderStatus.ORDERED:
            if self.status in (OrderStatus.POOLED, OrderStatus.CLAIMED, OrderStatus.IN_PROGRESS):
                return False           # dispatched already (a redelivery, or a second committee member)
            raise OrderRefused(f"not_dispatchable_{self.status.value}")
        if not pool:
            raise OrderRefused("empty_pool")
        self.status, self.dispatched_by, self.pool = OrderStatus.POOLED, actor, list(dict.fromkeys(pool))
        self._record(now, "dispatched", actor=actor, detail=",".join(self.pool))
        self._timer(CLAIM, claim_due)
        for member_id in self.pool:
            self._notify(member_id, "order_pooled")
        return True

    def assign(self, actor: str, member_id: str, now: float, start_due: float, complete_due: float) -> bool:
        """派单 CODE 手机号: the committee names the member; it is theirs as a claim is."""
        if self.claimant == member_id and self.status in (OrderStatus.CLAIMED, OrderStatus.IN_PROGRESS):
            return False
        if self.status not in (OrderStatus.ORDERED, OrderStatus.POOLED, OrderStatus.CLAIMED):
            raise OrderRefused(f"not_dispatchable_{self.status.value}")
        previous = self.claimant
        self.dispatched_by = self.dispatched_by or actor
        self._record(now, "assigned", actor=actor, detail=member_id)
        if previous and previous != member_id:
            self._notify(previous, "order_taken_away")
        self._claimed(member_id, now, start_due, complete_due)
        self._notify(member_id, "order_assigned")
        return True

    def refuse(self, actor: str, reason: str, now: float) -> bool:
        if self.status is OrderStatus.REFUSED:
            return False
        if self.status is not OrderStatus.ORDERED:
            raise OrderRefused(f"not_refusable_{self.status.value}")
        if not reason.strip():
            raise OrderRefused("reason_required")
        self.status, self.reason, self.closed_at = OrderStatus.REFUSED, reason.strip(), now
        self._record(now, "refused", actor=actor, detail=self.reason)
        self._stop()
        self._notify(self.confirmer, "order_refused", reason=self.reason)
        return True

    def cancel(self, actor: str, reason: str, now: float) -> bool:
        if self.status is OrderStatus.CANCELLED:
            return False
        if not self.is_open:
            raise OrderRefused(f"not_cancellable_{self.status.value}")
        told = [m for m in ([self.claimant] if self.claimant else self.pool if self.status is OrderStatus.POOLED
                            else [])]
        self.status, self.reason, self.closed_at = OrderStatus.CANCELLED, reason.strip(), now
        self._record(now, "cancelled", actor=actor, detail=self.reason)
        self._stop()
        for member_id in told:
            self._notify(member_id, "order_cancelled")
        return True

    # -- 接单: a member of the pool --------------------------------------------------------
    def claim(self, member_id: str, now: float, start_due: float, complete_due: float) -> bool:
        """The first claim wins (the conditional write makes it so); a repeat of one's own
        claim changes nothing; anyone else is refused "already_claimed"."""
        if self.claimant == member_id and self.status in (OrderStatus.CLAIMED, OrderStatus.IN_PROGRESS):
            return False
        if self.status in (OrderStatus.CLAIMED, OrderStatus.IN_PROGRESS, OrderStatus.DONE, OrderStatus.VERIFIED):
            raise OrderRefused("already_claimed")
        if self.status is not OrderStatus.POOLED:
            raise OrderRefused(f"not_claimable_{self.status.value}")
        if member_id not in self.pool:
            raise OrderRefused("not_in_pool")
        self._record(now, "claimed", actor=member_id)
        self._claimed(member_id, now, start_due, complete_due)
        return True

    def _claimed(self, member_id: str, now: float, start_due: float, complete_due: float) -> None:
        self.status, self.claimant, self.claimed_at = OrderStatus.CLAIMED, member_id, now
        self.started_at, self.steps_done, self.complete_due_at = None, [], complete_due
        self._timer(START, start_due)

    # -- doing it -------------------------------------------------------------------------
    def tick(self, member_id: str, step: int, now: float) -> bool:
        """进度 CODE N: the claimant ticks step N of the checklist; the first tick starts the work."""
        self._claimant_only(member_id)
        if self.status not in (OrderStatus.CLAIMED, OrderStatus.IN_PROGRESS):
            raise OrderRefused(f"not_in_progress_{self.status.value}")
        if not 1 <= step <= self.checklist_size:
            raise OrderRefused("no_such_step")
        if step in self.steps_done:
            return False
        self.steps_done = sorted([*self.steps_done, step])
        self._record(now, "ticked", actor=member_id, detail=str(step))
        self._start(now)
        return True

    def complete(self, member_id: str, now: float, confirm_due: float | None = None) -> bool:
        """完成 CODE: the confirmer is asked to confirm and rate it, by `confirm_due` (the
        CONFIRM timer: see escalate)."""
        if self.status is OrderStatus.DONE and self.claimant == member_id:
            return False
        self._claimant_only(member_id)
        if self.status not in (OrderStatus.CLAIMED, OrderStatus.IN_PROGRESS):
            raise OrderRefused(f"not_in_progress_{self.status.value}")
        self._start(now)
        self.status, self.done_at = OrderStatus.DONE, now
        self._record(now, "done", actor=member_id)
        self._stop()
        if confirm_due is not None:
            self._timer(CONFIRM, max(confirm_due, now))
        self._notify(self.confirmer, "order_confirm")
        return True

    def confirm(self, satisfied: bool, now: float, actor: str | None = None, reason: str = "",
                key: str | None = None) -> bool:
        """1: done and satisfied, the order is verified and its points are due (`credit`, which
        the service enters in the ledger); 2: not done, back to the claimant with the reason,
        and the committee hears of it."""
        if self.status is not OrderStatus.DONE:
            if self.status is OrderStatus.VERIFIED or (not satisfied and self.status is OrderStatus.IN_PROGRESS
                                                         and self.satisfied is False):
                return False       # answered already
            raise OrderRefused(f"not_awaiting_confirmation_{self.status.value}")
        self.satisfied, self.answer_key = satisfied, key
        if satisfied:
            self.status, self.closed_at = OrderStatus.VERIFIED, now
            self._record(now, "verified", actor=actor or self.confirmer)
            self.credit = {"member": self.claimant, "on_time": self.on_time()}
            self._stop()
            return True
        self.reason = reason.strip() or None
        self.status, self.done_at = OrderStatus.IN_PROGRESS, None
        self._record(now, "not_done", actor=actor or self.confirmer, detail=self.reason)
        self._timer(COMPLETE, self.complete_due_at if self.complete_due_at and self.complete_due_at > now else now)
        self._notify(self.claimant, "order_not_done", reason=self.reason or "")
        self._notify(self.dispatched_by or self.dispatcher, "order_disputed", reason=self.reason or "")
        return True

    def credited_as(self, entry_id: str | None, now: float) -> bool:
        """The ledger has the credit (or nothing was due): it is no longer pending."""
        if self.credit is None:
            return False
        self.credit, self.credited = None, entry_id
        self._record(now, "credited" if entry_id else "not_credited", actor=self.claimant, detail=entry_id)
        return True

    # -- the timers --------------------------------------------------------------------------
    def escalate(self, due_at: float, now: float, *, claim_due: float, committee: str | None,
                 area_chief: str | None) -> bool:
        """The running timer fired (the sweep's request for `due_at`; a stale one changes nothing):
        - DISPATCH: nobody dispatched it: the area chief hears of it, once;
        - CLAIM: nobody claimed it: it climbs to the committee (level 1), which may name a member;
        - START: the claim was not started: it lapses, the claimant is told, the pool hears again;
        - COMPLETE: not done in time: the committee hears of it (督办), once;
        - CONFIRM: done, and the confirmer has not answered: reminded once, with as long again
          to answer; then verified without a rating (默认满意, as 12345 work orders are), which
          credits the claimant as a 1 does, and counts as unrated in the reports."""
        if self.due_at is None or abs(self.due_at - due_at) > 1e-3 or self.due_at > now or not self.is_open:
            return False
        timer = self.timer
        if timer == DISPATCH:
            self._record(now, "dispatch_overdue", level=1, actor=area_chief)
            self._stop()
            self._notify(area_chief, "order_dispatch_overdue")
        elif timer == CLAIM:
            self.level = 1
            self._record(now, "unclaimed", level=1, actor=committee)
            self._stop()
            self._notify(committee, "order_unclaimed")
        elif timer == START and not self.pool:
            # Assigned, not from a pool (a scheduled care visit, a member named by 派单): nobody
            # to hand it back to, so a missed start climbs to the committee as a missed case does.
            self.level = 1
            self._record(now, "start_overdue", level=1, actor=committee, detail=self.claimant)
            self._timer(COMPLETE, max(self.complete_due_at or now, now))
            if self.due_at is not None and self.due_at <= now:
                self._stop()
            self._notify(committee, "order_overdue")
        elif timer == START:
            lapsed = self.claimant
            self.lapsed = [*self.lapsed, lapsed] if lapsed else self.lapsed
            self.status, self.claimant, self.claimed_at, self.complete_due_at = OrderStatus.POOLED, None, None, None
            self._record(now, "claim_lapsed", actor=lapsed)
            self._timer(CLAIM, claim_due)
            self._notify(lapsed, "order_claim_lapsed")
            for member_id in self.pool:
                if member_id != lapsed:
                    self._notify(member_id, "order_pooled_again")
        elif timer == COMPLETE:
            self._record(now, "complete_overdue", level=1, actor=committee)
            self._stop()
            self._notify(committee, "order_overdue")
        elif timer == CONFIRM and self.status is OrderStatus.DONE:
            done = max((i for i, e in enumerate(self.history) if e.event == "done"), default=0)
            if not any(e.event == "confirm_reminded" for e in self.history[done:]):
                self._record(now, "confirm_reminded", actor=self.confirmer)
                self._timer(CONFIRM, now + max(due_at - (self.done_at or due_at), 0.0))
                self._notify(self.confirmer, "order_confirm_reminder")
            else:
                self.status, self.closed_at = OrderStatus.VERIFIED, now
                self._record(now, "verified", detail="no_answer")
                self.credit = {"member": self.claimant, "on_time": self.on_time()}
                self._stop()
        else:
            return False
        return True

    # -- helpers -------------------------------------------------------------------------------
    def _claimant_only(self, member_id: str) -> None:
        if member_id != self.claimant:
            raise OrderRefused("not_claimant")

    def _start(self, now: float) -> None:
        if self.started_at is None:
            self.started_at = now
            self.status = OrderStatus.IN_PROGRESS
            self._record(now, "started", actor=self.claimant)
        if self.timer == START:
            self._timer(COMPLETE, self.complete_due_at or now)

    def _timer(self, timer: str, due_at: float) -> None:
        self.timer, self.due_at = timer, due_at

    def _stop(self) -> None:
        self.timer, self.due_at = None, None

    def _record(self, now: float, event: str, level: int | None = None,
                actor: str | None = None, detail: str | None = None) -> None:
        self.history.append(Event(now, event, level, actor, detail))
        self.updated_at = now

    # -- plain form ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        data = dict(data)
        data["status"] = OrderStatus(data["status"])
        data["history"] = [Event(**e) for e in data.get("history", ())]
        data["outbox"] = [Notice(n["id"], n["member_id"], n["template"], dict(n.get("params") or {}),
                                 n.get("not_before")) for n in data.get("outbox", ())]
        for key in ("pool", "lapsed", "steps_done"):
            data[key] = list(data.get(key) or ())
        return cls(**data)
