"""Bulk writers for ``casedesk bench generate``: PostgreSQL ``COPY ... FROM STDIN`` through
psycopg, SQLite ``executemany`` in one large transaction per chunk.

On PostgreSQL a large load into an empty database drops the plain indexes of the tables it
fills (keeping their definitions) and builds them once at the end, far cheaper than growing
them row by row; then it resets the key sequences and refreshes planner statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from casedesk.datagen_rows import CaseRows, Ids
from casedesk.db.session import Database

COLUMNS = {
    "customers": ("id", "name", "email", "phone", "external_ref", "created_at"),
    "cases": (
        "number",
        "subject",
        "description",
        "channel",
        "customer_id",
        "priority",
        "category",
        "custom_fields",
        "team_id",
        "assignee_id",
        "status",
        "status_category",
        "hold_reason_code",
        "hold_reason",
        "resolution",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "last_customer_activity_at",
        "reopen_count",
    ),
    "case_tags": ("case_number", "tag"),
    "messages": (
        "id",
        "case_number",
        "visibility",
        "author_kind",
        "author_user_id",
        "author_customer_id",
        "author_name",
        "channel",
        "body",
        "created_at",
    ),
    "audit_events": (
        "id",
        "scope",
        "seq",
        "case_number",
        "action",
        "actor_kind",
        "actor_id",
        "actor_label",
        "origin",
        "data",
        "occurred_at",
        "prev_hash",
        "hash",
    ),
    "audit_seals": ("seq", "event_id", "event_hash", "prev_hash", "hash", "sealed_at"),
    "sla_clocks": (
        "id",
        "case_number",
        "metric",
        "cycle",
        "policy_id",
        "calendar_id",
        "target_seconds",
        "started_at",
        "state",
        "due_at",
        "next_check_at",
        "met_at",
        "stopped_by",
        "breached_at",
        "breach_seconds",
        "pauses",
        "fired",
        "history",
        "updated_at",
    ),
}
ORDER = (
    ("customers", "customers"),
    ("cases", "cases"),
    ("case_tags", "tags"),
    ("messages", "messages"),
    ("audit_events", "events"),
    ("audit_seals", "seals"),
    ("sla_clocks", "clocks"),
)
BIG_LOAD = 20_000  # cases: a load this big into a (nearly) empty database rebuilds indexes
EMPTY = 1_000  # cases already there below which the database counts as empty


class Writer:
    def chunk(self, rows: CaseRows) -> None:
        raise NotImplementedError

    def finish(self, ids: Ids) -> None:
        raise NotImplementedError


class PgWriter(Writer):
    def __init__(self, db: Database) -> None:
        self.raw = db.engine.raw_connection()
        self.conn: Any = self.raw.driver_connection
        assert self.conn is not None
        self.conn.execute("SET synchronous_commit = off")
        self.dropped: list[tuple[str, str]] = []  # (name, CREATE INDEX statement)

    def drop_indexes(self) -> None:
        """Drop the plain (non-constraint) indexes of the loaded tables, keeping their
        definitions: building them once after the load is several times quicker than
        growing them row by row, GIN full-text indexes most of all."""
        found = self.conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = 'public' "
            "AND tablename = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            ([table for table, _ in ORDER],),
        ).fetchall()
        for name, definition in found:
            self.conn.execute(f'DROP INDEX IF EXISTS "{name}"')
            self.dropped.append((name, definition))
        self.conn.commit()

    def chunk(self, rows: CaseRows) -> None:
        with self.conn.cursor() as cur:
            for table, attr in ORDER:
                values = getattr(rows, attr)
                if not values:
                    continue
                cols = ", ".join(COLUMNS[table])
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
        self.conn.commit()

    def restore_indexes(self) -> None:
        conn = self.conn
        conn.rollback()
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in self.dropped:
            conn.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        conn.commit()
        self.dropped = []

    def finish(self, ids: Ids) -> None:
        conn = self.conn
        self.restore_indexes()
        for table, key in (
            ("cases", "number"),
            ("customers", "id"),
            ("messages", "id"),
            ("audit_events", "id"),
            ("sla_clocks", "id"),
        ):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), "
                f"(SELECT coalesce(max({key}), 1) FROM {table}))"
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        conn.autocommit = False

    def close(self) -> None:
        self.raw.close()


class SqliteWriter(Writer):
    def __init__(self, db: Database) -> None:
        self.raw = db.engine.raw_connection()
        self.conn: Any = self.raw.driver_connection

    def chunk(self, rows: CaseRows) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table, attr in ORDER:
                values = getattr(rows, attr)
                if values:
                    cols = COLUMNS[table]
                    marks = ", ".join("?" * len(cols))
                    conn.executemany(
                        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", values
                    )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def finish(self, ids: Ids) -> None:
        # cases is AUTOINCREMENT: keep its sequence past the numbers written here.
        top = ids.case - 1
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'cases'", (top,))
        conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'cases', ? "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'cases')",
            (top,),
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")

    def close(self) -> None:
        self.raw.close()


@contextmanager
def open_writer(db: Database, *, cases: int = 0) -> Iterator[Writer]:
    writer: PgWriter | SqliteWriter = PgWriter(db) if db.is_postgresql else SqliteWriter(db)
    try:
        if isinstance(writer, PgWriter) and cases >= BIG_LOAD and _few_cases(writer):
            writer.drop_indexes()
        yield writer
    finally:
        if isinstance(writer, PgWriter) and writer.dropped:
            writer.restore_indexes()  # a load that failed half-way still leaves search working
        writer.close()


def _few_cases(writer: PgWriter) -> bool:
    count = writer.conn.execute("SELECT count(*) FROM (SELECT 1 FROM cases LIMIT %s) c", (EMPTY,))
    empty = int(count.fetchone()[0]) < EMPTY
    writer.conn.commit()
    return empty
