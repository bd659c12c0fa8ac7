"""Fresh benchmark databases and a real ``casedesk serve`` process against them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from casedesk.db.migrate import upgrade

PG_URL = os.environ.get(
    "CASEDESK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CASEDESK = str(Path(sys.executable).with_name("casedesk"))


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """An empty, migrated database of ``kind`` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            yield url
        return
    admin = PG_URL.replace("+psycopg", "")
    name = f"casedesk_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    host: str
    port: int
    token: str
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def serve(
    url: str, *, workers: int = 2, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """``casedesk serve --workers N`` on a free loopback port, with an admin token."""
    env = {
        **os.environ,
        "CASEDESK_DATABASE_URL": url,
        "CASEDESK_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    boot = subprocess.run(
        [CASEDESK, "user", "bootstrap", "--email", "bench@example.com"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = next(line.split()[-1] for line in boot.stdout.splitlines() if "API token" in line)
    with running(env, token, workers=workers) as server:
        yield server


@contextmanager
def running(
    env: dict[str, str], token: str, *, workers: int = 2, start_timeout: float = 60
) -> Iterator[Server]:
    """``casedesk serve --workers N --no-worker`` on a free loopback port until the block ends."""
    port = _free_port()
    process = subprocess.Popen(
        [CASEDESK, "serve", "--port", str(port), "--workers", str(workers), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("casedesk serve did not start")
            time.sleep(0.2)
        yield Server("127.0.0.1", port, token, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
