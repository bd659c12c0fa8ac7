"""Users, teams, passwords and API tokens.

Passwords are hashed with argon2. API tokens are 256-bit random strings shown once; only their
SHA-256 is stored (a slow hash buys nothing for a secret that long, and every API request
checks one), with a label, a short hint and the last time it was used.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from casedesk.db.session import Database
from casedesk.db.tables import ApiToken, Team, User
from casedesk.domain.actors import Actor
from casedesk.domain.errors import Conflict, InvalidInput, NotFound
from casedesk.services import audit

ROLES = ("admin", "lead", "agent")
TOKEN_PREFIX = "cdk_"
_hasher = PasswordHasher()
# Recording last use on every request would turn each read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    email = email.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise InvalidInput(f"'{email}' is not an e-mail address", field="email")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}".lower()


def create_team(db: Database, *, name: str, actor: Actor, now: datetime) -> Team:
    name = name.strip()
    if not name:
        raise InvalidInput("a team needs a name", field="name")
    try:
        with db.write() as s:
            team = Team(name=name, created_at=now)
            s.add(team)
            s.flush()
            audit.record(
                s,
                scope=f"team:{team.id}",
                action="team.created",
                actor=actor,
                now=now,
                data={"name": name},
                first_in_scope=True,
            )
            return team
    except IntegrityError as exc:
        raise Conflict(f"a team named '{name}' already exists") from exc


def team_by_name(db: Database, name: str) -> Team:
    with db.read() as s:
        team = s.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise NotFound(f"no team named '{name}'", field="team")
    return team


def list_teams(db: Database) -> list[Team]:
    with db.read() as s:
        return list(s.scalars(select(Team).order_by(Team.name)))


def create_user(
    db: Database,
    *,
    email: str,
    name: str,
    role: str,
    actor: Actor,
    now: datetime,
    password: str | None = None,
    team: str | None = None,
) -> User:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if password is not None and len(password) < 10:
        raise InvalidInput("a password needs at least 10 characters", field="password")
    email = normalise_email(email)
    try:
        team_id = team_by_name(db, team).id if team else None
    except NotFound as exc:
        raise InvalidInput(exc.detail, field="team") from exc
    try:
        with db.write() as s:
            user = User(
                email=email,
                name=name.strip() or email,
                role=role,
                team_id=team_id,
                password_hash=hash_password(password) if password else None,
                active=True,
                created_at=now,
            )
            s.add(user)
            s.flush()
            audit.record(
                s,
                scope=f"user:{user.id}",
                action="user.created",
                actor=actor,
                now=now,
                data={"email": email, "role": role, "team": team},
                first_in_scope=True,
            )
            return user
    except IntegrityError as exc:
        raise Conflict(f"a user with e-mail {email} already exists") from exc


def get_user(db: Database, ref: str | int) -> User:
    with db.read() as s:
        if isinstance(ref, int) or str(ref).isdigit():
            user = s.get(User, int(ref))
        else:
            user = s.scalar(select(User).where(User.email == normalise_email(str(ref))))
    if user is None:
        raise NotFound(f"no user {ref}", field="user")
    return user


def list_users(db: Database) -> list[User]:
    with db.read() as s:
        return list(s.scalars(select(User).order_by(User.email)))


def count_admins(db: Database) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(User).where(User.role == "admin")) or 0


def authenticate_password(db: Database, email: str, password: str) -> User | None:
    try:
        user = get_user(db, email)
    except (NotFound, InvalidInput):
        _hasher.hash(password)  # same cost whether or not the user exists
        return None
    return user if user.active and check_password(user.password_hash, password) else None


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: ApiToken


def create_token(
    db: Database, *, user_id: int, label: str, actor: Actor, now: datetime
) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write() as s:
        row = ApiToken(
            user_id=user_id,
            label=label.strip() or "token",
            token_hash=token_digest(token),
            hint=token[:8],
            created_at=now,
        )
        s.add(row)
        s.flush()
        audit.record(
            s,
            scope=f"user:{user_id}",
            action="token.created",
            actor=actor,
            now=now,
            data={"token_id": row.id, "label": row.label},
        )
        return IssuedToken(token, row)


def list_tokens(db: Database, user_id: int) -> list[ApiToken]:
    with db.read() as s:
        return list(
            s.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
        )


def revoke_token(db: Database, *, token_id: int, actor: Actor, now: datetime) -> ApiToken:
    with db.write() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"no token {token_id}")
        if actor.role != "admin" and row.user_id != actor.id:
            raise NotFound(f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = now
            audit.record(
                s,
                scope=f"user:{row.user_id}",
                action="token.revoked",
                actor=actor,
                now=now,
                data={"token_id": row.id, "label": row.label},
            )
        return row


@dataclass(frozen=True)
class Identity:
    """Who a request authenticated as: the user's plain facts (not a table row) and the token."""

    id: int
    email: str
    name: str
    role: str
    team_id: int | None
    active: bool
    token_id: int
    token_label: str


_TOKEN_LOOKUP = (
    select(
        User.id,
        User.email,
        User.name,
        User.role,
        User.team_id,
        User.active,
        ApiToken.id.label("token_id"),
        ApiToken.label,
        ApiToken.last_used_at,
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None))
)


def authenticate_token(db: Database, token: str, *, now: datetime) -> Identity | None:
    """The active user behind a bearer token, or ``None``. One indexed read per request;
    revocation takes effect on the next request."""
    with db.query() as conn:
        row = conn.execute(_TOKEN_LOOKUP, {"digest": token_digest(token)}).first()
    if row is None or not row.active:
        return None
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_PRECISION:
        with db.write() as s:
            s.execute(update(ApiToken).where(ApiToken.id == row.token_id).values(last_used_at=now))
    return Identity(
        row.id, row.email, row.name, row.role, row.team_id, row.active, row.token_id, row.label
    )


def user_actor(user: User | Identity, origin: str) -> Actor:
    return Actor(kind="user", id=user.id, label=user.email, role=user.role, origin=origin)
