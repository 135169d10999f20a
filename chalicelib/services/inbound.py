"""The one inbound path for SMS: every gateway hands its messages to `accept`."""
from __future__ import annotations

from collections.abc import Callable

from .ports import MessageQueue

MAX_TEXT = 1600   # ten concatenated segments; anything longer is not a reply


class InvalidInbound(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


class InboundSms:
    def __init__(self, queue: MessageQueue, clock: Callable[[], float]):
        self._queue, self._clock = queue, clock

    def accept(self, sender: object, text: object, gateway: str,
               gateway_message_id: str | None = None, recipient: str | None = None) -> None:
        """Queue one inbound SMS for the reply consumer; answers the gateway fast."""
        if not isinstance(sender, str) or not sender.strip():
            raise InvalidInbound("from", "from must be the sender's phone number")
        if not isinstance(text, str):
            raise InvalidInbound("text", "text must be a string")
        if len(text) > MAX_TEXT:
            raise InvalidInbound("text", f"text is longer than {MAX_TEXT} characters")
        message = {"from": sender.strip(), "text": text, "gateway": gateway,
                   "gateway_message_id": gateway_message_id, "received_at": self._clock()}
        if recipient:
            message["to"] = recipient     # our number it was sent to: tells the community
        self._queue.send(message)
