"""SQLite's one writer: a write transaction waits for another process's writer, proceeds as
soon as the lock is free, gives up with a clear error after its deadline, and threads of one
process take turns without failing."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casedesk.db.migrate import upgrade
from casedesk.db.session import Database, _begin_immediate
from casedesk.db.tables import Team, table


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "lock.db"
    upgrade(f"sqlite:///{file}")
    return file


def _other_writer(path: Path) -> sqlite3.Connection:
    """Another process's connection holding the write lock."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_writer_waits_for_the_lock_and_then_proceeds(path: Path) -> None:
    other = _other_writer(path)
    threading.Timer(0.3, other.rollback).start()
    conn = sqlite3.connect(path, isolation_level=None)
    _begin_immediate(conn, timeout=10)
    assert conn.in_transaction
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000  # restored for the rest
    conn.rollback()
    other.close()


def test_a_writer_gives_up_after_its_deadline_with_the_reason(path: Path) -> None:
    other = _other_writer(path)
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _begin_immediate(conn, timeout=0.2)
    assert not conn.in_transaction
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    other.rollback()
    other.close()


def test_many_threads_write_at_once_and_every_write_lands(path: Path) -> None:
    db = Database(f"sqlite:///{path}", pool_size=4)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(25):
                with db.write() as s:
                    s.execute(
                        table(Team).insert(),
                        {"name": f"team-{i}-{j}", "created_at": datetime.now(UTC)},
                    )
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.read() as s:
        count = s.scalar(select(func.count()).select_from(Team))
    db.dispose()
    assert errors == []
    assert count == 8 * 25
