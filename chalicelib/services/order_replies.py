"""The service loop's SMS (domain.orders.commands), for the reply worker (services.sms_replies),
which asks here first and goes on with the case loop when this answers None:

- a resident's `点单 医保` (or free text asking for a catalogue item), placed by their
  registered household or the place the text names;
- a member's 代点, 派单, 拒单, 接单, 进度 CODE N and 积分;
- a case-loop word (`完成 CODE`, `1 CODE`, `查询 CODE`) whose code is an order's, not a case's;
- a resident's or household head's 1 / 2 when an order waits for their confirmation.

As in the case loop, a reply that worked gets no answer (the claimant who won hears nothing;
the one who lost is told "已被认领"), and an answer that says something went wrong is limited
per phone (SmsReplies._error). A resident's new orders are limited per phone
(domain.admission.OrderLimits): over it, they are told once a window, as for reports.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalicelib.domain import places, sms
from chalicelib.domain.admission import Blocked, RateLimited
from chalicelib.domain.contacts import ORDERS_REFUSED, phone_key
from chalicelib.domain.directory import Community, Directory, Member
from chalicelib.domain.orders import ORDERER, Order, OrderRefused, OrderStatus
from chalicelib.domain.orders import commands as order_sms
from chalicelib.domain.orders.texts import render_order, state_of
from chalicelib.domain.report import InvalidReport, normalize_phone
from chalicelib.domain.resident_sms import not_done_reason

from .orders import OrderService

log = logging.getLogger(__name__)
A = order_sms.OrderAction


class OrderReplies:
    def __init__(self, service: OrderService, directory: Callable[[], Directory], send: Callable[[str, str], Any],
                 error: Callable[..., bool], clock: Callable[[], float], points: Any = None,
                 over_limit: Callable[..., Any] | None = None):
        self._service, self._directory = service, directory
        self._send, self._error, self._clock = send, error, clock   # error: SmsReplies._error (limited)
        self._points = points
        self._over_limit = over_limit     # SmsReplies._over_limit: one answer a window, then the DLQ

    # -- members ---------------------------------------------------------------------
    def from_member(self, member: Member, phone: str, text: str) -> str | None:
        command = order_sms.parse(text)
        if command is None:
            reason = not_done_reason(text)      # "2 没人来": an order's "not done", with why
            return self.member_feedback(member, phone, False, reason) if reason else None
        community = self._directory().communities[member.community_id]
        if command.action is A.POINTS:
            return self._points_summary(member, phone)
        if command.action is A.ORDER_FOR:
            return self._order_for(member, phone, community, command)
        if command.action is A.ORDER:
            return self._order_own(member, phone, community, command)
        order = self._order(command.code or "", member.community_id)
        if order is None:
            if command.action is A.CLAIM:
                return None            # 接单 CODE of a case: the case loop's 收到
            self._error(phone, render_order("order_refused_reply", member.lang, code=command.code))
            return "order:unknown"
        try:
            if command.action is A.DISPATCH:
                target = self._member_by_phone(command.phone, community) if command.phone else None
                if command.phone and target is None:
                    raise OrderRefused("member_not_available")
                self._service.dispatch(order, member.id, target)
            elif command.action is A.REJECT:
                self._service.refuse(order, member.id, command.words)
            elif command.action is A.CLAIM:
                self._service.claim(order, member.id)
            elif command.action is A.STEP:
                self._service.tick(order, member.id, command.step or 0)
        except OrderRefused as refused:
            return self._refused(phone, member.lang, order, refused)
        return f"order:{command.action.value}"

    def case_word(self, member: Member, phone: str, command: sms.Command) -> str | None:
        """A case-loop command whose code is no case: 完成 / 2 CODE (the claimant's done, or a
        confirmer's "not done"), 收到 / 1 CODE (a confirmer's "done", or a pool member's claim)."""
        from .answers import current_key
        if command.code is None or command.action not in (sms.Action.ACKNOWLEDGE, sms.Action.RESOLVE):
            return None
        order = self._order(command.code, member.community_id)
        if order is None:
            return None
        try:
            if command.action is sms.Action.RESOLVE:
                if order.status is OrderStatus.DONE and order.confirmer == member.id:
                    self._service.confirm(order, False, actor=member.id, key=current_key())
                    return "order:not_done"
                self._service.complete(order, member.id)
                return "order:done"
            if order.status is OrderStatus.DONE and order.confirmer == member.id:
                self._service.confirm(order, True, actor=member.id, key=current_key())
                return "order:verified"
            self._service.claim(order, member.id)
            return "order:claim"
        except OrderRefused as refused:
            return self._refused(phone, member.lang, order, refused)

    def member_feedback(self, member: Member, phone: str, satisfied: bool, reason: str = "") -> str | None:
        """A bare 1 / 2 from a member with no case to apply it to: their answer to an order
        they placed for a household (代点) and must confirm, else to one their own household
        ordered from this phone, as a resident does."""
        answered = self._answer(f"{member.community_id}#{member.id}", member.id, satisfied, actor=member.id,
                                reason=reason)
        return answered if answered is not None else self.feedback(phone, satisfied, reason)

    def _order_for(self, member: Member, phone: str, community: Community, command: Any) -> str:
        """代点 3-2-501 医保: a household head orders for a household linked to them."""
        location = place_in(community, command.place)
        if location is None:
            self._error(phone, render_order("order_needs_place", member.lang, community=_name(community, member.lang)))
            return "order:needs_place"
        if not community.linked_head_for(member.id, location):
            self._error(phone, render_order("order_not_linked", member.lang))
            return "order:not_linked"
        return self._place(phone, member.lang, community, location, command, "household_head", member.id, None,
                           door=places.door(command.place))

    def _order_own(self, member: Member, phone: str, community: Community, command: Any) -> str:
        """A member orders for their own household, as a resident does."""
        location = community.households.get(phone) or place_in(community, command.words)
        if location is None:
            self._error(phone, render_order("order_needs_place", member.lang, community=_name(community, member.lang)))
            return "order:needs_place"
        return self._place(phone, member.lang, community, location, command, "resident", None, phone,
                           door=places.door(command.words))

    # -- residents -----------------------------------------------------------------------
    def from_resident(self, phone: str, text: str, lang: str, seed: str) -> str | None:
        """点单 …, or free text asking for a catalogue item; None: not an order."""
        directory = self._directory()
        command = order_sms.parse(text)
        if command is not None and command.action is not A.ORDER:
            return None          # a member's word from a resident: the case loop answers it
        household = directory.household(phone)
        community = (directory.communities.get(household.community_id) if household is not None
                     else directory.default_community())
        if community is None:
            return None
        words = command.words if command is not None else text
        catalogue = self._service.catalogue(community.id)
        if command is None:
            if catalogue is None or not order_sms.asks_for_service(text) or catalogue.item_for(text) is None:
                return None
            command = order_sms.OrderCommand(A.ORDER, words=text.strip()[:order_sms.MAX_WISH],
                                             value_yuan=order_sms._yuan(text))
        location = household.code if household is not None else place_in(community, words)
        if location is None:
            self._error(phone, render_order("order_needs_place", lang, community=_name(community, lang)), resident=True)
            return "order:needs_place"
        return self._place(phone, lang, community, location, command, "resident", None, phone, seed=seed,
                           door=places.door(words))

    def feedback(self, phone: str, satisfied: bool, reason: str = "") -> str | None:
        """A resident's 1 / 2 (or "2 没人来", with its reason) when an order of theirs waits for
        it (and no case does)."""
        return self._answer(phone_key(phone), ORDERER, satisfied, reason=reason)

    def _answer(self, confirmer_key: str, confirmer: str, satisfied: bool, actor: str | None = None,
                reason: str = "") -> str | None:
        """The newest order waiting for this confirmer's answer gets it; a redelivered answer
        finds the order it already changed and changes nothing (no answer either)."""
        from .answers import current_key
        key = current_key()
        for code in self._service.orders.awaiting_confirmation(confirmer_key):
            order = self._service.orders.get(code)
            if order is None or order.confirmer != confirmer:
                continue
            if key is not None and order.answer_key == key:
                self._service.finish_confirmation(order)
                return "order:answered"
            if order.status is OrderStatus.DONE:
                self._service.confirm(order, satisfied, actor=actor, reason=reason, key=key)
                return "order:verified" if satisfied else "order:not_done"
        return None

    def query(self, phone: str, code: str, lang: str | None) -> bool:
        """查询 CODE of an order: its state in words; False when no order has that code."""
        order = self._service.orders.get(code)
        if order is None:
            return False
        community = self._directory().communities.get(order.community_id)
        catalogue = self._service.catalogue(order.community_id)
        item = catalogue.items.get(order.item) if catalogue else None
        lang = lang or (order.orderer_lang if phone == order.orderer_phone else "zh")
        self._send(phone, render_order("order_status", lang, community=_name(community, lang) if community else "",
                                       code=order.code, item=item.name.get(lang, order.item) if item else order.item,
                                       state=state_of(order.status.value, lang)))
        return True

    # -- shared ----------------------------------------------------------------------------
    def _place(self, phone: str, lang: str, community: Community, location: str, command: Any, ordered_by: str,
               placed_by: str | None, orderer_phone: str | None, seed: str | None = None,
               door: str | None = None) -> str:
        from .answers import current_key
        catalogue = self._service.catalogue(community.id)
        item = catalogue.item_for(command.words) if catalogue else None
        if item is None:
            # What they may order, a word each (the first keyword, which the parser knows)
            offered = catalogue.orderable_by(ordered_by) if catalogue else []
            words = " / ".join(i.keywords[0] if i.keywords else i.name.get(lang, i.code) for i in offered)
            self._error(phone, render_order("order_unknown_item", lang, community=_name(community, lang),
                                            items=words or "-"),
                        resident=orderer_phone is not None and placed_by is None)
            return "order:unknown_item"
        wish = command.words if item.kind == "micro_wish" else None
        try:
            order, _ = self._service.place(
                community_id=community.id, item=item, location=location, seed=seed or current_key(),
                ordered_by=ordered_by, placed_by=placed_by, orderer_phone=orderer_phone, lang=lang,
                wish=wish, value_yuan=command.value_yuan if wish else None, door=door)
        except OrderRefused as refused:
            self._error(phone, render_order("order_refused_reply", lang, code=""))
            return f"order:refused:{refused.reason}"
        except Blocked as blocked:
            log.warning("SMS order ignored: %s", blocked)     # the sender's pseudonym, not the phone
            return "order:blocked"
        except RateLimited as limited:
            if self._over_limit is None:
                raise
            self._over_limit(phone, render_order("orders_limited", lang, community=_name(community, lang)),
                             ORDERS_REFUSED, limited, "order")
        return f"order:placed:{order.code}"

    def _points_summary(self, member: Member, phone: str) -> str:
        if self._points is None:
            return None  # type: ignore[return-value]
        self._send(phone, self._points.sms_summary(member.community_id, member.id, member.lang, self._clock()))
        return "order:points"

    def _refused(self, phone: str, lang: str, order: Order, refused: OrderRefused) -> str:
        template = "order_already_claimed" if refused.reason == "already_claimed" else "order_refused_reply"
        self._error(phone, render_order(template, lang, code=order.code))
        return f"order:refused:{refused.reason}"

    def _order(self, code: str, community_id: str) -> Order | None:
        order = self._service.orders.get(code) if code else None
        return order if order is not None and order.community_id == community_id else None

    def _member_by_phone(self, raw: str | None, community: Community) -> str | None:
        try:
            member = self._directory().member_by_phone(normalize_phone(raw or ""))
        except InvalidReport:
            return None
        return member.id if member is not None and member.community_id == community.id else None


def place_in(community: Community, text: str) -> str | None:
    """The household a text names ("3-2-501", "3号楼2单元"): its unit, or its building."""
    location = places.parse_place(community, text or "")
    if location is None:
        location = places.location_code(community, places.find(text))
    return location


def _name(community: Community, lang: str) -> str:
    return community.name.get(lang, community.name.get("zh", community.id))
