"""How each case change moves the case's SLA clocks (called by ``sla.on_case_change``).

- created: ``first_response`` and ``resolution`` clocks start (one INSERT);
- a public reply by staff meets ``first_response`` and the open ``next_response`` cycle;
- a customer message, once the first response was given, starts a ``next_response`` cycle
  unless one is already waiting (the oldest unanswered message counts);
- entering a ``pending`` status pauses every running clock, leaving it resumes them;
- ``solved`` meets ``resolution`` (and the reply metrics: a solved case waits for nobody),
  ``closed`` stops what is left, a reopened case starts a new ``resolution`` cycle;
- a change of priority, category, team, tags or custom fields selects the policy again and, if
  its targets differ, recomputes the open clocks' due times from their ledger (start and pauses).

A clock found past its target when it stops, before the worker announced the breach, is recorded
as breached at its due time, with an ``sla.breached`` audit event marked ``late``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.config_sla import SlaSettings, sla_settings
from casedesk.domain import sla_clock as clocks
from casedesk.domain.actors import SYSTEM
from casedesk.domain.durations import format_duration
from casedesk.domain.sla_clock import Clock
from casedesk.services import audit
from casedesk.services import sla_ledger as ledger
from casedesk.services.case_rows import CaseView

POLICY_FIELDS = frozenset({"priority", "category", "team", "tags", "custom_fields"})
REPLY_METRICS = ("first_response", "next_response")


def _pending(config: AppConfig, case: CaseView) -> tuple[str, str | None] | None:
    if config.lifecycle.category(case.status) == "pending":
        return case.status, case.hold_reason_code
    return None


def case_created(s: Session, config: AppConfig, case: CaseView, now: datetime) -> None:
    settings = sla_settings(config)
    policy = ledger.policy_of(settings, case)
    if policy is None:
        return
    pending = _pending(config, case)
    new = [
        ledger.new_clock(policy, metric, 1, now, pending)
        for metric in ("first_response", "resolution")
        if metric in policy.targets
    ]
    ledger.insert_clocks(s, settings, case.number, new, now)


class _Changes:
    """Clock updates of one case change, written in one statement at the end."""

    def __init__(self, s: Session, config: AppConfig, case: CaseView, now: datetime) -> None:
        self.s, self.config, self.case, self.now = s, config, case, now
        self.settings: SlaSettings = sla_settings(config)
        self.pending: list[tuple[int, dict[str, Any]]] = []

    def put(
        self, row: Row[Any], clock: Clock, *, stopped_by: str | None = None, note: Any = None
    ) -> None:
        history = list(row.history or ())
        if note:
            history.append(note)
        if clock.state != row.state and not clock.is_open:
            self._late_breach(row, clock)
        values = ledger.values_of(
            self.settings,
            clock,
            self.now,
            stopped_by=stopped_by or row.stopped_by,
            history=history,
        )
        self.pending.append((row.id, values))

    def stop(self, row: Row[Any], by: str, state: str = clocks.MET) -> None:
        clock = ledger.to_clock(row)
        calendar = self.settings.calendar(clock.calendar_id)
        self.put(row, clocks.stopped(clock, calendar, self.now, state=state), stopped_by=by)

    def _late_breach(self, row: Row[Any], clock: Clock) -> None:
        if clock.breached_at is None or "breach" in clock.fired:
            return
        clock.fired["breach"] = {"at": self.now.isoformat(), "kind": "breach", "late": True}
        over = clocks.breach_amount(clock, self.settings.calendar(clock.calendar_id), self.now)
        audit.record(
            self.s,
            scope=f"case:{self.case.number}",
            case_number=self.case.number,
            action="sla.breached",
            actor=SYSTEM,
            now=self.now,
            data={
                "metric": clock.metric,
                "cycle": clock.cycle,
                "policy": clock.policy_id,
                "target": format_duration(clock.target),
                "due_at": clock.breached_at.isoformat(),
                "breached_by_seconds": int(over.total_seconds()) if over else 0,
                "late": True,
            },
        )

    def write(self) -> None:
        ledger.save(self.s, self.pending)


def agent_replied(s: Session, config: AppConfig, case: CaseView, now: datetime) -> None:
    rows = [r for r in ledger.open_rows(s, case.number) if r.metric in REPLY_METRICS]
    if not rows:
        return
    changes = _Changes(s, config, case, now)
    for row in rows:
        changes.stop(row, "agent reply")
    changes.write()


def customer_replied(s: Session, config: AppConfig, case: CaseView, now: datetime) -> None:
    rows = ledger.open_rows(s, case.number)
    if any(r.metric in REPLY_METRICS for r in rows):
        return  # waiting for the first response, or for the oldest unanswered message
    settings = sla_settings(config)
    policy = ledger.policy_of(settings, case)
    if policy is None or "next_response" not in policy.targets:
        return
    cycle = ledger.last_cycle(s, case.number, "next_response") + 1
    clock = ledger.new_clock(policy, "next_response", cycle, now, _pending(config, case))
    ledger.insert_clocks(s, settings, case.number, [clock], now)


def status_changed(
    s: Session, config: AppConfig, case: CaseView, before: str, after: str, now: datetime
) -> None:
    wf = config.lifecycle
    was = wf.category(before) if wf.has_status(before) else "open"
    now_in = wf.category(after)
    rows = ledger.open_rows(s, case.number)
    changes = _Changes(s, config, case, now)
    if now_in == "closed":
        for row in rows:
            changes.stop(
                row, "closed", clocks.MET if row.metric == "resolution" else clocks.CANCELLED
            )
    elif now_in == "solved":
        for row in rows:
            changes.stop(row, "resolved")
    elif was in ("solved", "closed"):
        _reopen(s, config, case, changes, rows, now)
    elif now_in == "pending":
        for row in rows:
            clock = ledger.to_clock(row)
            if clock.state == clocks.PAUSED:  # one pending status to another
                clock = clocks.resumed(clock, now)
            changes.put(row, clocks.paused(clock, now, after, case.hold_reason_code))
    elif was == "pending":
        for row in rows:
            changes.put(row, clocks.resumed(ledger.to_clock(row), now))
    changes.write()


def _reopen(
    s: Session,
    config: AppConfig,
    case: CaseView,
    changes: _Changes,
    rows: Iterable[Row[Any]],
    now: datetime,
) -> None:
    """A reopened case gets a new resolution cycle with a fresh target."""
    if any(r.metric == "resolution" for r in rows):
        return
    policy = ledger.policy_of(changes.settings, case)
    if policy is None or "resolution" not in policy.targets:
        return
    cycle = ledger.last_cycle(s, case.number, "resolution") + 1
    clock = ledger.new_clock(policy, "resolution", cycle, now, _pending(config, case))
    ledger.insert_clocks(s, changes.settings, case.number, [clock], now)


def reevaluate(s: Session, config: AppConfig, case: CaseView, now: datetime) -> None:
    """Select the policy again after a change of the facts policies match on."""
    settings = sla_settings(config)
    policy = ledger.policy_of(settings, case)
    rows = ledger.open_rows(s, case.number)
    if not rows:
        if policy is not None and not ledger.has_clocks(s, case.number):
            _start_late(s, config, case, settings, now)
        return
    changes = _Changes(s, config, case, now)
    for row in rows:
        target = policy.targets.get(row.metric) if policy else None
        if policy is None or target is None:
            changes.stop(row, "no policy target", clocks.CANCELLED)
            continue
        seconds = int(target.duration.total_seconds())
        if (policy.id, seconds, target.calendar) == (
            row.policy_id,
            row.target_seconds,
            row.calendar_id,
        ):
            continue
        clock = ledger.to_clock(row)
        note = {
            "at": now.isoformat(),
            "change": "policy",
            "from": {"policy": row.policy_id, "target": format_duration(clock.target)},
            "to": {"policy": policy.id, "target": format_duration(target.duration)},
            "calendar": target.calendar,
        }
        clock = replace(
            clock, policy_id=policy.id, calendar_id=target.calendar, target=target.duration
        )
        changes.put(row, clock, note=note)
    changes.write()


def _start_late(
    s: Session, config: AppConfig, case: CaseView, settings: SlaSettings, now: datetime
) -> None:
    """A case that matched no policy and now does: its clocks start now."""
    policy = ledger.policy_of(settings, case)
    category = config.lifecycle.category(case.status)
    if policy is None or category in ("solved", "closed"):
        return
    metrics = ["resolution"] + ([] if case.first_response_at else ["first_response"])
    pending = _pending(config, case)
    new = [ledger.new_clock(policy, m, 1, now, pending) for m in metrics if m in policy.targets]
    ledger.insert_clocks(s, settings, case.number, new, now)
