"""``casedesk bench generate``: a small run gives realistic, consistent data with intact audit
chains, on both engines, and the database keeps working normally afterwards."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from casedesk import datagen
from casedesk.cli import app
from casedesk.clock import FixedClock
from casedesk.context import Context
from casedesk.db.sla_tables import SlaClock
from casedesk.db.tables import AuditEvent, Case, Customer, Message
from casedesk.services import audit, cases, reports, search
from tests.conftest import SETUP


def test_a_small_data_set_is_consistent(ctx: Context) -> None:
    assert datagen.generate(ctx, cases=400, seed=3) == 400
    result = audit.verify(ctx.db)
    assert result.ok, result.first
    assert result.events == result.seals  # every generated event is sealed
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 400
        assert s.scalar(select(func.count()).select_from(Customer)) == 400 // 3
        assert s.scalar(select(func.count()).select_from(Message)) >= 400
        statuses = Counter(s.execute(select(Case.status)).scalars())
        changes = s.scalar(select(func.count()).where(AuditEvent.action == "case.status_changed"))
        clocks = s.scalar(select(func.count()).select_from(SlaClock))
    assert {"closed", "resolved", "in_progress"} <= set(statuses), statuses
    assert changes and changes > 400
    assert clocks == 800
    # The key sequences continue after the generated rows.
    number = cases.create_case(
        ctx.db, ctx.config, cases.NewCase(subject="after"), actor=SETUP, now=ctx.clock.now()
    ).number
    assert number == 401
    assert audit.verify(ctx.db).ok
    # Searchable (the triggers / generated columns saw every row) and reportable.
    assert search.search(ctx.db, ctx.config, "catalogue sync").hits
    q = reports.parse_query({}, now=ctx.clock.now())
    assert reports.run(ctx, "bottlenecks", q).tables["time_in_status"].rows


def test_the_same_seed_gives_the_same_data() -> None:
    first = [rows.cases for rows in datagen.chunks(_plan(cases=50, seed=9))]
    again = [rows.cases for rows in datagen.chunks(_plan(cases=50, seed=9))]
    assert first == again
    assert first != [rows.cases for rows in datagen.chunks(_plan(cases=50, seed=10))]


def _plan(*, cases: int, seed: int) -> datagen.Plan:
    from casedesk.datagen_rows import Head, Ids, Staff
    from casedesk.datagen_times import sqlite_ts

    staff = Staff(
        {t: i for i, t in enumerate(("tier1", "tier2", "partners", "billing"), 1)},
        {t: [(1, "a@x.example")] for t in ("tier1", "tier2", "partners", "billing")},
    )
    return datagen.Plan(
        cases=cases,
        seed=seed,
        now=int(FixedClock().now().timestamp()),
        staff=staff,
        ts=sqlite_ts,
        ids=Ids(1, 1, 1, 1, 1),
        head=Head(0, "0" * 64),
    )


def test_the_cli(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEDESK_DATABASE_URL", ctx.settings.database_url)
    result = CliRunner().invoke(app, ["bench", "generate", "--cases", "30"])
    assert result.exit_code == 0, result.output
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 30
