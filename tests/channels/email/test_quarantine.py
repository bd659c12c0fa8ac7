"""Nothing lost: unparseable, oversized, stormy and stray automatic mail is quarantined with
its raw bytes and reason, listed for admins and re-processable after a fix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casedesk.channels.email import quarantine
from casedesk.config import parse_config
from casedesk.context import Context
from casedesk.domain.actors import Actor
from casedesk.domain.errors import Conflict
from tests.channels.email.conftest import CONFIG, counts, mime, take

ADMIN = Actor(kind="user", id=1, label="admin@example.com", role="admin", origin="test")


def test_unparseable_bytes_are_held_with_the_reason_and_retries_count_once(ctx: Context) -> None:
    garbage = b"\x00\x01 this is not an e-mail at all"
    first, again = take(ctx, garbage), take(ctx, garbage)
    assert first.outcome == again.outcome == "quarantined"
    assert first.quarantine_id == again.quarantine_id
    [item] = quarantine.list_quarantined(ctx.db)
    assert (item.kind, item.attempts, item.size) == ("unparseable", 2, len(garbage))
    assert quarantine.raw_message(ctx.db, item.id) == garbage
    assert counts(ctx) == (0, 0, 1)


def test_an_oversized_message_is_held_and_taken_in_after_the_limit_is_raised(
    ctx: Context, sink_port: int
) -> None:
    raw = mime(subject="Big logs", body=("x" * 70 + "\n") * 3600)
    held = take(ctx, raw)
    assert held.outcome == "quarantined" and "over the limit" in (held.reason or "")
    [item] = quarantine.list_quarantined(ctx.db)
    assert (item.kind, item.sender, item.subject) == (
        "too_large",
        "Ana Lima <ana@example.com>",
        "Big logs",
    )
    with pytest.raises(Conflict, match="still cannot be taken in"):
        quarantine.reprocess(ctx, item.id, actor=ADMIN)
    bigger = CONFIG.replace("max_message_bytes = 200000", "max_message_bytes = 2000000")
    ctx.config = parse_config(bigger.replace("SINK_PORT", str(sink_port)))
    done = quarantine.reprocess(ctx, item.id, actor=ADMIN)
    assert done.outcome == "created"
    [after] = quarantine.list_quarantined(ctx.db, status=None)
    assert (after.status, after.outcome, after.case_number) == (
        "reprocessed",
        "created",
        done.case_number,
    )
    with pytest.raises(Conflict, match="already re-processed"):
        quarantine.reprocess(ctx, item.id, actor=ADMIN)


def test_a_mail_storm_hits_the_sender_rate_limit_and_loses_nothing(ctx: Context) -> None:
    results = [take(ctx, mime(subject=f"Storm {i}")) for i in range(8)]
    assert [r.outcome for r in results] == ["created"] * 5 + ["quarantined"] * 3
    assert "rate limit" in (results[-1].reason or "")
    assert counts(ctx) == (5, 5, 3)
    other = take(ctx, mime(sender="bo@example.com"))  # other senders are not held back
    assert other.outcome == "created"
    ctx.clock.advance(timedelta(minutes=11))  # type: ignore[attr-defined]
    assert take(ctx, mime(subject="After the storm")).outcome == "created"
    stormy = quarantine.list_quarantined(ctx.db, kind="rate_limited")
    assert len(stormy) == 3
    assert quarantine.reprocess(ctx, stormy[0].id, actor=ADMIN).outcome == "created"


def test_duplicates_do_not_use_up_the_rate(ctx: Context) -> None:
    raw = mime()
    for _ in range(10):
        take(ctx, raw)
    assert take(ctx, mime(subject="another")).outcome == "created"


def test_automatic_mail_about_no_case_is_kept_in_quarantine(ctx: Context) -> None:
    ooo = mime(headers={"Auto-Submitted": "auto-replied"}, subject="Out of office")
    held = take(ctx, ooo)
    assert held.outcome == "quarantined"
    [item] = quarantine.list_quarantined(ctx.db, kind="noise")
    assert "auto-submitted" in item.reason
    with pytest.raises(Conflict):  # still automatic mail about no case
        quarantine.reprocess(ctx, item.id, actor=ADMIN)
    assert counts(ctx) == (0, 0, 1)
