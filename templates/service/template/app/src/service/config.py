"""Configuration from environment variables, read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    service_name: str
    stage: str
    release: str
    log_level: str
    port: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            service_name=env.get("SERVICE_NAME", "service"),
            stage=env.get("STAGE", "local"),
            release=env.get("RELEASE", "dev"),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            port=int(env.get("PORT", "8080")),
        )
