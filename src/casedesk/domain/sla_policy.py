"""SLA policies: which targets apply to a case, read from ``[[sla.policies]]``; pure rules.

Policies are ordered; the first whose ``when`` matches the case's facts applies. Each has targets
per metric (``first_response``, ``next_response``, ``resolution``), each measured on a business
calendar (the policy's, or the metric's own), warning thresholds and an escalation path.

```toml
[[sla.policies]]
id = "enterprise-urgent"
when = { priority = ["urgent"], custom_fields = { plan = ["enterprise"] } }
calendar = "24x7"
targets = { first_response = "30m", next_response = "2h", resolution = { target = "2d", calendar = "london" } }
warn_at = [0.75, 0.9]
escalation = [{ at = "breach", notify = ["teams-leads"], assign_team = "tier2" }]
```

With no policy configured the built-in ``DEFAULT_POLICIES`` apply (one per priority, 24x7).
"""  # noqa: E501

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from casedesk.domain.case_fields import CHANNELS, PRIORITIES
from casedesk.domain.durations import parse_duration
from casedesk.domain.escalation import METRICS, EscalationLevel, parse_levels
from casedesk.domain.lifecycle import Problem

Path = tuple[str | int, ...]
ALWAYS = "24x7"
POLICY_KEYS = ("id", "name", "when", "calendar", "targets", "warn_at", "escalation")
WHEN_KEYS = (
    "priority",
    "channel",
    "category",
    "team",
    "tags",
    "customer_email",
    "customer_domain",
    "custom_fields",
)
DEFAULT_WARN_AT = (0.75, 0.9)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")

Facts = Mapping[str, Any]
"""A case as policies see it: ``priority``, ``channel``, ``category``, ``team`` (names or
``None``), ``tags`` (lower-case), ``customer_email``, ``customer_domain`` and ``custom_fields``."""


@dataclass(frozen=True)
class Target:
    duration: timedelta
    calendar: str


@dataclass(frozen=True)
class Policy:
    id: str
    calendar: str
    targets: Mapping[str, Target]
    when: Mapping[str, frozenset[str]] = field(default_factory=dict)
    custom_when: Mapping[str, frozenset[str]] = field(default_factory=dict)
    warn_at: tuple[float, ...] = DEFAULT_WARN_AT
    escalation: tuple[EscalationLevel, ...] = ()
    name: str | None = None

    def matches(self, facts: Facts) -> bool:
        for key, allowed in self.when.items():
            value = facts.get(key)
            values = list(value) if isinstance(value, list | tuple) else [value]
            if not any(v is not None and str(v).lower() in allowed for v in values):
                return False
        custom = facts.get("custom_fields") or {}
        for name, allowed in self.custom_when.items():
            value = custom.get(name)
            if value is None or _fold(value) not in allowed:
                return False
        return True


