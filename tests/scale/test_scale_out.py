"""The scale-out shape on one machine: two ``casedesk serve`` processes and two
``casedesk worker`` processes on one PostgreSQL database.

Cases are created on both servers at once; their SLA first-response targets (2 s) breach while
both workers sweep; every ``case.created`` and ``sla.breached`` notification goes to a loopback
HTTP receiver. Then: every case is there once with a unique ticket ID, each notification
arrived exactly once, each breach was recorded once, and ``casedesk audit verify`` exits 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from casedesk.db.session import Database
from casedesk.db.tables import AuditEvent, Case
from casedesk.domain.actors import Actor
from casedesk.services import users
from tests.notify.conftest import Receiver
from tests.procs import free_port

pytestmark = pytest.mark.postgresql
CASEDESK = str(Path(sys.executable).with_name("casedesk"))
PER_SERVER = 30
CONFIG = """\
[notify]
timeout = "2s"

[[notify.destinations]]
id = "hook"
kind = "slack"
webhook_url_env = "CASEDESK_TEST_HOOK_URL"

[[notify.routes]]
events = ["case.created", "sla.breached"]
when = { priority = ["urgent"] }
to = ["hook"]

[[sla.policies]]
id = "fast"
when = { priority = ["urgent"] }
calendar = "24x7"
targets = { first_response = "2s", resolution = "1h" }
"""
ADMIN = Actor(kind="system", label="scale-test", origin="test")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    rx.start()
    yield rx
    rx.stop()


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "casedesk serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("casedesk serve did not start")


def _create(port: int, token: str, label: str, out: list[str], errors: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as c:
        for i in range(PER_SERVER):
            body = {"subject": f"{label} case {i}", "priority": "urgent", "channel": "api"}
            resp = c.post("/api/v1/cases", json=body, headers={"Idempotency-Key": f"{label}-{i}"})
            if resp.status_code == 201:
                out.append(resp.json()["id"])
            else:
                errors.append(resp.text)


def _listed(port: int, token: str) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    ids, cursor = [], None
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as c:
        while True:
            params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
            page = c.get("/api/v1/cases", params=params).json()
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return ids


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_servers_and_two_workers_share_one_database(
    db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    config = tmp_path / "casedesk.toml"
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "CASEDESK_DATABASE_URL": db_url,
        "CASEDESK_CONFIG": str(config),
        "CASEDESK_TEST_HOOK_URL": receiver.url(),
        "CASEDESK_LOG_LEVEL": "warning",
    }
    db = Database(db_url, pool_size=2)
    from casedesk.clock import SystemClock

    now = SystemClock().now()
    admin = users.create_user(
        db, email="ops@example.com", name="Ops", role="admin", actor=ADMIN, now=now
    )
    token = users.create_token(db, user_id=admin.id, label="scale", actor=ADMIN, now=now).token
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [CASEDESK, "serve", "--port", str(p), "--no-worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ] + [
        subprocess.Popen(
            [CASEDESK, "worker", "--interval", "0.3"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        for port, process in zip(ports, processes, strict=False):
            _wait_healthy(port, process)
        created: list[str] = []
        errors: list[str] = []
        threads = [
            threading.Thread(target=_create, args=(port, token, f"s{n}", created, errors))
            for n, port in enumerate(ports)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:3]
        total = 2 * PER_SERVER
        assert len(created) == total and len(set(created)) == total  # unique ticket IDs
        for port in ports:  # both servers see every case, once
            listed = _listed(port, token)
            assert sorted(listed) == sorted(created)

        # Each case: one case.created and (after 2 s) one sla.breached notification.
        expected = 2 * total
        deadline = time.monotonic() + 90
        while len(receiver.requests) < expected and time.monotonic() < deadline:
            time.sleep(0.3)
        time.sleep(2)  # a duplicate would arrive now
        keys = Counter(r.headers.get("idempotency-key") for r in receiver.requests)
        assert len(receiver.requests) == expected, (len(receiver.requests), expected)
        assert all(n == 1 for n in keys.values()), [k for k, n in keys.items() if n > 1][:5]
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(Case)) == total
            breaches = s.execute(
                select(AuditEvent.case_number, func.count())
                .where(AuditEvent.action == "sla.breached")
                .group_by(AuditEvent.case_number)
            ).all()
        assert len(breaches) == total and all(n == 1 for _, n in breaches)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        db.dispose()
    verify = subprocess.run(
        [CASEDESK, "audit", "verify"], env=env, capture_output=True, text=True, timeout=120
    )
    assert verify.returncode == 0, verify.stderr + verify.stdout
