"""The migrations build every index the table models declare (the queue's filters rely on
them), and the latest one can be undone and redone, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect

from casedesk.db.migrate import alembic_config
from casedesk.db.schema import metadata


def _indexes(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        found = inspect(engine)
        return {t: {i["name"] or "" for i in found.get_indexes(t)} for t in found.get_table_names()}
    finally:
        engine.dispose()


def test_every_declared_index_exists_after_upgrade(db_url: str) -> None:
    present = _indexes(db_url)
    missing = [
        f"{table.name}.{index.name}"
        for table in metadata.sorted_tables
        for index in table.indexes
        if index.name not in present.get(table.name, set())
    ]
    assert missing == []


def test_the_status_category_index_downgrades_and_upgrades(db_url: str) -> None:
    command.downgrade(alembic_config(db_url), "0008")
    assert "ix_cases_status_category_number" not in _indexes(db_url)["cases"]
    command.upgrade(alembic_config(db_url), "head")
    assert "ix_cases_status_category_number" in _indexes(db_url)["cases"]
