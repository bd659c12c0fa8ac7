"""The audit trail is append-only in the database and any tampering is found by verify."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from casedesk.cli import app as cli
from casedesk.clock import FixedClock
from casedesk.context import Context
from casedesk.domain.actors import Actor
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import audit, cases

AGENT = Actor(kind="user", id=1, label="agent@example.com", role="agent", origin="token:t")


def _history(ctx: Context, n_cases: int = 3) -> None:
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    for i in range(n_cases):
        case = cases.create_case(
            ctx.db,
            ctx.config,
            cases.NewCase(subject=f"case {i}"),
            actor=AGENT,
            now=clock.advance(timedelta(minutes=1)),
        )
        cases.update_case(
            ctx.db,
            ctx.config,
            case.number,
            {"priority": "high"},
            actor=AGENT,
            now=clock.advance(timedelta(minutes=1)),
        )
        cases.transition_case(
            ctx.db,
            ctx.config,
            case.number,
            "in_progress",
            TransitionRequest(),
            actor=AGENT,
            now=clock.advance(timedelta(minutes=1)),
        )


def _raw(ctx: Context, sql: str, **params: object) -> None:
    with ctx.db.engine.begin() as conn:
        conn.execute(text(sql), params)


def _drop_triggers(ctx: Context) -> None:
    """What someone with database rights could do before tampering."""
    if ctx.db.is_postgresql:
        _raw(ctx, "DROP TRIGGER audit_events_append_only ON audit_events")
        _raw(ctx, "DROP TRIGGER audit_seals_append_only ON audit_seals")
    else:
        for name in (
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_seals_no_update",
            "audit_seals_no_delete",
        ):
            _raw(ctx, f"DROP TRIGGER {name}")


def test_intact_history_verifies_and_every_change_is_recorded(ctx: Context) -> None:
    _history(ctx)
    assert audit.seal(ctx.db, now=ctx.clock.now()) == 9
    result = audit.verify(ctx.db)
    assert result.ok, result.breaks
    assert (result.events, result.seals) == (9, 9)


def test_database_refuses_update_and_delete_of_events(ctx: Context) -> None:
    _history(ctx, 1)
    audit.seal(ctx.db, now=ctx.clock.now())
    for sql in (
        "UPDATE audit_events SET actor_label = 'someone-else'",
        "DELETE FROM audit_events",
        "UPDATE audit_seals SET hash = 'x'",
        "DELETE FROM audit_seals",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            _raw(ctx, sql)
    assert audit.verify(ctx.db).ok


@pytest.mark.parametrize("sealed", [True, False])
def test_edited_event_is_named_even_with_triggers_dropped(ctx: Context, sealed: bool) -> None:
    _history(ctx)
    if sealed:
        audit.seal(ctx.db, now=ctx.clock.now())
    _drop_triggers(ctx)
    _raw(ctx, "UPDATE audit_events SET actor_label = 'mallory' WHERE id = 5")
    result = audit.verify(ctx.db)
    assert not result.ok
    assert result.first is not None and result.first.event_id == 5
    assert "altered" in str(result.first)


def test_deleted_event_is_found(ctx: Context) -> None:
    _history(ctx)
    audit.seal(ctx.db, now=ctx.clock.now())
    _drop_triggers(ctx)
    _raw(ctx, "DELETE FROM audit_events WHERE id = 4")
    result = audit.verify(ctx.db)
    assert not result.ok
    messages = " | ".join(str(b) for b in result.breaks)
    assert "event 4" in messages and "deleted" in messages


def test_deleting_the_newest_event_of_a_case_is_found_once_sealed(ctx: Context) -> None:
    _history(ctx)
    audit.seal(ctx.db, now=ctx.clock.now())
    _drop_triggers(ctx)
    _raw(ctx, "DELETE FROM audit_events WHERE id = 9")
    result = audit.verify(ctx.db)
    assert not result.ok and result.first is not None and result.first.event_id == 9


def test_event_inserted_into_the_middle_of_a_chain_is_found(ctx: Context) -> None:
    _history(ctx)
    audit.seal(ctx.db, now=ctx.clock.now())
    _drop_triggers(ctx)
    # Shift case 1's later events up and slip a forged one in at seq 2.
    _raw(ctx, "UPDATE audit_events SET seq = seq + 10 WHERE scope = 'case:1' AND seq >= 2")
    _raw(
        ctx,
        "INSERT INTO audit_events (scope, seq, case_number, action, actor_kind, actor_id, "
        "actor_label, origin, data, occurred_at, prev_hash, hash) SELECT scope, 2, "
        "case_number, 'case.updated', actor_kind, actor_id, actor_label, origin, data, "
        "occurred_at, hash, hash FROM audit_events WHERE scope = 'case:1' AND seq = 1",
    )
    result = audit.verify(ctx.db)
    assert not result.ok


def test_out_of_order_insert_with_valid_looking_chain_is_found_by_seals(ctx: Context) -> None:
    _history(ctx, 1)
    audit.seal(ctx.db, now=ctx.clock.now())
    _drop_triggers(ctx)
    # Replace the whole case chain by a forged but self-consistent one: the seals disagree.
    _raw(ctx, "DELETE FROM audit_events WHERE scope = 'case:1' AND seq = 3")
    with ctx.db.write() as s:
        audit.record(
            s,
            scope="case:1",
            case_number=1,
            action="case.status_changed",
            actor=AGENT,
            now=ctx.clock.now(),
            data={"from": "open", "to": "closed"},
        )
    result = audit.verify(ctx.db)
    assert not result.ok
    assert any("deleted" in str(b) or "differs" in str(b) for b in result.breaks)


def test_export_carries_hashes_and_reverifies_offline(ctx: Context) -> None:
    _history(ctx)
    audit.seal(ctx.db, now=ctx.clock.now())
    buffer = io.StringIO()
    assert audit.write_export(audit.export_rows(ctx.db), buffer, "jsonl") == 9
    lines = buffer.getvalue().splitlines()
    first = json.loads(lines[0])
    assert {"hash", "prev_hash", "seal_seq", "seal_hash", "occurred_at"} <= set(first)
    assert audit.verify_export(iter(lines)) == []
    tampered = json.loads(lines[1])
    tampered["data"] = {"changes": {"priority": {"before": "normal", "after": "low"}}}
    lines[1] = json.dumps(tampered)
    breaks = audit.verify_export(iter(lines))
    assert breaks and breaks[0].event_id == tampered["id"]


def test_export_of_a_time_range_verifies_as_a_partial_chain(ctx: Context) -> None:
    _history(ctx)
    start = ctx.clock.now() - timedelta(minutes=4)
    buffer = io.StringIO()
    count = audit.write_export(audit.export_rows(ctx.db, since=start), buffer, "jsonl")
    assert 0 < count < 9
    assert audit.verify_export(iter(buffer.getvalue().splitlines())) == []


def test_cli_verify_and_export(ctx: Context, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _history(ctx)
    monkeypatch.setenv("CASEDESK_DATABASE_URL", ctx.settings.database_url)
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output
    out = tmp_path / "trail.csv"
    exported = runner.invoke(cli, ["audit", "export", "--format", "csv", "--output", str(out)])
    assert exported.exit_code == 0
    assert out.read_text().count("\n") == 10  # header + 9 events
    jsonl = tmp_path / "trail.jsonl"
    runner.invoke(cli, ["audit", "export", "--output", str(jsonl)])
    assert runner.invoke(cli, ["audit", "verify", "--file", str(jsonl)]).exit_code == 0
    _drop_triggers(ctx)
    _raw(ctx, "UPDATE audit_events SET data = '{}' WHERE id = 2")
    bad = runner.invoke(cli, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "event 2" in bad.output
