"""Graceful shutdown, with a real server process: after SIGTERM the server takes no new
connection, finishes the request in flight, and exits once a stalled one has had its time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
BODY = b'{"name": "kettle", "price": 12.5}'
GRACE = 1.0  # SHUTDOWN_TIMEOUT for the server under test


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SHUTDOWN_TIMEOUT": str(GRACE),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "service"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_until_serving(port, process)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited at start-up"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer /health within 20 s")


def start_post(port: int) -> socket.socket:
    """A POST /items whose headers and first bytes of body have been sent: in flight."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        b"POST /items HTTP/1.1\r\nHost: service\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(BODY)
    )
    connection.sendall(head + BODY[:10])
    return connection


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def read_all(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_sigterm_finishes_the_request_in_flight_then_exits(
    server: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = server
    finishing = start_post(port)
    stalled = start_post(port)  # never completes: the grace period bounds it
    # One full request after both: the server has read their headers by the time it answers.
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as health:
        assert health.status == 200

    process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    deadline = signalled + 5
    while not refuses_connections(port):  # it stops accepting at once
        assert time.monotonic() < deadline, "the server still accepts connections after SIGTERM"
        time.sleep(0.05)
    assert process.poll() is None, "the server exited with a request in flight"

    finishing.sendall(BODY[10:])
    answer = read_all(finishing)  # returns once the server closes the connection: no keep-alive
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]

    # uvicorn re-raises the signal once it has shut down: the exit says "stopped by SIGTERM".
    assert process.wait(timeout=GRACE + 10) in (0, -signal.SIGTERM)
    took = time.monotonic() - signalled
    assert GRACE - 0.5 <= took <= GRACE + 5, took  # it waited for the stalled one, not longer
    assert read_all(stalled) == b""  # closed unanswered once the grace period was over
    assert process.stdout is not None
    logs = process.stdout.read().decode()
    assert '"message": "stopped"' in logs  # the app's shutdown ran
    finishing.close()
    stalled.close()
