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
from sqlalchemy import func, select, update
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


def authenticate_token(db: Database, token: str, *, now: datetime) -> tuple[User, ApiToken] | None:
    """The active user and token behind a bearer token, or ``None``. One indexed read per
    request; revocation takes effect on the next request."""
    with db.query() as conn:
        row = (
            conn.execute(
                select(
                    User.__table__,
                    ApiToken.id.label("token_id"),
                    ApiToken.label.label("label"),
                    ApiToken.last_used_at.label("last_used_at"),
                )
                .join(ApiToken, ApiToken.user_id == User.id)
                .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
            )
            .mappings()
            .first()
        )
    if row is None or not row["active"]:
        return None
    user = User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        team_id=row["team_id"],
        active=row["active"],
        created_at=row["created_at"],
    )
    tok = ApiToken(
        id=row["token_id"], user_id=row["id"], label=row["label"], last_used_at=row["last_used_at"]
    )
    if tok.last_used_at is None or now - tok.last_used_at > LAST_USED_PRECISION:
        with db.write() as s:
            s.execute(update(ApiToken).where(ApiToken.id == tok.id).values(last_used_at=now))
    return user, tok


def user_actor(user: User, origin: str) -> Actor:
    return Actor(kind="user", id=user.id, label=user.email, role=user.role, origin=origin)
