"""Escalation paths and the checkpoints of an SLA clock: pure rules, no database or wall clock.

A policy's metric (say ``first_response`` with a 4h target) has *checkpoints*: moments measured
in elapsed business time since its clock started. Each is fired at most once per case, metric
and cycle; the ledger remembers fired checkpoints by ``key``:

- ``warn:0.75``: a warning at 75 % of the target (from ``warn_at``);
- ``breach``: the target is reached;
- ``esc:<policy>:<n>``: escalation level ``n`` of the policy, due at ``warn:X``, ``breach`` or
  ``breach+<duration>`` (the offset is business time on the metric's calendar, like the target).

Keys of warnings and the breach do not name the policy, so a case whose priority changes does not
get a second warning for the same threshold; escalation keys do, so a new policy's path runs.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from casedesk.domain.case_fields import PRIORITIES
from casedesk.domain.durations import format_duration, parse_duration
from casedesk.domain.lifecycle import Problem
from casedesk.domain.sla import Calendar, Pause, due_with_pauses

Path = tuple[str | int, ...]
METRICS = ("first_response", "next_response", "resolution")
LEVEL_KEYS = (
    "at",
    "metrics",
    "notify",
    "assign_team",
    "assign_user",
    "raise_priority",
    "add_tag",
)
_TRIGGER = re.compile(r"^(?:warn:(?P<warn>[0-9.]+)|breach(?:\s*\+\s*(?P<offset>[0-9a-z ]+))?)$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_\-:.]{0,59}$")


@dataclass(frozen=True)
class Trigger:
    """When a level is due: ``fraction`` of the target plus ``offset`` business time."""

    text: str
    fraction: float
    offset: timedelta = timedelta(0)

    def elapsed(self, target: timedelta) -> timedelta:
        return target * self.fraction + self.offset


def parse_trigger(text: str) -> Trigger:
    """``"warn:0.75"``, ``"breach"`` or ``"breach+30m"``; ``ValueError`` says what to write."""
    compact = str(text).strip().lower()
    match = _TRIGGER.match(compact)
    hint = 'write "warn:0.75", "breach" or "breach+30m"'
    if match is None:
        raise ValueError(f"{text!r} is not a moment; {hint}")
    if match.group("warn") is not None:
        try:
            fraction = float(match.group("warn"))
        except ValueError:
            raise ValueError(f"{text!r}: the warning fraction is not a number; {hint}") from None
        if not 0 < fraction < 1:
            raise ValueError(f"{text!r}: a warning is a fraction between 0 and 1, e.g. warn:0.75")
        return Trigger(f"warn:{fraction:g}", fraction)
    offset = parse_duration(match.group("offset")) if match.group("offset") else timedelta(0)
    if match.group("offset") and not offset:
        raise ValueError(f"{text!r}: the offset after the breach must be more than zero")
    label = f"breach+{format_duration(offset)}" if offset else "breach"
    return Trigger(label, 1.0, offset)


@dataclass(frozen=True)
class EscalationLevel:
    """One rung of a policy's escalation path and the actions it takes."""

    index: int
    at: Trigger
    metrics: frozenset[str] | None = None  # None: every metric of the policy
    notify: tuple[str, ...] = ()
    assign_team: str | None = None
    assign_user: str | None = None
    raise_priority: str | None = None  # "+1" (one step) or the priority to raise to
    add_tags: tuple[str, ...] = ()

    def applies_to(self, metric: str) -> bool:
        return self.metrics is None or metric in self.metrics

    @property
    def changes_case(self) -> bool:
        return bool(self.assign_team or self.assign_user or self.raise_priority or self.add_tags)


def raised_priority(current: str, rule: str) -> str:
    """The priority after ``raise_priority``: one step up for ``"+1"``, else at least ``rule``."""
    rank = PRIORITIES.index(current)
    if rule == "+1":
        return PRIORITIES[min(rank + 1, len(PRIORITIES) - 1)]
    return PRIORITIES[max(rank, PRIORITIES.index(rule))]


