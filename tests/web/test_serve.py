"""``casedesk serve --workers N``: every process takes its share of connections, a process that
dies is replaced, and stopping the server stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from casedesk.db.migrate import upgrade
from tests.procs import children, established, free_port, listeners, wait_until

CASEDESK = str(Path(sys.executable).with_name("casedesk"))
pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT") or not Path("/proc/net/tcp").exists(),
    reason="needs Linux (SO_REUSEPORT and /proc)",
)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False




@contextmanager
def _serve(tmp_path: Path, port: int, workers: int = 2) -> Iterator[subprocess.Popen[bytes]]:
    url = f"sqlite:///{tmp_path}/serve.db"
    upgrade(url)
    env = {**os.environ, "CASEDESK_DATABASE_URL": url, "CASEDESK_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [CASEDESK, "serve", "--port", str(port), "--workers", str(workers), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: _healthy(port) and listeners(port) == workers)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def _burst(port: int, count: int) -> list[socket.socket]:
    """Open ``count`` keep-alive connections at once, then use each for one request."""
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    for conn in conns:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    for conn in conns:
        conn.settimeout(10)
        assert conn.recv(4096).startswith(b"HTTP/1.1 200")
    return conns


def test_a_burst_of_connections_is_shared_by_every_process(tmp_path: Path) -> None:
    port = free_port()
    with _serve(tmp_path, port) as server:
        conns = _burst(port, 24)
        try:
            held = {pid: established(pid, port) for pid in children(server.pid)}
        finally:
            for conn in conns:
                conn.close()
    assert sum(held.values()) >= 24  # and a health check still closing, at times
    assert all(n > 0 for n in held.values()), f"connections per process: {held}"


def test_a_process_that_dies_is_replaced(tmp_path: Path) -> None:
    port = free_port()
    with _serve(tmp_path, port) as server:
        first = sorted(children(server.pid))
        os.kill(first[0], signal.SIGKILL)
        wait_until(lambda: len(set(children(server.pid)) - set(first)) == 1)
        wait_until(lambda: listeners(port) == 2)
        assert len(children(server.pid)) == 2
        assert _healthy(port)


def test_stopping_the_server_stops_every_process(tmp_path: Path) -> None:
    port = free_port()
    with _serve(tmp_path, port) as server:
        pids = children(server.pid)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert not _healthy(port)


def test_an_address_in_use_is_refused_with_the_reason(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        url = f"sqlite:///{tmp_path}/serve.db"
        upgrade(url)
        done = subprocess.run(
            [CASEDESK, "serve", "--port", str(port), "--workers", "2", "--no-worker"],
            env={**os.environ, "CASEDESK_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
