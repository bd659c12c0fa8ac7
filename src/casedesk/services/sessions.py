"""Web sign-in sessions and login rate limiting, shared by every browser front end.

A session belongs to a principal: ``kind="user"`` (staff: console and admin) or
``kind="customer"`` (the portal). Its token is 256 random bits handed to the browser once;
only its SHA-256 is stored, so a copy of the database signs nobody in. A session ends at its
absolute expiry, after ``idle`` without a request, on sign-out, or when revoked (an admin, or
the user being deactivated). Failed sign-ins are counted per e-mail and per client address in
the database, so the limit holds across every web process.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.orm import InstrumentedAttribute

from casedesk.db.session import Database
from casedesk.db.tables import User
from casedesk.db.ui_tables import LoginFailure, WebSession
from casedesk.domain.actors import Actor
from casedesk.services import audit

LIFETIME = timedelta(hours=24)
IDLE = timedelta(hours=8)
# Recording every request would turn each page view into a write.
SEEN_PRECISION = timedelta(minutes=1)

FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 30


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    """A new session: ``token`` goes into the cookie and is never seen again."""

    token: str
    id: int
    expires_at: datetime


@dataclass(frozen=True)
class SessionInfo:
    id: int
    kind: str
    principal_id: int
    created_at: datetime
    expires_at: datetime


def start(
    db: Database,
    *,
    kind: str,
    principal_id: int,
    actor: Actor,
    now: datetime,
    ip: str = "",
    user_agent: str = "",
    lifetime: timedelta = LIFETIME,
) -> Issued:
    """Open a session for a principal that has just proven who it is; audited."""
    token = secrets.token_urlsafe(32)
    with db.write() as s:
        session_id = s.scalar(
            insert(WebSession)
            .values(
                token_hash=digest(token),
                principal_kind=kind,
                principal_id=principal_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + lifetime,
                ip=ip[:45],
                user_agent=user_agent[:300],
            )
            .returning(WebSession.id)
        )
        # Sessions that ended long ago are of no further use.
        s.execute(
            delete(WebSession).where(
                WebSession.principal_kind == kind,
                WebSession.principal_id == principal_id,
                WebSession.expires_at < now - timedelta(days=30),
            )
        )
        audit.record(
            s,
            scope=f"{kind}:{principal_id}",
            action="session.started",
            actor=actor,
            now=now,
            data={"session_id": session_id, "ip": ip[:45]},
        )
    assert session_id is not None
    return Issued(token, session_id, now + lifetime)


def _alive(now: datetime, idle: timedelta) -> tuple[ColumnElement[bool], ...]:
    return (
        WebSession.revoked_at.is_(None),
        WebSession.expires_at > now,
        WebSession.last_seen_at > now - idle,
    )


def _touch(db: Database, session_id: int, last_seen: datetime, now: datetime) -> None:
    if now - last_seen > SEEN_PRECISION:
        with db.write() as s:
            s.execute(
                update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now)
            )


def resolve(
    db: Database, token: str, *, kind: str, now: datetime, idle: timedelta = IDLE
) -> SessionInfo | None:
    """The live session behind a cookie token, or ``None``; one indexed read."""
    if not token:
        return None
    with db.query() as conn:
        row = conn.execute(
            select(WebSession.__table__).where(
                WebSession.token_hash == digest(token),
                WebSession.principal_kind == kind,
                *_alive(now, idle),
            )
        ).first()
    if row is None:
        return None
    _touch(db, row.id, row.last_seen_at, now)
    return SessionInfo(row.id, kind, row.principal_id, row.created_at, row.expires_at)


def resolve_user(
    db: Database, token: str, *, now: datetime, idle: timedelta = IDLE
) -> tuple[SessionInfo, User] | None:
    """A staff session and its active user in one indexed read (the console's hot path)."""
    if not token:
        return None
    with db.query() as conn:
        row = (
            conn.execute(
                select(
                    User.__table__,
                    WebSession.id.label("session_id"),
                    WebSession.created_at.label("session_created_at"),
                    WebSession.last_seen_at.label("last_seen_at"),
                    WebSession.expires_at.label("expires_at"),
                )
                .join(WebSession, WebSession.principal_id == User.id)
                .where(
                    WebSession.token_hash == digest(token),
                    WebSession.principal_kind == "user",
                    *_alive(now, idle),
                )
            )
            .mappings()
            .first()
        )
    if row is None or not row["active"]:
        return None
    _touch(db, row["session_id"], row["last_seen_at"], now)
    user = User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        team_id=row["team_id"],
        active=row["active"],
        created_at=row["created_at"],
    )
    info = SessionInfo(
        row["session_id"], "user", row["id"], row["session_created_at"], row["expires_at"]
    )
    return info, user


