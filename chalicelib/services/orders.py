"""The party members' service loop (群众点单 → 支部下单 → 党员接单), on the same guarantees as
the case loop: each order is saved whole on its version (adapters.orders), its notices go
through the outbox (services.notices: saved with the change, sent, recorded), every step is
idempotent, and its timers fire through the same sweep and escalation queue as a case's.

Who takes part comes from the directory: the committee dispatches (the grid's chief when on
the committee, else the first available committee member is asked), the pool is the grid's
at-home members holding the item's post (Community.service_pool), a household head orders
for the households linked to them (代点). What each item needs and how long each step may
take comes from the catalogue (domain.service_catalogue), counted on the community's working
calendar. The points an order earns go to the ledger (services.points) once the resident
confirms it; the credit is saved with the confirmation first, so a crash in between leaves
it pending, and the redelivery enters it (the ledger keeps an entry once).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.domain.admission import OrderLimits, admission_for
from chalicelib.domain.codes import code_for, random_seed, report_id_for
from chalicelib.domain.directory import Community, Directory
from chalicelib.domain.orders import CLAIM, ORDERER, Order, OrderRefused, OrderStatus
from chalicelib.domain.orders.texts import render_order
from chalicelib.domain.service_catalogue import CatalogueItem, Limit, ServiceCatalogue

from .intake import PermanentFailure
from .notices import NoticeDelivery
from .ports import CodeTaken, ConcurrentUpdate, MessageQueue, OrderRepository

log = logging.getLogger(__name__)
MAX_RETRIES = 5
MAX_CODE_ATTEMPTS = 8
SWEEP_BATCH = 10
ORDER_MESSAGE = "order"      # the escalation-queue message kind of an order's timer
CHINA_OFFSET = 8 * 3600      # the month of a visit is China's (UTC+8)
IN_FLIGHT_SECONDS, IN_FLIGHT_WAIT = 10.0, 3.0   # as services.workflow's
CONFIRM_SECONDS = 3 * 86400  # the confirmer's time to answer 完成 when the policy gives none


class OrderNotices(NoticeDelivery):
    """NoticeDelivery for orders: the same outbox, sends and records, with the orders' words.
    Orders take no send windows and no quiet hours: each asks someone to act now."""

    def __init__(self, orders: OrderRepository, sms: Any, directory: Callable[[], Directory],
                 catalogues: Mapping[str, ServiceCatalogue], clock: Callable[[], float], contacts: Any = None):
        super().__init__(orders, sms, directory, {}, clock, contacts=contacts, bundle_seconds=0)   # type: ignore[arg-type]
        self._catalogues = catalogues

    def _answers(self, case: Any, notice: Any) -> bool:
        """The code of an order a resident has just texted or sent from the page is the answer
        to it, as a report's code is: it goes out even to a phone that replied 退订, and asks
        nothing of the contacts table. One the committee entered is not."""
        return notice.template == "order_received" and getattr(case, "source", None) in ("sms", "web")

    def text_for(self, case: Any, notice: Any, directory: Directory, lang: str, as_brief: bool = False) -> str:
        order: Order = case
        community = directory.communities[order.community_id]
        item = self._catalogues[order.community_id].items.get(order.item) if order.community_id in self._catalogues \
            else None
        location = community.locations.get(order.location)
        # The members who go there are told the flat; the resident knows where they live.
        door = order.door if order.door and notice.member_id != ORDERER else ""
        params = dict(notice.params)
        name = community.members[order.claimant].name if order.claimant in community.members else ""
        return render_order(
            notice.template, lang, community=community.name.get(lang, community.name.get("zh", community.id)),
            code=order.code, item=(item.name.get(lang, item.name["zh"]) if item else order.item) + _wish(order, lang),
            location=(location.short_name.get(lang, location.code) if location else order.location) + _door(door, lang),
            bring=params.pop("bring", ""), reason=params.pop("reason", ""), name=name,
            steps=order.checklist_size, **{k: v for k, v in params.items() if k not in ("name",)})


def _door(door: str, lang: str) -> str:
    return "" if not door else (f"{door}室" if lang == "zh" else f" flat {door}")


def _wish(order: Order, lang: str) -> str:
    if not order.wish:
        return ""
    return f"“{order.wish[:16]}”"


def checklist_text(item: CatalogueItem, lang: str) -> str:
    separator = "、" if lang == "zh" else ", "
    return separator.join(step.get(lang, step["zh"]) for step in item.checklist)


class OrderService:
    def __init__(self, orders: OrderRepository, notices: OrderNotices, escalations: MessageQueue,
                 directory: Callable[[], Directory], catalogues: Mapping[str, ServiceCatalogue],
                 policies: Any, clock: Callable[[], float], points: Any = None,
                 limits: OrderLimits | None = None):
        self._orders, self._notices, self._escalations = orders, notices, escalations
        self._directory, self._catalogues, self._policies = directory, catalogues, policies
        self._clock, self._points = clock, points
        self._limits = limits     # a resident's orders per phone and address (domain.admission)

    @property
    def orders(self) -> OrderRepository:
        return self._orders

    def catalogue(self, community_id: str) -> ServiceCatalogue | None:
        return self._catalogues.get(community_id)

    # -- 点单 ---------------------------------------------------------------------------
    def place(self, *, community_id: str, item: CatalogueItem, location: str, seed: str | None,
              ordered_by: str, placed_by: str | None = None, orderer_phone: str | None = None,
              lang: str = "zh", source: str = "sms", wish: str | None = None,
              value_yuan: int | None = None, visit: str | None = None,
              dispatcher: bool = True, door: str | None = None,
              sender_ip: str | None = None) -> tuple[Order, bool]:
        """Store a new order (or find the one this seed made: a redelivered SMS, a retried form)
        and tell the resident their code and the committee member who dispatches it.

        A resident's own order by SMS or from the page counts against their phone's and
        `sender_ip`'s limits and is refused if either is blocked, in the order's one write
        (Blocked, RateLimited: nothing made); a found one counts nothing."""
        community = self._community(community_id)
        if location not in community.locations:
            raise OrderRefused("unknown_place")
        if ordered_by not in item.ordered_by:
            raise OrderRefused(f"not_orderable_by_{ordered_by}")
        if item.max_value_yuan is not None and value_yuan is not None and value_yuan > item.max_value_yuan:
            raise OrderRefused("over_value")
        seed = seed or random_seed()
        catalogue = self._catalogues[community_id]
        for attempt in range(MAX_CODE_ATTEMPTS):
            now = self._clock()
            order = Order.place(
                id=report_id_for(f"order:{seed}"), code=code_for(f"order:{seed}", attempt),
                community_id=community_id, item=item.code, kind=item.kind, location=location, now=now,
                checklist_size=len(item.checklist),
                dispatcher=self.dispatcher_for(community, location, now) if dispatcher else None,
                dispatch_due=self.after(community_id, item.claim_within, now), ordered_by=ordered_by,
                placed_by=placed_by, orderer_phone=orderer_phone, orderer_lang=lang, source=source,
                wish=wish, value_yuan=value_yuan, catalogue_version=catalogue.version,
                dedupe_key=seed, bring=checklist_text(item, lang), visit=visit, door=door)
            limited = self._limits is not None and ordered_by == "resident" and source in ("sms", "web")
            admission = admission_for(self._limits, now, phone=orderer_phone, ip=sender_ip) if limited else None
            try:
                self._orders.add(order, admission)
            except CodeTaken:
                existing = self._orders.get(order.code)
                if existing is not None and existing.dedupe_key == seed:
                    # The same SMS twice at once (a gateway's retry): the first may be sending
                    # its notices now; wait for it, as a change does, so as not to send them too.
                    return self._notices.deliver(self._settled(existing)), False
                continue
            return self._notices.deliver(order), True
        raise RuntimeError(f"no free order code after {MAX_CODE_ATTEMPTS} attempts")

    # -- 关爱式: the elderly members' scheduled visits ------------------------------------------
    def schedule_care_visits(self, now: float | None = None) -> list[str]:
        """This month's care visit (送学上门, 结对帮扶) to every elderly member with a pair and a
        registered home, ordered by the committee and assigned to the paired member: once a
        month however often it runs (the order's seed is the elder and the month). Returns the
        codes of the visits made now."""
        now = self._clock() if now is None else now
        period = time.strftime("%Y-%m", time.gmtime(now + CHINA_OFFSET))
        made = []
        for community in self._directory().communities.values():
            catalogue = self._catalogues.get(community.id)
            item = next((i for i in catalogue.items.values() if i.kind == "care_visit"), None) if catalogue else None
            if item is None:
                continue
            for elder in community.members.values():
                home = community.households.get(elder.phone)
                partner = community.paired_member(elder.id)
                if elder.category.value != "elderly" or partner is None or home is None:
                    continue
                heads = [m.id for m in community.members.values() if community.linked_head_for(m.id, home)]
                order, created = self.place(
                    community_id=community.id, item=item, location=home, seed=f"visit:{community.id}:{elder.id}:"
                    f"{period}", ordered_by="committee", placed_by=heads[0] if heads else elder.id,
                    lang=elder.lang, source="schedule", visit=f"{elder.id}:{period}", dispatcher=False)
                if order.claimant is None and order.status is OrderStatus.ORDERED:
                    # The committee member on duty is its dispatcher of record (source: schedule).
                    try:
                        order = self.dispatch(order, self.dispatcher_for(community, home, now), to_member=partner)
                    except OrderRefused as refused:
                        # The partner is on leave (or gone): the visit waits, ordered, and its
                        # dispatch timer tells the area chief; the next run assigns it if the
                        # partner is back. The other elders' visits go on.
                        log.warning("care visit %s for %s not assigned to %s: %s", order.code, elder.id, partner,
                                    refused.reason)
                if created:
                    made.append(order.code)
        return made

    @staticmethod
    def dispatcher_for(community: Community, location: str, now: float) -> str | None:
        """Who is asked to dispatch: the grid's chief if on the committee and available, else
        the first available committee member, else the area chief."""
        grid = community.grids.get(community.grid_of(location))
        committee = [m for m in community.committee_ids if community.members[m].available(now)]
        if grid is not None and grid.chief_id in committee:
            return grid.chief_id
        return committee[0] if committee else community.area_chief_id

    @staticmethod
    def may_dispatch(community: Community, member_id: str) -> bool:
        return member_id in community.committee_ids or member_id == community.area_chief_id

    # -- 下单 -----------------------------------------------------------------------------
    def dispatch(self, order: Order, actor: str, to_member: str | None = None) -> Order:
        community = self._community(order.community_id)
        if not self.may_dispatch(community, actor):
            raise OrderRefused("not_committee")
        item = self._item(order)
        if to_member is not None:
            member = community.members.get(to_member)
            if member is None or not member.available(self._clock()):
                raise OrderRefused("member_not_available")

            def assign(current: Order) -> bool:
                now = self._clock()
                return current.assign(actor, to_member, now, self.after(current.community_id, item.claim_within, now),
                                      self.after(current.community_id, item.complete_within, now))
            return self._notices.deliver(self.change(order, assign))

        def publish(current: Order) -> bool:
            now = self._clock()
            # Whoever dispatches does not claim it too: they name themselves if they mean to.
            pool = [m for m in community.service_pool(current.location, item.post, now) if m != actor]
            return current.dispatch(actor, pool, now, self.after(current.community_id, item.claim_within, now))
        return self._notices.deliver(self.change(order, publish))

    def refuse(self, order: Order, actor: str, reason: str) -> Order:
        if not self.may_dispatch(self._community(order.community_id), actor):
            raise OrderRefused("not_committee")
        return self._notices.deliver(self.change(order, lambda current: current.refuse(actor, reason, self._clock())))

    def cancel(self, order: Order, actor: str, reason: str) -> Order:
        return self._notices.deliver(self.change(order, lambda current: current.cancel(actor, reason, self._clock())))

    # -- 接单 and the work ------------------------------------------------------------------
    def claim(self, order: Order, member_id: str) -> Order:
        """The first claim wins: each claim is a conditional write on the order's version, and a
        claim that loses reads the order again and is refused already_claimed."""
        item = self._item(order)

        def claim(current: Order) -> bool:
            now = self._clock()
            return current.claim(member_id, now, self.after(current.community_id, item.claim_within, now),
                                 self.after(current.community_id, item.complete_within, now))
        return self._notices.deliver(self.change(order, claim))

    def tick(self, order: Order, member_id: str, step: int) -> Order:
        return self._notices.deliver(self.change(order, lambda current: current.tick(member_id, step, self._clock())))

    def complete(self, order: Order, member_id: str) -> Order:
        """完成 CODE: the confirmer has the policy's call-back time to answer (the case loop's
        `callback_days`), then a reminder and as long again (Order.escalate, CONFIRM)."""
        def complete(current: Order) -> bool:
            now = self._clock()
            callback = int(getattr(self._policy(current.community_id), "callback_seconds", 0) or CONFIRM_SECONDS)
            return current.complete(member_id, now, self.after(current.community_id, Limit(callback, False), now))
        return self._notices.deliver(self.change(order, complete))

    def confirm(self, order: Order, satisfied: bool, actor: str | None = None, reason: str = "",
                key: str | None = None) -> Order:
        """1 / 2 from whoever confirms (`key`: the inbound SMS); a verified order's points are
        entered in the ledger."""
        order = self.change(order, lambda current: current.confirm(satisfied, self._clock(), actor, reason, key))
        return self.finish_confirmation(order)

    def finish_confirmation(self, order: Order) -> Order:
        """What follows a saved 1 / 2: the credit entered, the notices sent. Also the whole of a
        redelivered answer's work, which finds the answer saved and may find these undone."""
        order = self.settle_credit(order)
        return self._notices.deliver(order)

    def settle_credit(self, order: Order) -> Order:
        """Enter a verified order's pending credit in the ledger, then mark it entered."""
        if order.credit is None:
            return order
        entry_id = None
        if self._points is not None and order.credit.get("member"):
            community = self._community(order.community_id)
            member = community.members.get(order.credit["member"])
            own = member is not None and (community.households.get(member.phone) == order.location
                                          or member.phone == order.orderer_phone)
            entry = None
            if not own:
                entry = self._points.credit_order(
                    community_id=order.community_id, member_id=order.credit["member"], order_code=order.code,
                    item=order.item, on_time=bool(order.credit.get("on_time")), own_household=False,
                    at=order.closed_at or self._clock())
            else:
                log.info("order %s: no points, the member's own household ordered it", order.code)
            entry_id = getattr(entry, "id", None)
        return self.change(order, lambda current: current.credited_as(entry_id, self._clock()))

    # -- the timers --------------------------------------------------------------------------
    def sweep(self, now: float | None = None) -> int:
        """Queue an escalation for every open order whose timer is due; returns how many."""
        now = self._clock() if now is None else now
        due = [{"kind": ORDER_MESSAGE, "code": code, "due_at": due_at} for code, due_at in self._orders.due(now)]
        for start in range(0, len(due), SWEEP_BATCH):
            self._escalations.send_batch(due[start:start + SWEEP_BATCH])
        return len(due)

    def escalate(self, body: str | Mapping[str, Any]) -> Order:
        try:
            request = json.loads(body) if isinstance(body, str) else dict(body)
            code, due_at = str(request["code"]), float(request["due_at"])
        except (ValueError, TypeError, KeyError) as error:
            raise PermanentFailure(f"malformed order escalation: {error!r}") from None
        order = self._orders.get(code)
        if order is None:
            raise PermanentFailure(f"no order {code}")
        community = self._community(order.community_id)
        item = self._item(order)

        def fire(current: Order) -> bool:
            now = self._clock()
            committee = current.dispatched_by or current.dispatcher or self.dispatcher_for(
                community, current.location, now)
            return current.escalate(due_at, now, claim_due=self.after(current.community_id, item.claim_within, now),
                                    committee=committee, area_chief=community.area_chief_id)
        return self._notices.deliver(self.settle_credit(self.change(order, fire)))

    # -- shared -------------------------------------------------------------------------------
    def after(self, community_id: str, limit: Limit, start: float) -> float:
        """`limit` after `start`: working time on the community's calendar where the catalogue
        says so; with a time scale (demos, tests), scaled wall-clock time, as the policy's."""
        policy = self._policy(community_id)
        scale = float(getattr(policy, "time_scale", 1.0) or 1.0)
        calendar = getattr(policy, "calendar", None)
        if limit.working and calendar is not None and scale == 1.0:
            return calendar.add(start, limit.seconds / 3600.0, "working_hours")
        return start + limit.seconds / scale

    def _policy(self, community_id: str) -> Any:
        book = getattr(self._policies, "books", {}).get(community_id)
        return book.chains[book.default] if book is not None else getattr(self._policies, "fallback", self._policies)

    def _community(self, community_id: str) -> Community:
        community = self._directory().communities.get(community_id)
        if community is None:
            raise PermanentFailure(f"community {community_id} is not in the directory")
        return community

    def _item(self, order: Order) -> CatalogueItem:
        catalogue = self._catalogues.get(order.community_id)
        item = catalogue.items.get(order.item) if catalogue else None
        if item is None:
            raise PermanentFailure(f"order {order.code}: item {order.item} is not in the catalogue")
        return item

    def change(self, order: Order, mutate: Callable[[Order], bool]) -> Order:
        """Apply `mutate` and save on the version read; on a concurrent change, read it again
        and apply again (a claim that lost then finds it claimed, and is refused)."""
        for _ in range(MAX_RETRIES):
            order = self._settled(order)
            if not mutate(order):
                return order
            try:
                self._orders.save(order)
                return order
            except ConcurrentUpdate:
                fresh = self._orders.get(order.code)
                if fresh is None:
                    raise
                order = fresh
        raise ConcurrentUpdate(order.code)

    def _settled(self, order: Order) -> Order:
        """As CaseWorkflow._settled: wait while another worker sends this order's notices."""
        deadline = time.monotonic() + IN_FLIGHT_WAIT
        while (order.outbox and self._clock() - order.updated_at < IN_FLIGHT_SECONDS
               and not (order.history and order.history[-1].event == "notice_failed")
               and time.monotonic() < deadline):
            time.sleep(0.05)
            order = self._orders.get(order.code) or order
        return order


def is_order_message(body: str) -> bool:
    """Whether an escalation-queue message is an order's timer (else a case's)."""
    try:
        return json.loads(body).get("kind") == ORDER_MESSAGE
    except (ValueError, TypeError, AttributeError):
        return False


__all__ = ["CLAIM", "ORDERER", "OrderNotices", "OrderService", "OrderStatus", "is_order_message"]
