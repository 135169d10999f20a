"""The party members' service loop: an order from 点单 to its confirmation (aggregate.py),
its words (model.py) and its SMS commands (commands.py)."""
from .aggregate import Order
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

__all__ = ["CLAIM", "COMPLETE", "CONFIRM", "DISPATCH", "OPEN_ORDER_STATUSES", "ORDERER", "START", "Order",
           "OrderRefused", "OrderStatus"]
