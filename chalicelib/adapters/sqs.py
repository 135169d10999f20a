"""SQS queues by name; the queue URL is looked up once per container."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any


class SqsQueue:
    def __init__(self, client: Callable[[], Any], name: str):
        self._client, self.name = client, name
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._client().get_queue_url(QueueName=self.name)["QueueUrl"]
        return self._url

    def send(self, body: dict[str, Any] | str, attributes: dict[str, str] | None = None) -> None:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        kwargs: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": text}
        if attributes:
            kwargs["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v}
                                           for k, v in attributes.items()}
        self._client().send_message(**kwargs)

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again in `seconds` (its retry's backoff: sqs_batch),
        between 1 s (0 would hand it out again at once) and SQS's 12 hours."""
        self._client().change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt_handle,
                                                  VisibilityTimeout=max(1, min(int(seconds), 43200)))

    def send_batch(self, bodies: Iterable[dict[str, Any]]) -> None:
        entries = [{"Id": str(i), "MessageBody": json.dumps(b, ensure_ascii=False)}
                   for i, b in enumerate(bodies)]
        if not entries:
            return
        response = self._client().send_message_batch(QueueUrl=self.url, Entries=entries)
        if response.get("Failed"):
            # The sweep runs again soon; failing loudly makes it retry now and shows in the logs.
            raise RuntimeError(f"SQS refused {len(response['Failed'])} messages: {response['Failed'][:1]}")


class SqsDeadLetters:
    """Puts a message we cannot process into a queue's dead-letter queue, with the reason
    as message attributes, so an operator sees why it is there."""

    def __init__(self, queue: SqsQueue):
        self._queue = queue

    def put(self, body: str, reason: str, source: str, message_id: str | None = None) -> None:
        attributes = {"reason": reason[:1000] or "unknown", "source_queue": source}
        if message_id:
            attributes["message_id"] = message_id
        self._queue.send(body, attributes)
