"""SMS through Amazon SNS (direct publish to a phone number)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SnsSmsSender:
    def __init__(self, client: Callable[[], Any], sender_id: str | None = None):
        self._client, self._sender_id = client, sender_id

    def send(self, phone: str, text: str, case_id: str | None = None) -> str | None:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        response = self._client().publish(PhoneNumber=phone, Message=text, MessageAttributes=attributes)
        return response.get("MessageId")
