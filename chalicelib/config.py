"""Settings, from the environment (Chalice's config.json sets them per stage)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from chalicelib.domain.admission import LookupLimits, OrderLimits, ReportLimits

_LIMITS = ReportLimits()     # the defaults
_ORDERS = OrderLimits()
_LOOKUPS = LookupLimits()


def stage() -> str:
    return os.environ.get("GRIDLOOP_STAGE", "dev")


def resource_name(purpose: str, stage_name: str | None = None) -> str:
    """Every AWS resource is named gridloop-{stage}-{purpose}."""
    return f"gridloop-{stage_name or stage()}-{purpose}"


@dataclass(frozen=True)
class Config:
    stage: str
    region: str
    endpoint_url: str | None        # the local stack's AWS emulator; None in AWS
    time_scale: float
    directory_ttl: float
    due_shards: int
    max_receive_count: int
    policy_dir: str | None = None   # the communities' policy files; None: the ones shipped in chalicelib/data
    # Notices to one phone within this many seconds go as one text (services.notices);
    # 0 turns bundling off. Like every policy duration, divided by the time scale.
    bundle_seconds: float = 120.0
    # New reports from one phone, and from one source address, per window (domain.admission);
    # 0: no limit. Not divided by the time scale: a flood is a flood at any speed.
    reports_per_phone: int = _LIMITS.per_phone
    reports_per_ip: int = _LIMITS.per_ip
    report_window_seconds: float = _LIMITS.window
    # New service orders (点单) from one phone, and from one source address, per window of
    # their own (domain.admission.OrderLimits); 0: no limit.
    orders_per_phone: int = _ORDERS.per_phone
    orders_per_ip: int = _ORDERS.per_ip
    order_window_seconds: float = _ORDERS.window
    # Look-ups by code on the residents' status page (GET /r/{code}) from one source address,
    # per window of the same length (domain.admission.LookupLimits); 0: no limit.
    lookups_per_ip: int = _LOOKUPS.per_ip
    # Calls made with one Open311 API key (POST and GET requests) per window of the same
    # length (services.api_keys); 0: no limit.
    open311_calls_per_key: int = 600
    # The local stack's tables, when another engine than the emulator holds them (DynamoDB
    # Local, under `make run`); None: endpoint_url's, as in AWS.
    dynamodb_endpoint_url: str | None = None

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ
        time_scale = float(env.get("GRIDLOOP_TIME_SCALE", "1"))
        return cls(
            stage=stage(),
            region=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1",
            endpoint_url=env.get("GRIDLOOP_AWS_ENDPOINT") or None,
            time_scale=time_scale,
            directory_ttl=float(env.get("GRIDLOOP_DIRECTORY_TTL", "300")),
            due_shards=int(env.get("GRIDLOOP_DUE_SHARDS", "4")),
            max_receive_count=int(env.get("GRIDLOOP_MAX_RECEIVE_COUNT", "5")),
            policy_dir=env.get("GRIDLOOP_POLICY_DIR") or None,
            bundle_seconds=float(env.get("GRIDLOOP_BUNDLE_SECONDS", "120")) / time_scale,
            reports_per_phone=int(env.get("GRIDLOOP_REPORTS_PER_PHONE", _LIMITS.per_phone)),
            reports_per_ip=int(env.get("GRIDLOOP_REPORTS_PER_IP", _LIMITS.per_ip)),
            report_window_seconds=float(env.get("GRIDLOOP_REPORT_WINDOW_SECONDS", _LIMITS.window)),
            orders_per_phone=int(env.get("GRIDLOOP_ORDERS_PER_PHONE", _ORDERS.per_phone)),
            orders_per_ip=int(env.get("GRIDLOOP_ORDERS_PER_IP", _ORDERS.per_ip)),
            order_window_seconds=float(env.get("GRIDLOOP_ORDER_WINDOW_SECONDS", _ORDERS.window)),
            lookups_per_ip=int(env.get("GRIDLOOP_LOOKUPS_PER_IP", _LOOKUPS.per_ip)),
            open311_calls_per_key=int(env.get("GRIDLOOP_OPEN311_CALLS_PER_KEY", "600")),
            dynamodb_endpoint_url=env.get("GRIDLOOP_DYNAMODB_ENDPOINT") or None,
        )

    @property
    def tables_endpoint_url(self) -> str | None:
        return self.dynamodb_endpoint_url or self.endpoint_url

    @property
    def report_limits(self) -> ReportLimits:
        return ReportLimits(self.reports_per_phone, self.reports_per_ip, self.report_window_seconds)

    @property
    def order_limits(self) -> OrderLimits:
        return OrderLimits(self.orders_per_phone, self.orders_per_ip, self.order_window_seconds)

    @property
    def lookup_limits(self) -> LookupLimits:
        return LookupLimits(self.lookups_per_ip, self.report_window_seconds)

    def name(self, purpose: str) -> str:
        return resource_name(purpose, self.stage)
