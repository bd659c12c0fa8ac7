"""Pure SLA rules: escalation moments, checkpoints, clock moves and policy matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casedesk.domain import sla_clock as clocks
from casedesk.domain.escalation import (
    EscalationLevel,
    Trigger,
    checkpoints,
    due_now,
    next_moment,
    parse_trigger,
    raised_priority,
)
from casedesk.domain.lifecycle import Problem
from casedesk.domain.sla import Calendar, calendar_from_config, elapsed_with_pauses
from casedesk.domain.sla_clock import Clock
from casedesk.domain.sla_policy import (
    DEFAULT_POLICIES,
    case_facts,
    policies_from_config,
    select_policy,
)

H = timedelta(hours=1)
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
OFFICE = calendar_from_config(
    {"id": "office", "timezone": "Europe/London", "hours": {"mon-fri": ["09:00-17:00"]}}
)


@pytest.mark.parametrize(
    ("text", "fraction", "offset", "label"),
    [
        ("warn:0.75", 0.75, timedelta(0), "warn:0.75"),
        (" WARN:0.9 ", 0.9, timedelta(0), "warn:0.9"),
        ("breach", 1.0, timedelta(0), "breach"),
        ("breach+30m", 1.0, timedelta(minutes=30), "breach+30m"),
        ("breach + 1h30m", 1.0, timedelta(minutes=90), "breach+1h30m"),
    ],
)
def test_triggers(text: str, fraction: float, offset: timedelta, label: str) -> None:
    assert parse_trigger(text) == Trigger(label, fraction, offset)


@pytest.mark.parametrize("text", ["warn:1.5", "warn:0", "warn:x", "late", "breach+0m", "breach-5m"])
def test_bad_triggers_say_what_to_write(text: str) -> None:
    with pytest.raises(ValueError, match=r"warn|breach|offset|fraction|duration"):
        parse_trigger(text)


@pytest.mark.parametrize(
    ("current", "rule", "expected"),
    [
        ("low", "+1", "normal"),
        ("urgent", "+1", "urgent"),
        ("low", "high", "high"),
        ("urgent", "high", "urgent"),
    ],
)
def test_raised_priority(current: str, rule: str, expected: str) -> None:
    assert raised_priority(current, rule) == expected


LEVELS = (
    EscalationLevel(0, parse_trigger("warn:0.75"), notify=("x",)),
    EscalationLevel(1, parse_trigger("breach"), metrics=frozenset({"resolution"}), notify=("x",)),
    EscalationLevel(2, parse_trigger("breach+30m"), notify=("y",)),
)


def test_checkpoints_in_order_with_levels_of_the_metric_only() -> None:
    points = checkpoints(
        policy_id="p", metric="first_response", target=4 * H, warn_at=(0.75, 0.9), levels=LEVELS
    )
    assert [(p.key, p.elapsed) for p in points] == [
        ("warn:0.75", 3 * H),
        ("esc:p:0", 3 * H),
        ("warn:0.9", timedelta(hours=3.6)),
        ("breach", 4 * H),
        ("esc:p:2", 4 * H + timedelta(minutes=30)),
    ]


def test_due_now_skips_stale_warnings_when_the_breach_is_due() -> None:
    points = checkpoints(
        policy_id="p", metric="resolution", target=4 * H, warn_at=(0.75, 0.9), levels=LEVELS
    )
    fire, skip = due_now(points, set(), 5 * H)
    assert [p.key for p in fire] == ["esc:p:0", "breach", "esc:p:1", "esc:p:2"]
    assert [p.key for p in skip] == ["warn:0.75", "warn:0.9"]
    fire, skip = due_now(points, {"warn:0.75", "esc:p:0"}, timedelta(hours=3.7))
    assert ([p.key for p in fire], skip) == (["warn:0.9"], [])
    assert due_now(points, {p.key for p in points}, 100 * H) == ([], [])


def test_next_moment_on_a_business_calendar() -> None:
    points = checkpoints(policy_id="p", metric="m", target=4 * H, warn_at=(0.75,), levels=())
    friday = datetime(2026, 1, 9, 16, tzinfo=UTC)
    assert next_moment(OFFICE, friday, [], points, set(), friday) == datetime(
        2026, 1, 12, 11, tzinfo=UTC
    )
    assert next_moment(OFFICE, friday, [], points, {"warn:0.75"}, friday) == datetime(
        2026, 1, 12, 12, tzinfo=UTC
    )
    assert next_moment(OFFICE, friday, [], points, {"warn:0.75", "breach"}, friday) is None


def _clock(target: timedelta = 4 * H) -> Clock:
    return Clock("first_response", 1, "p", "office", target, T0)


def test_pause_resume_and_stop() -> None:
    clock = clocks.paused(_clock(), T0 + H, "on_hold", "third_party")
    assert clocks.schedule(clock, OFFICE, [], T0 + 2 * H) == (None, None)
    assert clocks.elapsed(clock, OFFICE, T0 + 5 * H) == H
    clock = clocks.resumed(clock, T0 + 24 * H)  # Tuesday 09:00
    due, _ = clocks.schedule(clock, OFFICE, [], T0 + 24 * H)
    assert due == T0 + 27 * H
    done = clocks.stopped(clock, OFFICE, T0 + 28 * H)  # an hour late
    assert done.state == "met" and done.breached_at == T0 + 27 * H
    assert clocks.breach_amount(done, OFFICE, T0 + 100 * H) == H
    assert clocks.stopped(done, OFFICE, T0 + 50 * H) is done


def test_segments_explain_the_elapsed_time() -> None:
    clock = clocks.paused(_clock(), T0 + H, "on_hold", None)
    clock = clocks.resumed(clock, T0 + 2 * H)
    clock = clocks.stopped(clock, OFFICE, T0 + 4 * H)
    segments = clocks.segments(clock, OFFICE, T0 + 10 * H)
    assert [(s["kind"], s["business_seconds"]) for s in segments] == [
        ("running", 3600),
        ("paused", 3600),
        ("running", 7200),
    ]
    running = sum(s["business_seconds"] for s in segments if s["kind"] == "running")
    assert timedelta(seconds=running) == clocks.elapsed(clock, OFFICE, T0 + 10 * H)


moments = st.integers(min_value=0, max_value=60 * 24 * 21).map(lambda m: T0 + timedelta(minutes=m))


@settings(max_examples=150, deadline=None)
@given(
    target_minutes=st.integers(min_value=1, max_value=60 * 40),
    cuts=st.lists(st.integers(min_value=1, max_value=60 * 24 * 10), min_size=0, max_size=6),
)
def test_due_time_is_when_the_elapsed_time_reaches_the_target(
    target_minutes: int, cuts: list[int]
) -> None:
    """Pausing and resuming at arbitrary moments never loses or invents working time: the
    clock's due time is exactly where the elapsed business time reaches the target."""
    target = timedelta(minutes=target_minutes)
    clock = _clock(target)
    now = T0
    for i, minutes in enumerate(sorted(set(cuts))):
        now = T0 + timedelta(minutes=minutes)
        clock = (
            clocks.paused(clock, now, "on_hold", None) if i % 2 == 0 else clocks.resumed(clock, now)
        )
    clock = clocks.resumed(clock, now)
    due, _ = clocks.schedule(clock, OFFICE, [], now)
    assert due is not None
    assert elapsed_with_pauses(OFFICE, T0, due, clock.spans()) == target
    if due > now:
        assert clocks.elapsed(clock, OFFICE, now) < target


