"""How the service is served: uvicorn, configured from the environment, shutting down gracefully.

On SIGTERM (ECS and Kubernetes stop a container with it, then wait before SIGKILL; Lambda sends
it when an execution environment shuts down) uvicorn stops accepting connections, closes the
idle ones, lets the requests in flight finish for at most `Settings.shutdown_timeout` seconds,
cancels what is left, runs the app's shutdown and exits 0.
"""

from __future__ import annotations

import uvicorn

from service.config import Settings


def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    uvicorn.run(
        "service.main:app",
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        timeout_keep_alive=settings.keep_alive,
        access_log=False,  # the app logs each request itself, as JSON
        log_config=None,  # uvicorn's own messages go through the app's JSON logs
    )
