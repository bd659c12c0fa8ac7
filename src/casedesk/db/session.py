"""Engines and units of work.

``Database.write()`` opens one transaction for one use case. On SQLite it begins with
``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead of failing when a read
transaction upgrades (threads of one process queue on a Python lock first, processes on an
``flock`` of ``<database>-writers`` beside the database file);
``Database.read()`` uses a separate engine with plain deferred transactions so readers never
wait for writers (WAL). On PostgreSQL both use one pool.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

try:
    import fcntl
except ImportError:  # Windows: processes poll SQLite's lock instead (``_begin_immediate``)
    fcntl = None  # type: ignore[assignment]


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"isolation_level": None, "check_same_thread": False, "timeout": 30},
        pool_size=pool_size,
        max_overflow=pool_size,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        # WAL is a property of the database file, set once. Asking for it again on every new
        # connection takes a lock SQLite may refuse at once (no busy wait) while another
        # connection checkpoints, failing the request that opened the connection.
        if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if immediate:
            _begin_immediate(conn.connection.dbapi_connection)
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _begin_immediate(dbapi_conn: sqlite3.Connection, timeout: float = 30.0) -> None:
    """Take SQLite's write lock, waiting for another process's writer in short steps. SQLite's
    own busy handler backs off to sleeps of 25-100 ms, while a casedesk write holds the lock for
    about a millisecond: waiters would sleep through many free turns (p99 100+ ms)."""
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + timeout
        pause = 0.0002
        while True:
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.005)
    finally:
        dbapi_conn.execute("PRAGMA busy_timeout=30000")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, immediate=True, pool_size=pool_size)
    # No pre-ping: it would cost a round trip per transaction; stale connections are recycled.
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


class _TurnFile:
    """An exclusive ``flock`` on a file beside the database, held by one process at a time.
    The descriptor is opened per process: one inherited across a fork would share its lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)


class Database:
    """The engine(s) of one database and the sessions that run units of work on them."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.dialect = self.engine.dialect.name
        self.read_engine = (
            _sqlite_engine(url, immediate=False, pool_size=pool_size)
            if self.dialect == "sqlite"
            else self.engine
        )
        # A pool of its own, in autocommit from the moment each connection opens: switching a
        # pooled connection's isolation level per checkout costs two driver calls per request.
        self.autocommit_engine = (
            create_engine(
                url,
                isolation_level="AUTOCOMMIT",
                pool_size=max(2, pool_size // 2),
                max_overflow=max(2, pool_size // 2),
                pool_recycle=1800,
            )
            if self.dialect == "postgresql"
            else self.read_engine
        )
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._write_turn = threading.RLock() if self.dialect == "sqlite" else None
        database = self.engine.url.database if self.dialect == "sqlite" else None
        self._turn_file = (
            _TurnFile(f"{database}-writers")
            if fcntl is not None and database and database != ":memory:"
            else None
        )
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        if self._write_turn is None:
            with self._writer() as session, session.begin():
                yield session
            return
        # SQLite has one writer at a time. Threads of this process take turns here, and
        # processes on a lock file, each handed over at once by the kernel, rather than each
        # polling the database lock (``_begin_immediate``, still the fallback for other writers).
        turn_file = self._turn_file or nullcontext()
        with self._write_turn, turn_file, self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    @contextmanager
    def query(self) -> Iterator[Connection]:
        """A connection for one read-only statement, without BEGIN/COMMIT round trips on
        PostgreSQL (autocommit); used on the hot path of every request (token checks)."""
        with self.autocommit_engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        if self.autocommit_engine not in (self.engine, self.read_engine):
            self.autocommit_engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
