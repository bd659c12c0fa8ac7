"""Full-text search and report support.

Search is kept by the database itself, in the transaction of every write, so no service code
changes: on PostgreSQL generated ``search_vector`` columns (cases: subject A + description B;
messages: body; customers: name and e-mail, split at ``@`` and ``.``) with GIN indexes; on
SQLite FTS5 external-content tables kept by triggers. The SQLite update triggers fire only
``OF`` the indexed columns, so status changes and other case updates never touch the index;
``detail=none`` keeps only which rows hold a word (search asks for words and prefixes, never
phrases), a smaller index that costs less on every write.

Report support: indexes on the case timestamps that reports slice periods by, a partial index
over SLA events (SLA report), an index on ``sla_clocks.started_at`` (SLA report periods), the
tables of ``db/report_tables.py``, and a trigger on ``audit_events`` copying each status change
into ``report_status_changes`` as plain columns (the bottleneck report's source).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

# (table, generated expression) of the PostgreSQL search columns. The two-argument
# to_tsvector is IMMUTABLE, as generated columns require.
PG_VECTORS = {
    "cases": "setweight(to_tsvector('english', coalesce(subject, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'B')",
    "messages": "to_tsvector('english', coalesce(body, ''))",
    "customers": "to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(email, '') || ' ' "
    "|| translate(coalesce(email, ''), '@.', '  '))",
}

# (fts table, content table, rowid column, indexed columns) of the SQLite FTS5 tables.
SQLITE_FTS = (
    ("cases_fts", "cases", "number", ("subject", "description"), "porter unicode61"),
    ("messages_fts", "messages", "id", ("body",), "porter unicode61"),
    ("customers_fts", "customers", "id", ("name", "email"), "unicode61"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_search()
    else:
        _sqlite_search()
    _report_indexes()
    _report_tables()
    _status_changes()


STATUS_COLUMNS = (
    "case_number, event_id, occurred_at, from_status, to_status, reason_code, started_at, "
    "from_reason"
)


def _status_changes() -> None:
    """``report_status_changes``: each status change with the stretch it ends (its ``from``
    status, when that stretch began and the reason code it was entered with) as plain columns,
    written by a trigger on ``audit_events`` in the event's transaction and filled from the
    trail. The trigger reads the case's previous change through the primary key; changes of
    one case are serialised by the case's row lock."""
    op.create_table(
        "report_status_changes",
        sa.Column("case_number", BigId, autoincrement=False, nullable=False),
        sa.Column("event_id", BigId, autoincrement=False, nullable=False),
        sa.Column("occurred_at", When, nullable=False),
        sa.Column("from_status", sa.String(length=40), nullable=True),
        sa.Column("to_status", sa.String(length=40), nullable=True),
        sa.Column("reason_code", sa.String(length=60), nullable=True),
        sa.Column("started_at", When, nullable=False),
        sa.Column("from_reason", sa.String(length=60), nullable=True),
        sa.PrimaryKeyConstraint("case_number", "event_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION casedesk_report_status_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            DECLARE prev_at timestamptz; prev_reason varchar;
            BEGIN
              SELECT occurred_at, reason_code INTO prev_at, prev_reason
                FROM report_status_changes WHERE case_number = NEW.case_number
                ORDER BY event_id DESC LIMIT 1;
              IF NOT FOUND THEN
                SELECT created_at INTO prev_at FROM cases WHERE number = NEW.case_number;
              END IF;
              INSERT INTO report_status_changes ("""
            + STATUS_COLUMNS
            + """)
              VALUES (NEW.case_number, NEW.id, NEW.occurred_at, NEW.data->>'from',
                      NEW.data->>'to', NEW.data->>'reason_code',
                      coalesce(prev_at, NEW.occurred_at), prev_reason);
              RETURN NULL;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_status_change AFTER INSERT ON audit_events "
            "FOR EACH ROW WHEN (NEW.action = 'case.status_changed') "
            "EXECUTE FUNCTION casedesk_report_status_change()"
        )
        fields = (
            "e.data->>'from' AS from_status, e.data->>'to' AS to_status, "
            "e.data->>'reason_code' AS reason_code"
        )
    else:
        last = (
            "(SELECT {col} FROM report_status_changes WHERE case_number = NEW.case_number "
            "ORDER BY event_id DESC LIMIT 1)"
        )
        op.execute(
            "CREATE TRIGGER audit_events_status_change AFTER INSERT ON audit_events "
            "WHEN NEW.action = 'case.status_changed' BEGIN "
            f"INSERT INTO report_status_changes ({STATUS_COLUMNS}) "
            "VALUES (NEW.case_number, NEW.id, NEW.occurred_at, "
            "json_extract(NEW.data, '$.from'), json_extract(NEW.data, '$.to'), "
            "json_extract(NEW.data, '$.reason_code'), "
            f"coalesce({last.format(col='occurred_at')}, "
            "(SELECT created_at FROM cases WHERE number = NEW.case_number), NEW.occurred_at), "
            f"{last.format(col='reason_code')}); END"
        )
        fields = (
            "json_extract(e.data, '$.from') AS from_status, "
            "json_extract(e.data, '$.to') AS to_status, "
            "json_extract(e.data, '$.reason_code') AS reason_code"
        )
    op.execute(
        f"INSERT INTO report_status_changes ({STATUS_COLUMNS}) "
        f"SELECT case_number, event_id, occurred_at, from_status, to_status, reason_code, "
        "coalesce(lag(occurred_at) OVER w, created_at), lag(reason_code) OVER w FROM ("
        f"SELECT e.case_number, e.id AS event_id, e.occurred_at, {fields}, c.created_at "
        "FROM audit_events e JOIN cases c ON c.number = e.case_number "
        "WHERE e.action = 'case.status_changed') changes "
        "WINDOW w AS (PARTITION BY case_number ORDER BY event_id)"
    )


def _pg_search() -> None:
    for table, expression in PG_VECTORS.items():
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({expression}) STORED"
        )
        op.execute(f"CREATE INDEX ix_{table}_search ON {table} USING gin (search_vector)")


