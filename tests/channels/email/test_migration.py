"""Migration 0003 (the e-mail tables) runs down and up again on SQLite and PostgreSQL, and
matches the table definitions."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from casedesk.db import channel_tables
from casedesk.db.migrate import alembic_config
from casedesk.db.schema import metadata

TABLES = {t.name for t in channel_tables.Base.metadata.sorted_tables if t.name.startswith("email_")}


def test_the_email_tables_match_and_migrate_down_and_up(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        mine = [d for d in diff if any(name in str(d) for name in TABLES)]
        assert mine == []
        config = alembic_config(db_url)
        command.downgrade(config, "0002")
        command.upgrade(config, "head")
        with engine.connect() as conn:
            names = set(engine.dialect.get_table_names(conn))
        assert names >= TABLES
    finally:
        engine.dispose()
