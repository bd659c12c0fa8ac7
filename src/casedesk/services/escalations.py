"""Escalation actions on a case: reassign to a team or user, raise the priority, add tags.

They change the case the way ``services.cases.update_case`` does, by the system actor: the
locked case row is changed and ``case_rows.record`` appends ``case.updated`` /
``case.assigned`` and runs their consequences (the SLA policy is selected again, so a raised
priority brings the due times forward; routed notifications are queued).

Teams and users live in the database, so a level naming one that does not exist cannot be refused
by ``config check``: ``plan`` reports it as a failure that goes into the audit trail and the log,
and the level's other actions still run. ``unknown_references`` lists them at worker start-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.db.tables import Case, CaseTag, Team, User
from casedesk.domain.actors import SYSTEM
from casedesk.domain.case_fields import priority_name, priority_rank
from casedesk.domain.escalation import EscalationLevel, raised_priority
from casedesk.domain.sla_policy import Policy
from casedesk.services import case_rows
from casedesk.services.case_rows import CaseView

log = logging.getLogger("casedesk.sla")


@dataclass
class Plan:
    """What a level will do to one case, with what it cannot do."""

    team: Team | None = None
    user: User | None = None
    priority: str | None = None
    tags: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.team:
            out["assign_team"] = self.team.name
        if self.user:
            out["assign_user"] = self.user.email
        if self.priority:
            out["priority"] = self.priority
        if self.tags:
            out["add_tags"] = self.tags
        if self.failures:
            out["failed"] = self.failures
        return out


def plan(s: Session, case: CaseView, level: EscalationLevel) -> Plan:
    out = Plan()
    if level.assign_team:
        out.team = s.scalar(select(Team).where(Team.name == level.assign_team))
        if out.team is None:
            out.failures.append(f"no team named '{level.assign_team}'; create it or fix the policy")
    if level.assign_user:
        out.user = s.scalar(select(User).where(User.email == level.assign_user.lower()))
        if out.user is None or not out.user.active:
            out.user = None
            out.failures.append(f"no active user '{level.assign_user}'; fix the policy")
    if level.raise_priority:
        current = priority_name(case.priority)
        target = raised_priority(current, level.raise_priority)
        out.priority = target if target != current else None
    out.tags = [t for t in level.add_tags if t not in case.tags]
    for failure in out.failures:
        log.error("escalation on case %s: %s", case.number, failure)
    return out


def apply(
    s: Session, config: AppConfig, case: Case, todo: Plan, *, key: str, now: datetime
) -> None:
    """Make the planned changes to the locked ``case`` as the system, with audit events."""
    diff: dict[str, dict[str, Any]] = {}
    if todo.team is not None and case.team_id != todo.team.id:
        diff["team"] = {"before": case.team.name if case.team else None, "after": todo.team.name}
        case.team = todo.team
    # the plan was made from a snapshot: another level may have changed the case since
    if todo.priority is not None and todo.priority != priority_name(case.priority):
        diff["priority"] = {"before": priority_name(case.priority), "after": todo.priority}
        case.priority = priority_rank(todo.priority)
    before = case.tags
    added = [t for t in todo.tags if t not in before]
    if added:
        for tag in added:
            case.tag_rows.append(CaseTag(case_number=case.number, tag=tag))
        diff["tags"] = {"before": before, "after": sorted({*before, *added})}
    assigned = None
    if todo.user is not None and case.assignee_id != todo.user.id:
        before_user = case.assignee.email if case.assignee else None
        assigned = {"before": before_user, "after": todo.user.email}
        case.assignee = todo.user
    if not diff and not assigned:
        return
    case.updated_at = now
    if diff:
        changed: dict[str, Any] = {"changes": diff, "escalation": key}
        case_rows.record(s, config, case, "case.updated", actor=SYSTEM, now=now, data=changed)
    if assigned:
        reassigned: dict[str, Any] = {**assigned, "escalation": key}
        case_rows.record(s, config, case, "case.assigned", actor=SYSTEM, now=now, data=reassigned)


def unknown_references(s: Session, policies: tuple[Policy, ...]) -> list[str]:
    """Teams and users named by escalation levels that the database does not have."""
    teams = {lvl.assign_team for p in policies for lvl in p.escalation if lvl.assign_team}
    users = {lvl.assign_user.lower() for p in policies for lvl in p.escalation if lvl.assign_user}
    known_teams = set(s.scalars(select(Team.name).where(Team.name.in_(teams)))) if teams else set()
    known_users = (
        set(s.scalars(select(User.email).where(User.email.in_(users), User.active.is_(True))))
        if users
        else set()
    )
    problems = []
    for p in policies:
        for lvl in p.escalation:
            where = f"sla policy '{p.id}' escalation[{lvl.index}]"
            if lvl.assign_team and lvl.assign_team not in known_teams:
                problems.append(f"{where}: assign_team '{lvl.assign_team}' is not a team")
            if lvl.assign_user and lvl.assign_user.lower() not in known_users:
                problems.append(f"{where}: assign_user '{lvl.assign_user}' is not an active user")
    return problems