def _sqlite_search() -> None:
    for fts, table, key, columns, tokenizer in SQLITE_FTS:
        cols = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', "
            f"content_rowid='{key}', tokenize='{tokenizer}', detail=none)"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.{key}, {new}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.{key}, {old}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.{key}, {old}); "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.{key}, {new}); END"
        )
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _report_indexes() -> None:
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_index("ix_cases_resolved_at", "cases", ["resolved_at"])
    op.create_index("ix_cases_closed_at", "cases", ["closed_at"])
    sla_events = "action IN ('sla.warning', 'sla.breached', 'sla.escalated')"
    op.create_index(
        "ix_audit_sla_events",
        "audit_events",
        ["occurred_at"],
        postgresql_where=sa.text(sla_events),
        sqlite_where=sa.text(sla_events),
    )
    op.create_index("ix_sla_clocks_started_at", "sla_clocks", ["started_at"])


def _report_tables() -> None:
    op.create_table(
        "report_jobs",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("last_run_at", When, nullable=True),
        sa.Column("last_result", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "report_clusters",
        sa.Column("id", BigId, nullable=False),
        sa.Column("computed_at", When, nullable=False),
        sa.Column("window_start", When, nullable=False),
        sa.Column("window_end", When, nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("previous_size", sa.Integer(), nullable=False),
        sa.Column("top_category", sa.String(length=100), nullable=True),
        sa.Column("top_channel", sa.String(length=20), nullable=True),
        sa.Column("cohesion", sa.Float(), nullable=False),
        sa.Column("sample", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "report_cluster_cases",
        sa.Column("cluster_id", BigId, nullable=False),
        sa.Column("case_number", BigId, nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["report_clusters.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cluster_id", "case_number"),
    )
    op.create_index("ix_report_cluster_cases_case_number", "report_cluster_cases", ["case_number"])
    op.create_table(
        "report_calendars",
        sa.Column("calendar_id", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("built_at", When, nullable=False),
        sa.PrimaryKeyConstraint("calendar_id"),
    )
    op.create_table(
        "report_calendar_spans",
        sa.Column("calendar_id", sa.String(length=100), nullable=False),
        sa.Column("start_s", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("end_s", sa.BigInteger(), nullable=False),
        sa.Column("cum_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("calendar_id", "start_s"),
    )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS audit_events_status_change"
        + (" ON audit_events" if op.get_bind().dialect.name == "postgresql" else "")
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS casedesk_report_status_change()")
    op.drop_table("report_status_changes")
    op.drop_table("report_calendar_spans")
    op.drop_table("report_calendars")
    op.drop_index("ix_report_cluster_cases_case_number", table_name="report_cluster_cases")
    op.drop_table("report_cluster_cases")
    op.drop_table("report_clusters")
    op.drop_table("report_jobs")
    op.drop_index("ix_sla_clocks_started_at", table_name="sla_clocks")
    op.drop_index("ix_audit_sla_events", table_name="audit_events")
    op.drop_index("ix_cases_closed_at", table_name="cases")
    op.drop_index("ix_cases_resolved_at", table_name="cases")
    op.drop_index("ix_cases_created_at", table_name="cases")
    if op.get_bind().dialect.name == "postgresql":
        for table in PG_VECTORS:
            op.execute(f"DROP INDEX ix_{table}_search")
            op.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")
    else:
        for fts, *_ in SQLITE_FTS:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER {fts}_{suffix}")
            op.execute(f"DROP TABLE {fts}")
