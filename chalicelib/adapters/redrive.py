"""Moving dead letters back to their queue (the ops command `redrive`).

What the console's "Start DLQ redrive" does, with a limit: each message goes back to its
source queue as a new message with the same body and the id it had (the `message_id`
attribute, which the consumers read, so a console report still makes one report), and is
deleted from the dead-letter queue only once SQS took it. The reason it was dead-lettered
stays behind: if it fails again, the consumer gives it a new one.

A message in sms-inbound-dlq whose `source_queue` is the SNS topic is an End User Messaging
payload, not a queue message: it is left where it is (`kept`), hidden for KEEP_HIDDEN
seconds so this run does not read it again.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

KEEP_HIDDEN = 60     # seconds a message read and not moved stays invisible, then is back


class DeadLetterRedrive:
    def __init__(self, client: Callable[[], Any], name: Callable[[str], str]):
        self._client, self._name = client, name

    def move(self, purpose: str, limit: int) -> dict[str, Any]:
        sqs = self._client()
        source = self._name(purpose)
        dlq_url = sqs.get_queue_url(QueueName=self._name(f"{purpose}-dlq"))["QueueUrl"]
        source_url = sqs.get_queue_url(QueueName=source)["QueueUrl"]
        moved = kept = failed = 0
        while moved < limit:
            batch = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=min(10, limit - moved),
                                        MessageAttributeNames=["All"], VisibilityTimeout=KEEP_HIDDEN,
                                        WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return {"moved": moved, "kept": kept, "failed": failed, "more": False}
            entries, handles = [], {}
            for index, message in enumerate(batch):
                attributes = message.get("MessageAttributes", {})
                came_from = attributes.get("source_queue", {}).get("StringValue")
                if came_from and came_from != source:
                    kept += 1
                    continue
                entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
                if "message_id" in attributes:
                    entry["MessageAttributes"] = {"message_id": {
                        "DataType": "String", "StringValue": attributes["message_id"]["StringValue"]}}
                entries.append(entry)
                handles[str(index)] = message["ReceiptHandle"]
            if not entries:
                continue
            response = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
            taken = [ok["Id"] for ok in response.get("Successful", [])]
            failed += len(response.get("Failed", []))      # still in the DLQ, back after KEEP_HIDDEN
            if taken:
                sqs.delete_message_batch(QueueUrl=dlq_url, Entries=[
                    {"Id": i, "ReceiptHandle": handles[i]} for i in taken])
            moved += len(taken)
        return {"moved": moved, "kept": kept, "failed": failed, "more": True}