def parse_levels(
    raw: Any,
    path: Path,
    *,
    policy_metrics: Collection[str],
    destinations: Collection[str] | None,
    problems: list[Problem],
) -> tuple[EscalationLevel, ...]:
    """The levels of one policy's ``escalation`` list; problems are appended, located."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(Problem(path, 'give a list of levels, e.g. [{ at = "breach", ... }]'))
        return ()
    levels = []
    for i, item in enumerate(raw):
        level = _level(i, item, (*path, i), policy_metrics, destinations, problems)
        if level is not None:
            levels.append(level)
    return tuple(levels)


def _level(
    index: int,
    item: Any,
    path: Path,
    policy_metrics: Collection[str],
    destinations: Collection[str] | None,
    problems: list[Problem],
) -> EscalationLevel | None:
    if not isinstance(item, Mapping):
        problems.append(Problem(path, "a level is a table with 'at' and its actions"))
        return None
    before = len(problems)
    for key in item:
        if key not in LEVEL_KEYS:
            problems.append(
                Problem((*path, key), f"unknown key {key!r}; a level has {', '.join(LEVEL_KEYS)}")
            )
    trigger = Trigger("breach", 1.0)
    if "at" not in item:
        problems.append(Problem(path, 'say when the level is due, e.g. at = "breach"'))
    else:
        try:
            trigger = parse_trigger(item["at"])
        except ValueError as exc:
            problems.append(Problem((*path, "at"), str(exc)))
    metrics = _names(item, "metrics", path, problems)
    for i, metric in enumerate(metrics or ()):
        if metric not in policy_metrics:
            problems.append(
                Problem(
                    (*path, "metrics", i),
                    f"metric {metric!r} has no target in this policy; use "
                    f"{', '.join(policy_metrics) or 'a metric with a target'}",
                )
            )
    notify = _names(item, "notify", path, problems) or []
    if destinations is not None:
        for i, dest in enumerate(notify):
            if dest not in destinations:
                known = ", ".join(sorted(destinations)) or "none are configured"
                problems.append(
                    Problem(
                        (*path, "notify", i),
                        f"unknown destination {dest!r}; define it in [[notify.destinations]] "
                        f"(known: {known})",
                    )
                )
    team = _text(item, "assign_team", path, problems)
    user = _text(item, "assign_user", path, problems)
    if user is not None and "@" not in user:
        problems.append(Problem((*path, "assign_user"), "give the user's e-mail address"))
    raise_rule = _raise_rule(item.get("raise_priority"), (*path, "raise_priority"), problems)
    tags = _tags(item.get("add_tag"), (*path, "add_tag"), problems)
    level = EscalationLevel(
        index=index,
        at=trigger,
        metrics=frozenset(metrics) if metrics else None,
        notify=tuple(dict.fromkeys(notify)),
        assign_team=team,
        assign_user=user,
        raise_priority=raise_rule,
        add_tags=tags,
    )
    if len(problems) == before and not (level.notify or level.changes_case):
        problems.append(
            Problem(
                path,
                "the level does nothing; give notify, assign_team, assign_user, "
                "raise_priority or add_tag",
            )
        )
    return level


def _names(item: Mapping[str, Any], key: str, path: Path, problems: list[Problem]) -> list[str]:
    raw = item.get(key)
    if raw is None:
        return []
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        problems.append(Problem((*path, key), f"{key} is a list of names"))
        return []
    return [v.strip() for v in values]


def _text(item: Mapping[str, Any], key: str, path: Path, problems: list[Problem]) -> str | None:
    raw = item.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        problems.append(Problem((*path, key), f"{key} must be a non-empty name"))
        return None
    return raw.strip()


def _raise_rule(raw: Any, path: Path, problems: list[Problem]) -> str | None:
    if raw is None or raw is False:
        return None
    if raw is True:
        return "+1"
    if isinstance(raw, str) and raw in PRIORITIES:
        return raw
    problems.append(Problem(path, f"use true (one step up) or a priority: {', '.join(PRIORITIES)}"))
    return None


def _tags(raw: Any, path: Path, problems: list[Problem]) -> tuple[str, ...]:
    if raw is None:
        return ()
    values = [raw] if isinstance(raw, str) else raw
    if not isinstance(values, list):
        problems.append(Problem(path, "add_tag is a tag or a list of tags"))
        return ()
    tags = []
    for i, value in enumerate(values):
        tag = str(value).strip().lower().replace(" ", "-")
        if not isinstance(value, str) or not _TAG.match(tag):
            where = (*path, i) if isinstance(raw, list) else path
            problems.append(Problem(where, f"{value!r} is not a tag: use 1-60 of a-z 0-9 - _ : ."))
            continue
        tags.append(tag)
    return tuple(dict.fromkeys(tags))


# -- checkpoints ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A moment of one metric's clock at which something fires once."""

    key: str
    kind: str  # "warning" | "breach" | "escalation"
    elapsed: timedelta  # business time since the clock started
    fraction: float
    level: EscalationLevel | None = None


_KIND_ORDER = {"warning": 0, "breach": 1, "escalation": 2}


def checkpoints(
    *,
    policy_id: str,
    metric: str,
    target: timedelta,
    warn_at: Sequence[float],
    levels: Sequence[EscalationLevel],
) -> list[Checkpoint]:
    """Every checkpoint of ``metric`` under a policy, in the order they fall due."""
    found = [Checkpoint(f"warn:{w:g}", "warning", target * w, w) for w in warn_at]
    found.append(Checkpoint("breach", "breach", target, 1.0))
    found += [
        Checkpoint(
            f"esc:{policy_id}:{level.index}",
            "escalation",
            level.at.elapsed(target),
            level.at.fraction,
            level,
        )
        for level in levels
        if level.applies_to(metric)
    ]
    return sorted(found, key=lambda c: (c.elapsed, _KIND_ORDER[c.kind], c.key))


def due_now(
    points: Sequence[Checkpoint], fired: Collection[str], elapsed: timedelta
) -> tuple[list[Checkpoint], list[Checkpoint]]:
    """``(fire, skip)``: the unfired checkpoints reached by ``elapsed``.

    A warning is skipped (recorded, not announced) when the breach is due in the same pass: a
    clock found already past its target, after a policy change or a stopped worker, announces the
    breach once instead of a burst of stale warnings. Escalation levels always fire: each one's
    actions are part of the path the operator configured.
    """
    reached = [c for c in points if c.key not in fired and c.elapsed <= elapsed]
    breach_due = any(c.kind == "breach" for c in reached)
    fire = [c for c in reached if not (breach_due and c.kind == "warning")]
    skip = [c for c in reached if breach_due and c.kind == "warning"]
    return fire, skip


def next_moment(
    calendar: Calendar,
    start: datetime,
    pauses: Sequence[Pause],
    points: Sequence[Checkpoint],
    fired: Collection[str],
    now: datetime,
) -> datetime | None:
    """When the earliest unfired checkpoint falls due; ``None`` when paused or none is left."""
    for point in points:
        if point.key not in fired:
            return due_with_pauses(calendar, start, point.elapsed, pauses, now)
    return None
