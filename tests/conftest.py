"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

Each engine gets a template database migrated once per test process; each test then works on a
fresh copy (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), so tests
see the real migrated schema, triggers included, and never share rows.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from casedesk.clock import FixedClock
from casedesk.config import AppConfig, Settings
from casedesk.context import Context
from casedesk.db.migrate import upgrade
from casedesk.db.session import Database
from casedesk.domain.actors import Actor
from casedesk.services import users
from casedesk.web.app import create_app

PG_URL = os.environ.get(
    "CASEDESK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_counter = itertools.count()
_pg_skips: list[str] = []


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_dsn(dbname: str) -> str:
    base = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    return base.rsplit("/", 1)[0] + "/" + dbname


def _pg_admin(sql: str) -> None:
    with psycopg.connect(
        _pg_dsn(PG_URL.rsplit("/", 1)[1]), autocommit=True, connect_timeout=3
    ) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    try:
        _pg_admin("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    name = f"cdt_tpl_{_worker()}_{os.getpid()}"
    _pg_admin(f"DROP DATABASE IF EXISTS {name}")
    _pg_admin(f"CREATE DATABASE {name}")
    upgrade(PG_URL.rsplit("/", 1)[0] + "/" + name)
    yield name
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database of each engine."""
    if request.param == "sqlite":
        target = tmp_path / "casedesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"cdt_{_worker()}_{os.getpid()}_{next(_counter)}"
    _pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def config() -> AppConfig:
    return AppConfig()


@pytest.fixture
def ctx(db_url: str, config: AppConfig, clock: FixedClock) -> Iterator[Context]:
    context = Context(
        settings=Settings(database_url=db_url),
        config=config,
        db=Database(db_url, pool_size=4),
        clock=clock,
    )
    yield context
    context.db.dispose()


@pytest.fixture
def db(ctx: Context) -> Database:
    return ctx.db


SETUP = Actor(kind="system", label="test-setup", origin="test")


class Api:
    """A TestClient bound to one user's token, plus helpers to make more users."""

    def __init__(self, ctx: Context, client: TestClient, token: str) -> None:
        self.ctx = ctx
        self.client = client
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def as_role(self, role: str, email: str | None = None) -> Api:
        email = email or f"{role}{next(_counter)}@example.com"
        user = users.create_user(
            self.ctx.db,
            email=email,
            name=role.title(),
            role=role,
            actor=SETUP,
            now=self.ctx.clock.now(),
        )
        token = users.create_token(
            self.ctx.db,
            user_id=user.id,
            label=f"{role}-token",
            actor=SETUP,
            now=self.ctx.clock.now(),
        ).token
        return Api(self.ctx, self.client, token)

    def get(self, url: str, **kw: object):  # type: ignore[no-untyped-def]
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)  # type: ignore[arg-type]

    def post(self, url: str, **kw: object):  # type: ignore[no-untyped-def]
        return self.client.post(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)  # type: ignore[arg-type]

    def patch(self, url: str, **kw: object):  # type: ignore[no-untyped-def]
        return self.client.patch(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)  # type: ignore[arg-type]

    def delete(self, url: str, **kw: object):  # type: ignore[no-untyped-def]
        return self.client.delete(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)  # type: ignore[arg-type]


@pytest.fixture
def api(ctx: Context) -> Iterator[Api]:
    """An API client signed in as an agent; ``api.as_role("admin")`` gives others."""
    with TestClient(create_app(ctx), raise_server_exceptions=True) as client:
        yield Api(ctx, client, "").as_role("agent", "agent@example.com")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "PostgreSQL not reachable" in str(report.longrepr):
        _pg_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI=true, PostgreSQL tests must run, never skip."""
    if os.environ.get("CI") == "true" and _pg_skips and not hasattr(session.config, "workerinput"):
        print(f"\nCI: {len(_pg_skips)} PostgreSQL tests were skipped; PostgreSQL must be up")
        session.exitstatus = 1
