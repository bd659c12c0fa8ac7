"""The worker: one pass runs every job; the loop runs beside the server; ``casedesk worker``."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casedesk import worker
from casedesk.cli import app
from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.services import cases, sla
from casedesk.services.sla_ledger import all_rows
from tests.conftest import SETUP
from tests.sla.conftest import SLA_CONFIG, H, M


@pytest.fixture
def config() -> AppConfig:
    return parse_config(SLA_CONFIG)


def _urgent(ctx: Context) -> int:
    case = cases.create_case(
        ctx.db,
        ctx.config,
        cases.NewCase(subject="Site down", priority="urgent"),
        actor=SETUP,
        now=ctx.clock.now(),
    )
    return case.number


def test_one_pass_runs_the_sla_outbox_and_auto_close_jobs(ctx: Context) -> None:
    number = _urgent(ctx)
    ctx.clock.advance(50 * M)  # type: ignore[attr-defined]
    done = worker.run_once(ctx)
    assert done["sla_sweep"] == 2  # the 75 % warning and escalation level 0
    assert done["auto_close"] == 0
    assert done["deliver_outbox"] == 0  # the hooks' variables are not set: retried later
    with ctx.db.read() as s:
        (first,) = [r for r in all_rows(s, number) if r.metric == "first_response"]
    assert set(first.fired) == {"warn:0.75", "esc:urgent:0"}


def test_the_embedded_worker_runs_in_a_thread(ctx: Context) -> None:
    number = _urgent(ctx)
    ctx.clock.advance(2 * H)  # type: ignore[attr-defined]
    stop = worker.start_in_thread(ctx, interval=0.05)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            clocks = sla.ledger_of(ctx, number)
            if any(
                c["breached"] and "breach" in {f["checkpoint"] for f in c["fired"]} for c in clocks
            ):
                break
            time.sleep(0.05)
        else:  # pragma: no cover
            pytest.fail("the embedded worker did not sweep")
    finally:
        stop.set()


def test_worker_once_command(ctx: Context, tmp_path: Path) -> None:
    file = tmp_path / "casedesk.toml"
    file.write_text(SLA_CONFIG, encoding="utf-8")
    env = {"CASEDESK_DATABASE_URL": ctx.settings.database_url, "CASEDESK_CONFIG": str(file)}
    result = CliRunner().invoke(app, ["worker", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "sla_sweep" in result.stdout and "deliver_outbox" in result.stdout
    # the team named by an escalation does not exist in this database
    assert "assign_team 'tier2' is not a team" in result.stderr.replace("\n", "")


def test_a_slow_job_never_holds_up_the_sla_sweep(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clustering a large data set takes seconds; SLA warnings must not wait for it."""
    release = threading.Event()
    started = threading.Event()

    def clustering(_: Context) -> int:
        started.set()
        release.wait(30)
        return 0

    monkeypatch.setattr(worker, "SLOW_JOBS", [("refresh_clusters", clustering)])
    number = _urgent(ctx)
    stop = worker.start_in_thread(ctx, interval=0.05)
    try:
        assert started.wait(10)
        ctx.clock.advance(2 * H)  # due only now, while the slow job runs
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            clocks = sla.ledger_of(ctx, number)
            if any("breach" in {f["checkpoint"] for f in c["fired"]} for c in clocks):
                break
            time.sleep(0.05)
        else:  # pragma: no cover
            pytest.fail("the SLA sweep waited for the slow job")
        assert not release.is_set()  # the slow job was still running all along
    finally:
        release.set()
        stop.set()
