"""DynamoDB for the weekly joint-meeting report: which weeks' reports went out, and what
they said, on the digests table (no new table).

`gridloop-{stage}-digests`, key `community_id` and `digest` = "2026-W47#weekly" (the daily
digests' keys are "2026-11-23#g1": the two never meet). The claim, sent and failed
marks are the daily digest's (adapters.digests.DynamoDigestLog: a conditional write, a
lease, a back-off); a sent report also keeps `report`, the report's JSON as it went out
(tens of kB, far below DynamoDB's 400 kB: lists are capped in domain.weekly), and is kept
for about a year and a half (`expires_at`), where the daily digests' marks are kept 90 days.
"""
from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.adapters.digests import DynamoDigestLog
from chalicelib.adapters.dynamo import table_meta

KEEP_SECONDS = 550 * 86400
KIND = "weekly"          # the second half of the key: "<week>#weekly"


def build_weekly_report_model(table_name: str, region: str, host: str | None) -> type[Model]:
    class WeeklyReportRecord(Model):
        Meta = table_meta(table_name, region, host)
        community_id = UnicodeAttribute(hash_key=True)
        digest = UnicodeAttribute(range_key=True)           # "<ISO week>#weekly"
        status = UnicodeAttribute()                          # claimed | sent | failed
        claimed_until = NumberAttribute(default=0)
        attempts = NumberAttribute(default=0)
        sent_at = NumberAttribute(null=True)
        error = UnicodeAttribute(null=True)
        report = UnicodeAttribute(null=True)                 # the report's JSON, once sent
        expires_at = NumberAttribute()                       # TTL

    return WeeklyReportRecord


class DynamoWeeklyReportLog:
    """WeeklyReportLog (services.weekly) on the digests table."""

    def __init__(self, model: type[Model]):
        self._model = model
        self._marks = DynamoDigestLog(model)

    def claim(self, community_id: str, week: str, now: float, lease: float) -> str:
        return self._marks.claim(community_id, week, KIND, now, lease)

    def sent(self, community_id: str, week: str, now: float, report: dict[str, Any]) -> None:
        record = self._model.get(community_id, f"{week}#{KIND}", consistent_read=True)
        record.status, record.sent_at, record.claimed_until, record.error = "sent", now, 0, None
        record.report = json.dumps(report, ensure_ascii=False, separators=(",", ":"))
        record.expires_at = int(now + KEEP_SECONDS)
        record.save()

    def failed(self, community_id: str, week: str, now: float, retry_at: float, reason: str) -> None:
        self._marks.failed(community_id, week, KIND, now, retry_at, reason)

    def stored(self, community_id: str, week: str) -> dict[str, Any] | None:
        """The report as it was sent, or None if that week's did not go out."""
        try:
            record = self._model.get(community_id, f"{week}#{KIND}", consistent_read=True)
        except self._model.DoesNotExist:
            return None
        return json.loads(record.report) if record.status == "sent" and record.report else None

    def status(self, community_id: str, week: str) -> str | None:
        return self._marks.status(community_id, week, KIND)
