"""A generated repo's app served for real (`python -m service`, uvicorn on 127.0.0.1), and a
repo copy whose stack config keeps the acceptance suite short."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RELEASE = "sha256:" + "ab" * 32
# The suite's settings for the tests: short runs, a p95 threshold a busy test machine meets.
QUICK = {
    "acceptanceLoadSeconds": "1",
    "acceptanceLoadUsers": "2",
    "acceptanceExamples": "15",
    "acceptanceP95Ms": "2000",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(
    repo: Path, *, stage: str = "dev", release: str = RELEASE, python: str = sys.executable
) -> Iterator[str]:
    """The repo's app on a free port of 127.0.0.1 until the block ends; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(repo / "app" / "src"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "STAGE": stage,
        "RELEASE": release,
        "LOG_LEVEL": "WARNING",
    }
    log = (repo.parent / f"server-{port}.log").open("w")
    process = subprocess.Popen([python, "-m", "service"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (repo.parent / f"server-{port}.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the app did not start within 30 s"
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def quick_copy(source: Path, dest: Path, stage: str = "dev", **settings: str) -> Path:
    """A writable copy of a generated repo whose `stage` stack file sets the quick settings (and
    `settings`, by key without the project's namespace)."""
    shutil.copytree(source, dest, symlinks=True)
    set_config(dest, stage, **{**QUICK, **settings})
    return dest


def set_config(repo: Path, stage: str, **settings: str) -> None:
    """Append `<project>:KEY: VALUE` lines to infra/Pulumi.<stage>.yaml (the stack's config)."""
    stack_file = repo / "infra" / f"Pulumi.{stage}.yaml"
    first = (repo / "infra" / "Pulumi.yaml").read_text().splitlines()[0]
    project = first.removeprefix("name:").strip()
    lines = "".join(f"  {project}:{key}: {value}\n" for key, value in settings.items())
    stack_file.write_text(stack_file.read_text().rstrip("\n") + "\n" + lines)
