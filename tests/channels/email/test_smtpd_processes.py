"""``casedesk smtpd --processes N``: several listener processes on one port share the SMTP
sessions, and mail through any of them becomes cases exactly once."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casedesk.db.migrate import upgrade
from casedesk.db.session import Database
from casedesk.db.tables import Case
from tests.procs import children, established, free_port, listeners, wait_until

CASEDESK = str(Path(sys.executable).with_name("casedesk"))
pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT") or not Path("/proc/net/tcp").exists(),
    reason="needs Linux (SO_REUSEPORT and /proc)",
)




@pytest.fixture
def listener(db_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, str]]:
    url = db_url
    config = tmp_path / "casedesk.toml"
    config.write_text('[email]\naddresses = ["support@casedesk.test"]\n')
    port = free_port()
    env = {
        **os.environ,
        "CASEDESK_DATABASE_URL": url,
        "CASEDESK_CONFIG": str(config),
        "CASEDESK_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [CASEDESK, "smtpd", "--host", "127.0.0.1", "--port", str(port), "--processes", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: listeners(port) == 2)
        yield process, port, url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _mail(i: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Member {i} <member{i}@example.com>"
    msg["To"] = "support@casedesk.test"
    msg["Subject"] = f"Points missing #{i}"
    msg["Message-ID"] = f"<smtp-processes-{i}@example.com>"
    msg.set_content("My points did not arrive.")
    return msg


def test_sessions_are_shared_by_every_listener_process(
    listener: tuple[subprocess.Popen[bytes], int, str],
) -> None:
    process, port, _ = listener
    sessions = [smtplib.SMTP("127.0.0.1", port, timeout=10) for _ in range(24)]
    try:
        held = {pid: established(pid, port) for pid in children(process.pid)}
    finally:
        for session in sessions:
            session.quit()
    assert sum(held.values()) >= 24  # and a health check still closing, at times
    assert all(n > 0 for n in held.values()), f"sessions per process: {held}"


def test_mail_through_every_process_becomes_one_case_each(
    listener: tuple[subprocess.Popen[bytes], int, str],
) -> None:
    _, port, url = listener

    def send(i: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(_mail(i))
            smtp.send_message(_mail(i))  # an SMTP retry of the same message

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(40)))
    db = Database(url)
    try:
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(Case)) == 40
            subjects = set(s.scalars(select(Case.subject)))
    finally:
        db.dispose()
    assert subjects == {f"Points missing #{i}" for i in range(40)}


def test_a_taken_port_is_refused_with_the_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/smtp.db"
    upgrade(url)
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = subprocess.run(
            [CASEDESK, "smtpd", "--host", "127.0.0.1", "--port", str(port), "--processes", "2"],
            env={**os.environ, "CASEDESK_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
