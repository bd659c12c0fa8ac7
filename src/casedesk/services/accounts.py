"""Changing staff accounts from the admin pages: role, deactivation and reactivation.

``services.users`` creates users, teams and tokens; these are the changes an admin makes to an
existing account later. Each is one transaction with its audit event. Deactivating a user ends
their web sessions at once; their API tokens stop working because token checks require an
active user.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from casedesk.db.session import Database
from casedesk.db.tables import Team, User
from casedesk.db.ui_tables import WebSession
from casedesk.domain.actors import Actor
from casedesk.domain.errors import Conflict, InvalidInput, NotFound
from casedesk.services import audit, users


def _locked_user(s: Session, user_id: int) -> User:
    user = s.scalar(select(User).where(User.id == user_id).with_for_update(of=User))
    if user is None:
        raise NotFound(f"no user {user_id}", field="user")
    return user


def _other_active_admins(s: Session, user_id: int) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.active.is_(True), User.id != user_id)
        )
        or 0
    )


def set_active(db: Database, *, user_id: int, active: bool, actor: Actor, now: datetime) -> User:
    """Deactivate or reactivate a user; the last active admin cannot be deactivated."""
    with db.write() as s:
        user = _locked_user(s, user_id)
        if user.active == active:
            return user
        if not active and user.role == "admin" and _other_active_admins(s, user.id) == 0:
            raise Conflict("this is the last active admin; make another admin first")
        user.active = active
        if not active:
            s.execute(
                update(WebSession)
                .where(
                    WebSession.principal_kind == "user",
                    WebSession.principal_id == user.id,
                    WebSession.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
        audit.record(
            s,
            scope=f"user:{user.id}",
            action="user.reactivated" if active else "user.deactivated",
            actor=actor,
            now=now,
            data={"email": user.email},
        )
        return user


def set_role(db: Database, *, user_id: int, role: str, actor: Actor, now: datetime) -> User:
    """Change a user's role; the last active admin keeps theirs."""
    if role not in users.ROLES:
        raise InvalidInput(f"role must be one of {', '.join(users.ROLES)}", field="role")
    with db.write() as s:
        user = _locked_user(s, user_id)
        if user.role == role:
            return user
        if user.role == "admin" and user.active and _other_active_admins(s, user.id) == 0:
            raise Conflict("this is the last active admin; make another admin first")
        before, user.role = user.role, role
        audit.record(
            s,
            scope=f"user:{user.id}",
            action="user.role_changed",
            actor=actor,
            now=now,
            data={"email": user.email, "before": before, "after": role},
        )
        return user


def set_team(db: Database, *, user_id: int, team: str | None, actor: Actor, now: datetime) -> User:
    """Move a user to a team (or none)."""
    with db.write() as s:
        user = _locked_user(s, user_id)
        team_row = None
        if team:
            team_row = s.scalar(select(Team).where(Team.name == team))
            if team_row is None:
                raise InvalidInput(f"no team named '{team}'", field="team")
        new_id = team_row.id if team_row else None
        if user.team_id == new_id:
            return user
        before = user.team.name if user.team else None
        user.team_id = new_id
        audit.record(
            s,
            scope=f"user:{user.id}",
            action="user.team_changed",
            actor=actor,
            now=now,
            data={"email": user.email, "before": before, "after": team or None},
        )
        return user
