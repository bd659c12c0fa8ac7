"""Engines and units of work.

``Database.write()`` opens one transaction for one use case. On SQLite it begins with
``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead of failing when a read
transaction upgrades; ``Database.read()`` uses a separate engine with plain deferred
transactions so readers never wait for writers (WAL). On PostgreSQL both use one pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


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
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, immediate=True, pool_size=pool_size)
    # No pre-ping: it would cost a round trip per transaction; stale connections are recycled.
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


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
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._writer() as session, session.begin():
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