def end(db: Database, token: str, *, actor: Actor, now: datetime) -> bool:
    """Sign out: revoke the session behind ``token``; audited. False if it was not live."""
    with db.write() as s:
        row = s.scalar(
            select(WebSession).where(
                WebSession.token_hash == digest(token), WebSession.revoked_at.is_(None)
            )
        )
        if row is None:
            return False
        row.revoked_at = now
        audit.record(
            s,
            scope=f"{row.principal_kind}:{row.principal_id}",
            action="session.ended",
            actor=actor,
            now=now,
            data={"session_id": row.id},
        )
        return True


def revoke_all(db: Database, *, kind: str, principal_id: int, now: datetime) -> int:
    """Revoke every live session of a principal (deactivation, password change)."""
    with db.write() as s:
        result = s.execute(
            update(WebSession)
            .where(
                WebSession.principal_kind == kind,
                WebSession.principal_id == principal_id,
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > now,
            )
            .values(revoked_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def live_sessions(db: Database, *, kind: str, principal_id: int, now: datetime) -> list[WebSession]:
    with db.read() as s:
        return list(
            s.scalars(
                select(WebSession)
                .where(
                    WebSession.principal_kind == kind,
                    WebSession.principal_id == principal_id,
                    *_alive(now, IDLE),
                )
                .order_by(WebSession.id.desc())
            )
        )


# -- sign-in rate limiting ---------------------------------------------------------------------


def _recent(
    db: Database,
    column: InstrumentedAttribute[str],
    value: str,
    realm: str,
    since: datetime,
    cap: int,
) -> int:
    inner = (
        select(LoginFailure.id)
        .where(LoginFailure.realm == realm, column == value, LoginFailure.at > since)
        .limit(cap)
        .subquery()
    )
    with db.query() as conn:
        return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())


def login_blocked(
    db: Database, *, realm: str, email: str, ip: str, now: datetime
) -> timedelta | None:
    """How long until another attempt is allowed when the e-mail or the address has failed
    too often in the window; ``None`` when an attempt may proceed. Costs two bounded reads."""
    since = now - FAILURE_WINDOW
    email = email.strip().lower()
    per_email = _recent(db, LoginFailure.email, email, realm, since, MAX_FAILURES_PER_EMAIL)
    per_ip = _recent(db, LoginFailure.ip, ip, realm, since, MAX_FAILURES_PER_IP) if ip else 0
    if per_email < MAX_FAILURES_PER_EMAIL and per_ip < MAX_FAILURES_PER_IP:
        return None
    with db.query() as conn:
        oldest = conn.execute(
            select(func.min(LoginFailure.at)).where(
                LoginFailure.realm == realm,
                LoginFailure.at > since,
                (LoginFailure.email == email)
                if per_email >= MAX_FAILURES_PER_EMAIL
                else (LoginFailure.ip == ip),
            )
        ).scalar()
    if oldest is None:
        return FAILURE_WINDOW
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max(oldest + FAILURE_WINDOW - now, timedelta(seconds=1))


def record_failure(db: Database, *, realm: str, email: str, ip: str, now: datetime) -> None:
    with db.write() as s:
        s.execute(
            insert(LoginFailure).values(
                realm=realm, email=email.strip().lower()[:320], ip=ip[:45], at=now
            )
        )
        s.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))


def clear_failures(db: Database, *, realm: str, email: str) -> None:
    """A successful sign-in forgives the e-mail's earlier failures (not the address's)."""
    with db.write() as s:
        s.execute(
            delete(LoginFailure).where(
                LoginFailure.realm == realm, LoginFailure.email == email.strip().lower()
            )
        )
