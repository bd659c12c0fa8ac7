"""Migration 0005 (console sessions, failed sign-ins, saved views, the SLA queue index) goes
down and up again on both engines, and its tables match the models."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import create_engine, inspect

from casedesk.db.migrate import alembic_config

TABLES = ("web_sessions", "login_failures", "saved_views")


def test_down_to_0004_and_up_again(db_url: str) -> None:
    config = alembic_config(db_url)
    command.downgrade(config, "0004")
    engine = create_engine(db_url)
    try:
        names = set(inspect(engine).get_table_names())
        assert not names & set(TABLES)
        sla_indexes = {i["name"] for i in inspect(engine).get_indexes("sla_clocks")}
        assert "ix_sla_clocks_console_due" not in sla_indexes
    finally:
        engine.dispose()
    command.upgrade(config, "head")
    engine = create_engine(db_url)
    try:
        insp: Any = inspect(engine)
        assert set(TABLES) <= set(insp.get_table_names())
        assert {i["name"] for i in insp.get_indexes("web_sessions")} >= {
            "ix_web_sessions_principal"
        }
        assert {i["name"] for i in insp.get_indexes("login_failures")} >= {
            "ix_login_failures_email_at",
            "ix_login_failures_ip_at",
        }
        assert "ix_sla_clocks_console_due" in {i["name"] for i in insp.get_indexes("sla_clocks")}
        from casedesk.db.ui_tables import LoginFailure, SavedView, WebSession

        for model in (WebSession, LoginFailure, SavedView):
            columns = {c["name"] for c in insp.get_columns(model.__tablename__)}
            assert columns == {c.name for c in model.__table__.columns}, model.__tablename__
    finally:
        engine.dispose()
