"""The operators' commands on service orders (docs/services.md), mixed into services.ops.OpsService:
`order-place` (a committee member enters an order after a home visit), `order-show`, `order-cancel`.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain import ops
from chalicelib.domain.orders import Order, OrderRefused

from .order_replies import place_in


class OrderOpsMixin:
    """Needs `self._orders` (a callable giving services.orders.OrderService) and `self._directory`."""

    _orders: Any
    _directory: Any

    def _order_place(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        """Who confirms it: the resident at `phone` (who is texted its code), else `member` (a
        household head or the committee member who visited); one of them is needed. The
        invocation's request id makes a retried invocation find the order it made."""
        if self._orders is None:
            return _error("unavailable", "this ops function has no service orders", "command")
        service = self._orders()
        community = self._directory().communities.get(command.community)
        if community is None:
            return _error("not_found", f"no community {command.community}", "community")
        catalogue = service.catalogue(community.id)
        item = catalogue.items.get(command.item or "") if catalogue else None
        if item is None:
            return _error("not_found", f"no service {command.item} in {community.id}'s catalogue", "item")
        location = command.place if command.place in community.locations else place_in(community, command.place)
        if location is None:
            return _error("invalid_field", f"{command.place!r} is no household of {community.id}", "place")
        if command.phone is None and (command.member is None or command.member not in community.members):
            return _error("missing_field", "give the resident's phone, or the member who confirms it", "phone")
        try:
            order, created = service.place(
                community_id=community.id, item=item, location=location,
                seed=f"ops:{request}" if request else None, ordered_by="committee",
                placed_by=None if command.phone else command.member, orderer_phone=command.phone,
                source="ops", wish=command.wish if item.kind == "micro_wish" else None,
                value_yuan=command.value_yuan if item.kind == "micro_wish" else None)
        except OrderRefused as refused:
            return _error("refused", f"the order was refused: {refused.reason}", "item")
        return _ok(command, order=order_view(order), changed=created)

    def _order_show(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        order = self._orders().orders.get(command.order) if self._orders is not None else None
        if order is None:
            return _error("not_found", f"no order {command.order}", "order")
        return _ok(command, order=order_view(order))

    def _order_cancel(self, command: ops.Command, request: str | None) -> dict[str, Any]:
        service = self._orders() if self._orders is not None else None
        order = service.orders.get(command.order) if service is not None else None
        if order is None:
            return _error("not_found", f"no order {command.order}", "order")
        try:
            before = order.version
            order = service.cancel(order, command.actor, command.reason or "")
        except OrderRefused as refused:
            return _error("refused", f"order {order.code} cannot be cancelled: {refused.reason}", "order")
        return _ok(command, order=order_view(order), changed=order.version != before)


def order_view(order: Order) -> dict[str, Any]:
    """An order for an operator: its state and history, without the resident's phone."""
    return {"code": order.code, "community": order.community_id, "item": order.item, "kind": order.kind,
            "location": order.location, "status": order.status.value, "level": order.level,
            "ordered_by": order.ordered_by, "source": order.source, "dispatcher": order.dispatcher,
            "claimant": order.claimant, "pool": list(order.pool), "steps_done": list(order.steps_done),
            "checklist_size": order.checklist_size, "satisfied": order.satisfied, "credited": order.credited,
            "due_at": order.due_at, "timer": order.timer, "reason": order.reason,
            "history": [{"at": e.at, "event": e.event, "actor": e.actor, "detail": e.detail}
                        for e in order.history if not e.event.startswith("notice")]}


def _ok(command: ops.Command, **fields: Any) -> dict[str, Any]:
    return {"ok": True, "command": command.name, "operator": command.operator, **fields}


def _error(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "field": field}}
