"""Migrations 0007 and 0008 build exactly the tables of ``db/contact_tables.py`` and can be
undone, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from casedesk.db.migrate import alembic_config
from casedesk.db.schema import metadata

TABLES = {"chat_sessions", "phone_calls", "portal_links", "customer_credentials"}


def _touches_ours(diff: object) -> bool:
    return any(name in repr(diff) for name in TABLES)


def test_migration_matches_the_tables_and_downgrades(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diffs if _touches_ours(d)] == []
        command.downgrade(alembic_config(db_url), "0006")
        assert not TABLES & set(inspect(engine).get_table_names())
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                found = conn.execute(
                    text("SELECT count(*) FROM pg_proc WHERE proname = 'casedesk_chat_notify'")
                ).scalar()
            assert found == 0
        command.upgrade(alembic_config(db_url), "head")
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