def test_policy_matching_is_ordered_and_needs_every_condition() -> None:
    problems: list[Problem] = []
    policies = policies_from_config(
        [
            {
                "id": "vip-urgent",
                "when": {"priority": ["urgent"], "customer_domain": ["bigco.com"]},
                "targets": {"first_response": "15m"},
            },
            {
                "id": "enterprise",
                "when": {"custom_fields": {"plan": ["Enterprise"]}, "tags": ["vip"]},
                "targets": {"first_response": "1h"},
            },
            {"id": "rest", "targets": {"first_response": "8h"}},
        ],
        calendars=[],
        destinations=[],
        problems=problems,
    )
    assert problems == []

    def facts(**kw: object) -> dict[str, object]:
        base: dict[str, object] = dict(
            priority="urgent",
            channel="email",
            category=None,
            team=None,
            tags=(),
            customer_email="ann@BigCo.com",
            custom_fields={},
        )
        base.update(kw)
        return case_facts(**base)  # type: ignore[arg-type]

    assert select_policy(policies, facts()).id == "vip-urgent"  # type: ignore[union-attr]
    assert select_policy(policies, facts(priority="high")).id == "rest"  # type: ignore[union-attr]
    enterprise = facts(priority="high", tags=("vip",), custom_fields={"plan": "enterprise"})
    assert select_policy(policies, enterprise).id == "enterprise"  # type: ignore[union-attr]


def test_built_in_policies_cover_every_priority() -> None:
    for priority in ("low", "normal", "high", "urgent"):
        facts = case_facts(
            priority=priority,
            channel="api",
            category=None,
            team=None,
            tags=(),
            customer_email=None,
            custom_fields=None,
        )
        policy = select_policy(DEFAULT_POLICIES, facts)
        assert policy is not None and policy.calendar == "24x7"
        assert set(policy.targets) == {"first_response", "next_response", "resolution"}
    normal = next(p for p in DEFAULT_POLICIES if p.id == "default-normal")
    assert normal.targets["first_response"].duration == 8 * H
    assert normal.targets["resolution"].duration == timedelta(days=5)


def test_always_calendar_is_continuous() -> None:
    assert Calendar.always().continuous
