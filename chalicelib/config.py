"""Settings, from the environment (Chalice's config.json sets them per stage)."""
from __future__ import annotations

import os
from dataclasses import dataclass


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

    @classmethod
    def from_env(cls) -> "Config":
        env = os.environ
        return cls(
            stage=stage(),
            region=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1",
            endpoint_url=env.get("GRIDLOOP_AWS_ENDPOINT") or None,
            time_scale=float(env.get("GRIDLOOP_TIME_SCALE", "1")),
            directory_ttl=float(env.get("GRIDLOOP_DIRECTORY_TTL", "300")),
            due_shards=int(env.get("GRIDLOOP_DUE_SHARDS", "4")),
            max_receive_count=int(env.get("GRIDLOOP_MAX_RECEIVE_COUNT", "5")),
            policy_dir=env.get("GRIDLOOP_POLICY_DIR") or None,
        )

    def name(self, purpose: str) -> str:
        return resource_name(purpose, self.stage)
