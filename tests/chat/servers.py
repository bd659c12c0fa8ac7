"""Real servers on loopback for the live-channel tests: casedesk under uvicorn in a thread
(sharing the test's ``Context``) or as a ``casedesk serve`` subprocess, and helpers to wait
for them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from casedesk.context import Context
from casedesk.web.app import create_app
from tests.procs import free_port

CASEDESK = Path(sys.executable).parent / "casedesk"


@contextmanager
def app_server(ctx: Context) -> Iterator[str]:
    """``create_app(ctx)`` served by uvicorn on a loopback port; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(ctx), log_level="warning", access_log=False, ws_ping_interval=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def wait_healthy(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"casedesk serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


@contextmanager
def serve_processes(env: dict[str, str], tmp: Path, count: int = 1) -> Iterator[list[str]]:
    """``count`` ``casedesk serve --no-worker`` subprocesses, started side by side; yields
    their base URLs."""
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    logs = []
    try:
        for _ in range(count):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            full_env = {
                **os.environ,
                "CASEDESK_BASE_URL": url,
                "CASEDESK_LOG_LEVEL": "warning",
                **env,
            }
            log = (tmp / f"serve-{port}.log").open("wb")
            logs.append(log)
            command = [str(CASEDESK), "serve", "--no-worker", "--host", "127.0.0.1"]
            proc = subprocess.Popen(
                [*command, "--port", str(port)], env=full_env, stdout=log, stderr=subprocess.STDOUT
            )
            procs.append((url, proc))
        for url, proc in procs:
            wait_healthy(url, proc)
        yield [url for url, _ in procs]
    finally:
        for _, proc in procs:
            proc.terminate()
        for _, proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()


@contextmanager
def serve_process(env: dict[str, str], tmp: Path) -> Iterator[str]:
    """``casedesk serve --no-worker`` as a subprocess; yields its base URL."""
    with serve_processes(env, tmp, 1) as urls:
        yield urls[0]
