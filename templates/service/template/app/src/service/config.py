"""Configuration from environment variables, read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass

# After SIGTERM the server stops accepting connections and gives the requests in flight this
# long to finish before it cancels them and exits. It must stay below what the platform waits
# before SIGKILL: ECS's container stopTimeout (30 s by default), Kubernetes'
# terminationGracePeriodSeconds (30 s by default).
SHUTDOWN_TIMEOUT_SECONDS = 10.0
# Idle keep-alive connections stay open longer than a load balancer keeps them (an ALB's idle
# timeout is 60 s): otherwise the balancer may send a request on a connection the server has just
# closed, and the client gets a 502.
KEEP_ALIVE_SECONDS = 65


@dataclass(frozen=True)
class Settings:
    service_name: str
    stage: str
    release: str
    log_level: str
    port: int
    host: str = "0.0.0.0"
    shutdown_timeout: float = SHUTDOWN_TIMEOUT_SECONDS
    keep_alive: int = KEEP_ALIVE_SECONDS

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            service_name=env.get("SERVICE_NAME", "service"),
            stage=env.get("STAGE", "local"),
            release=env.get("RELEASE", "dev"),
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            port=int(env.get("PORT", "8080")),
            host=env.get("HOST", "0.0.0.0"),
            shutdown_timeout=float(env.get("SHUTDOWN_TIMEOUT", SHUTDOWN_TIMEOUT_SECONDS)),
            keep_alive=int(env.get("KEEP_ALIVE_TIMEOUT", KEEP_ALIVE_SECONDS)),
        )