def _fold(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def select_policy(policies: Sequence[Policy], facts: Facts) -> Policy | None:
    """The first policy matching ``facts``; ``None`` when none does (the case has no SLA)."""
    for policy in policies:
        if policy.matches(facts):
            return policy
    return None


def _default(priority: str, first: str, nxt: str, resolution: str) -> Policy:
    return Policy(
        id=f"default-{priority}",
        calendar=ALWAYS,
        targets={
            "first_response": Target(parse_duration(first), ALWAYS),
            "next_response": Target(parse_duration(nxt), ALWAYS),
            "resolution": Target(parse_duration(resolution), ALWAYS),
        },
        when={"priority": frozenset({priority})},
        name=f"Built-in {priority}",
    )


DEFAULT_POLICIES: tuple[Policy, ...] = (
    _default("urgent", "1h", "2h", "8h"),
    _default("high", "4h", "8h", "1d"),
    _default("normal", "8h", "1d", "5d"),
    _default("low", "1d", "2d", "10d"),
)


def policies_from_config(
    raw: Any,
    *,
    calendars: Collection[str],
    destinations: Collection[str] | None,
    problems: list[Problem],
) -> list[Policy]:
    """Policies of ``[[sla.policies]]`` (``raw`` is the list); problems are appended with paths
    from the config root. ``calendars`` are the known calendar ids (``24x7`` is built in);
    ``destinations`` the known notification destination ids (``None``: not checked)."""
    base: Path = ("sla", "policies")
    if raw is None:
        return list(DEFAULT_POLICIES)
    if not isinstance(raw, list):
        problems.append(Problem(base, "give the policies as [[sla.policies]] tables"))
        return []
    policies: list[Policy] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        policy = _policy(item, (*base, i), calendars, destinations, problems)
        if policy is None:
            continue
        if policy.id in seen:
            problems.append(
                Problem(
                    (*base, i, "id"), f"policy {policy.id!r} is already policies[{seen[policy.id]}]"
                )
            )
        seen.setdefault(policy.id, i)
        policies.append(policy)
    return policies


def _policy(
    item: Any,
    path: Path,
    calendars: Collection[str],
    destinations: Collection[str] | None,
    problems: list[Problem],
) -> Policy | None:
    if not isinstance(item, Mapping):
        problems.append(Problem(path, "a policy is a table"))
        return None
    for key in item:
        if key not in POLICY_KEYS:
            problems.append(
                Problem((*path, key), f"unknown key {key!r}; a policy has {', '.join(POLICY_KEYS)}")
            )
    policy_id = item.get("id")
    if not isinstance(policy_id, str) or not _ID.match(policy_id):
        problems.append(
            Problem((*path, "id"), 'give the policy an id of letters, digits, "-", "_" or "."')
        )
        policy_id = f"policy-{path[-1]}"
    calendar = _calendar(item.get("calendar", ALWAYS), (*path, "calendar"), calendars, problems)
    targets = _targets(item.get("targets"), (*path, "targets"), calendar, calendars, problems)
    when, custom = _when(item.get("when"), (*path, "when"), problems)
    warn_at = _warn_at(item.get("warn_at", list(DEFAULT_WARN_AT)), (*path, "warn_at"), problems)
    levels = parse_levels(
        item.get("escalation"),
        (*path, "escalation"),
        policy_metrics=list(targets),
        destinations=destinations,
        problems=problems,
    )
    name = item.get("name")
    return Policy(
        id=policy_id,
        calendar=calendar,
        targets=targets,
        when=when,
        custom_when=custom,
        warn_at=warn_at,
        escalation=levels,
        name=name if isinstance(name, str) else None,
    )


def _calendar(raw: Any, path: Path, calendars: Collection[str], problems: list[Problem]) -> str:
    if not isinstance(raw, str) or raw not in {ALWAYS, *calendars}:
        known = ", ".join([ALWAYS, *sorted(calendars)])
        problems.append(
            Problem(path, f"unknown calendar {raw!r}; define it in [[calendars]] (known: {known})")
        )
        return ALWAYS
    return raw


def _targets(
    raw: Any, path: Path, calendar: str, calendars: Collection[str], problems: list[Problem]
) -> dict[str, Target]:
    example = 'targets = { first_response = "4h", resolution = "3d" }'
    if not isinstance(raw, Mapping) or not raw:
        problems.append(Problem(path, f"give at least one target, e.g. {example}"))
        return {}
    targets: dict[str, Target] = {}
    for metric, value in raw.items():
        where = (*path, metric)
        if metric not in METRICS:
            problems.append(Problem(where, f"unknown metric {metric!r}; use {', '.join(METRICS)}"))
            continue
        own_calendar = calendar
        if isinstance(value, Mapping):
            for key in value:
                if key not in ("target", "calendar"):
                    problems.append(
                        Problem((*where, key), f"unknown key {key!r}; use target and calendar")
                    )
            if "calendar" in value:
                own_calendar = _calendar(
                    value["calendar"], (*where, "calendar"), calendars, problems
                )
            where, value = (*where, "target"), value.get("target")
        duration = _duration(value, where, problems)
        if duration is not None:
            targets[metric] = Target(duration, own_calendar)
    return targets


def _duration(value: Any, where: Path, problems: list[Problem]) -> timedelta | None:
    if not isinstance(value, str):
        problems.append(Problem(where, 'write the target as a duration such as "4h" or "3d"'))
        return None
    try:
        duration = parse_duration(value)
    except ValueError as exc:
        problems.append(Problem(where, str(exc)))
        return None
    if duration <= timedelta(0):
        problems.append(
            Problem(where, "a target of zero would breach at once; give a positive duration")
        )
        return None
    return duration


def _warn_at(raw: Any, path: Path, problems: list[Problem]) -> tuple[float, ...]:
    if not isinstance(raw, list):
        problems.append(Problem(path, "warn_at is a list of fractions, e.g. [0.75, 0.9]"))
        return ()
    out: list[float] = []
    for i, value in enumerate(raw):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            problems.append(
                Problem((*path, i), f"{value!r} is not a fraction between 0 and 1 (e.g. 0.75)")
            )
            continue
        out.append(float(value))
    return tuple(sorted(set(out)))


_WHEN_CHECKS: dict[str, tuple[str, ...]] = {"priority": PRIORITIES, "channel": CHANNELS}


def _when(
    raw: Any, path: Path, problems: list[Problem]
) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    if raw is None:
        return {}, {}
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, 'when is a table, e.g. when = { priority = ["urgent"] }'))
        return {}, {}
    when: dict[str, frozenset[str]] = {}
    custom: dict[str, frozenset[str]] = {}
    for key, value in raw.items():
        where = (*path, key)
        if key not in WHEN_KEYS:
            problems.append(
                Problem(where, f"unknown condition {key!r}; use {', '.join(WHEN_KEYS)}")
            )
        elif key == "custom_fields":
            if not isinstance(value, Mapping):
                problems.append(Problem(where, 'e.g. custom_fields = { plan = ["enterprise"] }'))
                continue
            for name, allowed in value.items():
                values = _values((*where, name), allowed, problems)
                if values is not None:
                    custom[name] = frozenset(_fold(v) for v in values)
        else:
            values = _values(where, value, problems)
            if values is None:
                continue
            for i, v in enumerate(values):
                if key in _WHEN_CHECKS and v not in _WHEN_CHECKS[key]:
                    problems.append(
                        Problem(
                            (*where, i) if isinstance(value, list) else where,
                            f"unknown {key} {v!r}; use {', '.join(_WHEN_CHECKS[key])}",
                        )
                    )
            when[key] = frozenset(str(v).strip().lower() for v in values)
    return when, custom


def _values(where: Path, value: Any, problems: list[Problem]) -> list[Any] | None:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str | int | float | bool) for v in values):
        problems.append(Problem(where, "give a value or a non-empty list of values"))
        return None
    return values


def case_facts(
    *,
    priority: str,
    channel: str,
    category: str | None,
    team: str | None,
    tags: Sequence[str],
    customer_email: str | None,
    custom_fields: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The facts ``Policy.matches`` reads, from a case's plain values."""
    email = (customer_email or "").lower() or None
    return {
        "priority": priority,
        "channel": channel,
        "category": category,
        "team": team,
        "tags": tuple(tags),
        "customer_email": email,
        "customer_domain": email.rpartition("@")[2] if email else None,
        "custom_fields": dict(custom_fields or {}),
    }
